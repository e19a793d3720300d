"""What the reconciler re-drives while jobs are flowing: retries that fell due at every sweep,
rows queued too long only when the stale check is due (it reads every queued row), and every
due row once the queues are empty."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select, update

from hub.fanout.reconciler import STALE_CHECK_EVERY, STALE_QUEUED, _due, _stale_check_due
from hub.fanout.vocabulary import Action
from hub.models import Delivery, utcnow
from tests.plugins.services import private_redis_db

STALE_CHECK_REDIS_DB = 7  # private to this file


@pytest.fixture
def connection(redis_server_url: str) -> Iterator[redis.Redis]:
    yield from private_redis_db(redis_server_url, STALE_CHECK_REDIS_DB)


def test_while_work_flows_stale_rows_are_looked_for_only_when_asked(rig):
    for _ in range(3):
        rig.account("c1-k1")
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1-k1"]})  # queued, not drained: three rows wait
    now = utcnow()
    with rig.hub.runtime.db.session() as session:
        fresh, stale, retry = sorted(session.execute(
            select(Delivery.id).where(Delivery.item_id == item)).scalars())
        session.execute(update(Delivery).where(Delivery.id == stale).values(
            updated_at=now - STALE_QUEUED - timedelta(seconds=1)))
        session.execute(update(Delivery).where(Delivery.id == retry).values(
            state="retry", next_attempt_at=now - timedelta(seconds=1)))
    with rig.hub.runtime.db.session() as session:
        def due(queues_empty: bool, look_for_stale: bool) -> set[str]:
            return {d for d, _ in _due(session, Action.PUBLISH, now, queues_empty,
                                       look_for_stale)}

        assert due(queues_empty=False, look_for_stale=False) == {retry}
        assert due(queues_empty=False, look_for_stale=True) == {retry, stale}
        assert due(queues_empty=True, look_for_stale=False) == {fresh, stale, retry}


def test_the_stale_check_comes_due_once_per_interval(connection):
    assert _stale_check_due(connection) is True
    assert _stale_check_due(connection) is False
    ttl = connection.ttl("yunchu:reconciler:stale-check")
    assert 0 < ttl <= STALE_CHECK_EVERY.total_seconds()
    connection.delete("yunchu:reconciler:stale-check")
    assert _stale_check_due(connection) is True
