"""Posts a platform is still reviewing (WeChat freepublish, Douyin) are polled by the maintenance
queue, less often the longer they wait: WeChat allows 100 freepublish/get calls a day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from hub.fanout.reconciler import MARK_PREFIX
from hub.fanout.status import next_poll_in
from hub.models import Delivery

from .support import ApiRig, now


def test_poll_interval_grows_with_the_wait_and_is_capped():
    assert next_poll_in(timedelta(seconds=2)) == timedelta(seconds=10)
    assert next_poll_in(timedelta(seconds=45)) == timedelta(seconds=45)
    assert next_poll_in(timedelta(hours=3)) == timedelta(minutes=10)


def _delivery(rig: ApiRig) -> Delivery:
    with rig.hub.runtime.db.session() as session:
        row = session.execute(select(Delivery)).scalar_one()
        session.expunge(row)
        return row


def _set(rig: ApiRig, **values) -> None:
    with rig.hub.runtime.db.session() as session:
        session.execute(update(Delivery).values(**values))


def test_a_post_in_review_is_polled_then_left_alone_until_its_next_poll(rig):
    rig.account("c1-k1", publish_delay_s=3600)  # WeChat takes an hour to publish it
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    rig.drain()
    assert _delivery(rig).state == "pending_review"
    # Published 25 s ago, last touched 15 s ago: the sweep polls it now.
    _set(rig, published_at=now() - timedelta(seconds=25), updated_at=now() - timedelta(seconds=15))
    assert rig.sweep().status_polls == 1
    before = rig.sandbox.stats()["wechat"]["requests"]
    rig.drain()
    assert rig.sandbox.stats()["wechat"]["requests"] == before + 1  # one freepublish/get
    row = _delivery(rig)
    assert row.state == "pending_review"
    wait = row.next_attempt_at - now()
    assert timedelta(seconds=20) < wait <= timedelta(seconds=26), wait
    # Not polled again before then, even once the sweep's short-lived Redis marks are gone.
    redis = rig.hub.runtime.redis
    for key in redis.scan_iter(match=MARK_PREFIX + "*"):
        redis.delete(key)
    assert rig.sweep().status_polls == 0
    # Due, and the platform has finished: the poll records the published article.
    _set(rig, next_attempt_at=now() - timedelta(seconds=1))
    rig.sandbox.advance_clock(3600)
    assert rig.sweep().status_polls == 1
    rig.drain()
    row = _delivery(rig)
    assert row.state == "published" and row.remote_id.startswith("article:"), row.remote_id


def test_a_post_the_platform_rejects_in_review_is_recorded_as_failed_with_the_reason(rig):
    rig.account("c1-k1", publish_delay_s=60, publish_status=3)  # WeChat: review refused
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    rig.drain()
    assert _delivery(rig).state == "pending_review"
    rig.sandbox.advance_clock(120)
    _set(rig, published_at=now() - timedelta(seconds=25), updated_at=now() - timedelta(seconds=15))
    assert rig.sweep().status_polls == 1
    rig.drain()
    row = _delivery(rig)
    assert row.state == "failed", row.state
    assert row.error and "rejected" in row.error, row.error
