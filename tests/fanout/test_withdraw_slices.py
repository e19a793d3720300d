"""The withdrawal click queues removals of posts at rest in slices after its own transaction
(hub/fanout/withdraw.py): the API answers with everything queued, a click that died between
its transaction and the last slice is finished by the reconciler, and progress never calls
such a withdrawal done early. The hub on SQLite and PostgreSQL, Redis, the sandbox and the
real worker (burst mode)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import redis

from hub.fanout import reconciler, withdraw
from hub.fanout.progress import withdrawal_progress
from hub.fanout.queueing import WITHDRAW_QUEUE, queue
from hub.models import Delivery, Item, Withdrawal
from hub.security.auth import Principal
from hub.services import fanout_actions

ACCOUNTS = ("c1-k1", "c1-k2", "c2-k1", "c2")


def _published(rig) -> str:
    return rig.live_everywhere(ACCOUNTS, ("wechat", "weibo"))


def _batches_of_one(rig, monkeypatch) -> None:
    monkeypatch.setattr(rig.hub.runtime, "settings",
                        dataclasses.replace(rig.hub.runtime.settings, batch_size=1))


def _states(rig, item: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with rig.hub.runtime.db.session() as session:
        for d in session.query(Delivery).filter(Delivery.item_id == item):
            counts[d.state] = counts.get(d.state, 0) + 1
    return counts


def _province(rig) -> Principal:
    return Principal(user_id="usr_slices", name="test", roles=("admin",), org_id=None,
                     org_path=None)


def test_the_click_queues_every_slice_and_answers_with_the_total(rig, monkeypatch):
    item = _published(rig)
    _batches_of_one(rig, monkeypatch)
    sliced: list[int] = []
    real = withdraw.queue_removals

    def counted(session, withdrawal_id, ids):
        sliced.append(len(ids))
        return real(session, withdrawal_id, ids)

    monkeypatch.setattr(withdraw, "queue_removals", counted)
    done = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert done.status_code == 202, done.json
    assert done.json["total"] == 2 * len(ACCOUNTS)
    assert sliced == [2, 6]
    assert _states(rig, item) == {"withdraw_queued": 2 * len(ACCOUNTS)}
    with rig.hub.runtime.db.session() as session:
        row = session.get(Withdrawal, done.json["withdrawal_id"])
        assert row.queued_at is not None and row.total == 2 * len(ACCOUNTS)
    assert queue(redis.Redis.from_url(rig.hub.runtime.settings.redis_url),
                 WITHDRAW_QUEUE).count == 2 * len(ACCOUNTS)  # one job per batch of 1
    rig.drain()
    assert rig.live_posts() == 0
    assert _states(rig, item) == {"withdrawn": 2 * len(ACCOUNTS)}


def test_a_click_that_died_after_its_transaction_is_finished_by_the_reconciler(rig,
                                                                               monkeypatch):
    item = _published(rig)
    with rig.hub.runtime.db.session() as session:  # the click's transaction, then it dies
        row = session.get(Item, item)
        result = withdraw.withdraw(session, row, "数据有误", _province(rig))
        withdrawal_id = result.withdrawal.id
    assert len(result.at_rest) == 2 * len(ACCOUNTS) and result.queued == []
    with rig.hub.runtime.db.session() as session:
        w = session.get(Withdrawal, withdrawal_id)
        assert w.queued_at is None and w.scope_path is None
        progress = withdrawal_progress(session, w)
    # Not done: the unqueued posts count as queued, and the live ones are still live.
    assert progress["state"] == "running" and progress["remaining"] == 2 * len(ACCOUNTS)
    assert progress["counts"]["withdraw_queued"] == 2 * len(ACCOUNTS)
    assert rig.live_posts() == 2 * len(ACCOUNTS)
    rig.sweep()  # within the grace: the click may still be slicing
    assert "withdraw_queued" not in _states(rig, item)
    monkeypatch.setattr(reconciler, "SLICING_GRACE", timedelta(seconds=-1))
    rig.sweep()
    assert _states(rig, item) == {"withdraw_queued": 2 * len(ACCOUNTS)}
    with rig.hub.runtime.db.session() as session:
        assert session.get(Withdrawal, withdrawal_id).queued_at is not None
    rig.drain()
    assert rig.live_posts() == 0
    with rig.hub.runtime.db.session() as session:
        progress = withdrawal_progress(session, session.get(Withdrawal, withdrawal_id))
    assert progress["state"] == "done" and progress["total"] == 2 * len(ACCOUNTS)


def test_a_scoped_click_that_died_is_finished_within_its_scope(rig, monkeypatch):
    item = _published(rig)
    with rig.hub.runtime.db.session() as session:
        from hub.models import Org

        c2 = session.query(Org).filter(Org.slug == "c2").one()
        result = withdraw.withdraw(session, session.get(Item, item), "仅撤回本地",
                                   _province(rig), scope_path=c2.path)
        withdrawal_id = result.withdrawal.id
    assert len(result.at_rest) == 4
    monkeypatch.setattr(reconciler, "SLICING_GRACE", timedelta(seconds=-1))
    rig.sweep()
    rig.drain()
    assert rig.live_posts() == 4  # c1's posts stay
    with rig.hub.runtime.db.session() as session:
        w = session.get(Withdrawal, withdrawal_id)
        assert w.queued_at is not None and w.total == 4


@pytest.mark.parametrize("fail_at", [0, 1])
def test_a_slice_that_fails_leaves_the_rest_to_the_reconciler(rig, monkeypatch, fail_at):
    item = _published(rig)
    _batches_of_one(rig, monkeypatch)
    real = withdraw.queue_removals
    calls = []

    def failing(session, withdrawal_id, ids):
        calls.append(ids)
        if len(calls) == fail_at + 1:
            raise RuntimeError("database went away")
        return real(session, withdrawal_id, ids)

    monkeypatch.setattr(withdraw, "queue_removals", failing)
    done = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert done.status_code == 202, done.json  # committed: the click took effect
    monkeypatch.setattr(withdraw, "queue_removals", real)
    monkeypatch.setattr(reconciler, "SLICING_GRACE", timedelta(seconds=-1))
    rig.sweep()
    rig.drain()
    assert rig.live_posts() == 0
    assert fanout_actions.SLICE_BATCHES >= 1


def test_the_click_and_the_workers_mark_the_withdrawal_for_background_work(rig):
    """Comment intake pauses while a withdrawal runs anywhere (hub/fanout/withdrawal_gate.py):
    the click marks it before touching the database, and a worker withdrawing renews the mark
    until a few seconds after its last batch."""
    from hub.fanout import withdrawal_gate

    item = _published(rig)
    connection = redis.Redis.from_url(rig.hub.runtime.settings.redis_url)
    connection.delete(withdrawal_gate.ACTIVE_KEY)
    done = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert done.status_code == 202, done.json
    assert 0 < connection.ttl(withdrawal_gate.ACTIVE_KEY) <= withdrawal_gate.HOLD_S
    connection.delete(withdrawal_gate.ACTIVE_KEY)
    rig.drain()
    assert rig.live_posts() == 0
    assert 0 < connection.ttl(withdrawal_gate.ACTIVE_KEY) <= withdrawal_gate.HOLD_S
    connection.delete(withdrawal_gate.ACTIVE_KEY)
