"""Posts a platform is still reviewing (WeChat freepublish, Douyin) are polled by the maintenance
queue, less often the longer they wait: WeChat allows 100 freepublish/get calls a day."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select, update

from adapters.base import Receipt
from hub.fanout import status
from hub.fanout.executor import Executor
from hub.fanout.loop import LoopThread
from hub.fanout.reconciler import MARK_PREFIX
from hub.fanout.status import change_of, next_poll_in
from hub.fanout.vocabulary import Action
from hub.models import Account, Delivery

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


def _wechat_calls(rig: ApiRig) -> int:
    return rig.sandbox.stats()["wechat"]["requests"]


def test_a_publish_batch_asks_about_its_posts_in_review_soon_after_it_ends(rig):
    """The worker that published them polls once, a moment after the batch, without waiting
    for the sweep: the article id is known before a withdrawal needs it."""
    rig.account("c1-k1")  # WeChat finishes the publish at once
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    delivery_id = _delivery(rig).id
    loop = LoopThread()
    executor = Executor(rig.hub.runtime, "w-test")
    try:
        loop.run(executor.start())
        loop.run(executor.run_batch(Action.PUBLISH, "wechat", [delivery_id]))
        assert executor._polls, "a poll is scheduled for the post in review"
        loop.run(asyncio.wait_for(asyncio.gather(*executor._polls), 30))
    finally:
        loop.run(executor.close(), timeout=10)
        loop.stop()
    row = _delivery(rig)
    [post] = rig.sandbox.posts(platform="wechat", state="live")
    assert row.state == "published" and row.remote_id == "article:" + post["remote_id"]
    calls = _wechat_calls(rig)
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert r.status_code == 202, r.json
    rig.drain()
    assert rig.sandbox.posts(platform="wechat", state="live") == []
    assert _wechat_calls(rig) == calls + 1  # freepublish/delete only


def _rows(rig: ApiRig) -> list[Delivery]:
    with rig.hub.runtime.db.session() as session:
        rows = list(session.execute(select(Delivery).order_by(Delivery.id)).scalars())
        session.expunge_all()
        return rows


def test_a_removal_queued_while_the_poll_asked_deletes_by_the_article_id(rig):
    """The withdrawal lands between the poll's question and its write: the rows are no longer
    in review, but the queued removals take the article ids the poll learned."""
    for _ in range(2):
        rig.account("c1-k1")
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    rig.drain()
    rows = _rows(rig)
    assert [row.state for row in rows] == ["pending_review"] * 2
    with rig.hub.runtime.db.session() as session:
        appid_of = dict(session.execute(select(Account.id, Account.external_id)).all())
    changes = []
    for row in rows:
        [post] = rig.sandbox.posts(platform="wechat", account=appid_of[row.account_id])
        answer = Receipt(remote_id="article:" + post["remote_id"],
                         url="https://mp.weixin.qq.com/s/x")
        changes.append(change_of(row.id, row.remote_id, answer))
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert r.status_code == 202, r.json
    assert [row.state for row in _rows(rig)] == ["withdraw_queued"] * 2
    status._write(SimpleNamespace(runtime=rig.hub.runtime), changes, [])
    assert [row.remote_id for row in _rows(rig)] == [c["remote_id"] for c in changes]
    calls = _wechat_calls(rig)
    rig.drain()
    assert [row.state for row in _rows(rig)] == ["withdrawn"] * 2
    assert rig.sandbox.posts(platform="wechat", state="live") == []
    assert _wechat_calls(rig) == calls + 2  # one freepublish/delete each


def test_the_poll_leaves_a_removal_alone_that_owes_a_lookup(rig):
    rig.account("c1-k1")
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    rig.drain()
    row = _delivery(rig)
    change = change_of(row.id, row.remote_id, Receipt(remote_id="article:elsewhere"))
    _set(rig, state="withdraw_queued", needs_lookup=True)
    status._write(SimpleNamespace(runtime=rig.hub.runtime), [change], [])
    assert _delivery(rig).remote_id == row.remote_id
