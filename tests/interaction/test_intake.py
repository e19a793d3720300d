"""Comment intake end to end: posts pushed through the hub to the sandbox, commenters there,
the planner and the intake jobs on a real worker (burst), PostgreSQL and Redis. Every comment
becomes one message in its conversation, once however often intake runs; abusive ones are
flagged by the negative list; a withdrawn post is not polled again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from hub.models import CommentCursor, Conversation, Delivery, InteractionMessage, utcnow
from hub.services.interaction import planner

from .conftest import chatter, generated

DAY = 86400


def _published(rig, item: str) -> list[Delivery]:
    """Drain, and poll the platform's status until every delivery of ``item`` is live."""
    for _ in range(20):
        rig.drain()
        with rig.hub.runtime.db.session() as session:
            rows = list(session.scalars(select(Delivery).where(Delivery.item_id == item)))
            session.expunge_all()
        if rows and all(r.state == "published" for r in rows):
            return rows
        with rig.hub.runtime.db.session() as session:  # the status poll is due at once
            session.execute(update(Delivery).where(Delivery.item_id == item).values(
                updated_at=utcnow() - timedelta(minutes=5), next_attempt_at=None))
        rig.sweep()
    raise AssertionError([(r.platform, r.state, r.error) for r in rows])


def _intake(rig) -> dict:
    report = planner.plan(rig.hub.runtime, rig.hub.runtime.redis)
    rig.drain()
    return report.as_dict()


def _counts(rig) -> dict[str, int]:
    with rig.hub.runtime.db.session() as session:
        return {
            "conversations": session.scalar(select(func.count()).select_from(Conversation)),
            "messages": session.scalar(select(func.count()).select_from(InteractionMessage)),
            "flagged": session.scalar(select(func.count()).where(InteractionMessage.flagged)),
        }


def _due_again(rig, *, forget_cursor: bool = False) -> None:
    values = {"next_poll_at": utcnow()}
    if forget_cursor:
        values.update(cursor=None)
    with rig.hub.runtime.db.session() as session:
        session.execute(update(CommentCursor).values(**values))


def test_comments_under_pushed_posts_reach_conversations_once(rig):
    rig.account("c1-k1", "wechat")
    rig.account("c1-k1", "weibo")
    item = rig.item("c1-k1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    deliveries = _published(rig, item)
    chatter(rig.sandbox, comments_per_day=40, abusive_share=0.25, question_share=0.3, seed=11)
    rig.sandbox.advance_clock(DAY)

    _due_again(rig)  # the sweeps above planned a first (empty) look already
    first = _intake(rig)
    assert first["planned"] == {"wechat": 1, "weibo": 1} and first["jobs"] == 2, first
    made = {**generated(rig.sandbox, "wechat"), **generated(rig.sandbox, "weibo")}
    comments = [c for post in made.values() for c in post]
    abusive = [c for c in comments if c["kind"] == "abusive"]
    assert len(made) == 2 and len(comments) > 40 and abusive
    counts = _counts(rig)
    assert counts == {"conversations": len(comments), "messages": len(comments),
                      "flagged": len(abusive)}, counts

    with rig.hub.runtime.db.session() as session:
        rows = session.execute(select(Conversation.delivery_id, Conversation.org_id,
                                      Conversation.kind, Conversation.state,
                                      Conversation.flagged, InteractionMessage.text,
                                      InteractionMessage.screening)
                               .join(InteractionMessage,
                                     InteractionMessage.conversation_id == Conversation.id)
                               ).all()
    assert {r.delivery_id for r in rows} == {d.id for d in deliveries}
    assert {(r.kind, r.state) for r in rows} == {("comment", "new")}
    flagged_texts = sorted(r.text for r in rows if r.flagged)
    assert flagged_texts == sorted(c["text"] for c in abusive)
    assert all(r.screening["hits"][0]["category"] == "defamation" for r in rows if r.flagged)

    # Intake again, from the kept cursors and then from the start: nothing is taken twice.
    _due_again(rig)
    _intake(rig)
    _due_again(rig, forget_cursor=True)
    _intake(rig)
    assert _counts(rig) == counts

    # More comments come; only they are added.
    rig.sandbox.advance_clock(DAY / 2)
    _due_again(rig)
    _intake(rig)
    total = sum(len(p) for p in {**generated(rig.sandbox, "wechat"),
                                 **generated(rig.sandbox, "weibo")}.values())
    assert total > len(comments) and _counts(rig)["messages"] == total


def test_a_withdrawn_post_is_not_polled_again(rig):
    rig.account("c1-k1", "weibo")
    item = rig.item("c1-k1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    _published(rig, item)
    chatter(rig.sandbox, comments_per_day=20, seed=2)
    rig.sandbox.advance_clock(DAY)
    _due_again(rig)
    _intake(rig)
    assert _counts(rig)["messages"] > 5
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "内容有误"})
    assert r.status_code == 202, r.json
    rig.drain()
    requests = rig.sandbox.stats()["weibo"]["requests"]
    _due_again(rig)
    report = _intake(rig)
    assert report["planned"] == {"weibo": 1}
    with rig.hub.runtime.db.session() as session:
        [cursor] = session.scalars(select(CommentCursor))
        assert cursor.next_poll_at is None  # withdrawn: never again
    assert rig.sandbox.stats()["weibo"]["requests"] == requests  # and no call was made


def _a_day_of_comments_under_a_weibo_post(rig, *, seed: int) -> Delivery:
    """One live Weibo post with a day of comments under it, and its cursor (the plan's job is
    left unused: the tests run the poll themselves)."""
    rig.account("c1-k1", "weibo")
    item = rig.item("c1-k1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    [delivery] = _published(rig, item)
    chatter(rig.sandbox, comments_per_day=20, seed=seed)
    rig.sandbox.advance_clock(DAY)
    planner.plan(rig.hub.runtime, rig.hub.runtime.redis)
    return delivery


def test_an_intake_job_gives_way_to_a_waiting_withdrawal(rig):
    """With a withdrawal job on its queue, an intake job reads nothing and hands its posts back
    (due at once); without one, it reads them."""
    from hub.fanout.executor import WITHDRAW_QUEUE_KEY, Executor
    from hub.fanout.loop import LoopThread
    from hub.services.interaction import poller

    delivery = _a_day_of_comments_under_a_weibo_post(rig, seed=3)
    calls = rig.sandbox.stats()["weibo"]["requests"]
    redis = rig.hub.runtime.redis
    loop = LoopThread()
    executor = Executor(rig.hub.runtime, "w-intake-test")
    try:
        loop.run(executor.start())
        redis.rpush(WITHDRAW_QUEUE_KEY, "a-withdrawal-job")
        held = loop.run(poller.poll(executor, "weibo", [delivery.id]))
        redis.delete(WITHDRAW_QUEUE_KEY)
        assert held["deferred"] == 1 and held["polled"] == 0, held
        assert rig.sandbox.stats()["weibo"]["requests"] == calls
        with rig.hub.runtime.db.session() as session:
            due = session.scalar(select(CommentCursor.next_poll_at))
        assert due <= utcnow()  # due again at once
        done = loop.run(poller.poll(executor, "weibo", [delivery.id]))
        assert done["polled"] == 1 and done["new"] > 5, done
    finally:
        loop.run(executor.close(), timeout=10)
        loop.stop()


def test_an_intake_job_pauses_while_a_withdrawal_runs_anywhere(rig):
    """A withdrawal running on another worker (its mark in Redis, nothing on the queue): the
    intake job reads nothing while the mark lives and reads the post once it lapses; the
    reconciler plans no intake meanwhile."""
    import threading

    from hub.fanout import withdrawal_gate
    from hub.fanout.executor import Executor
    from hub.fanout.loop import LoopThread
    from hub.services.interaction import poller

    delivery = _a_day_of_comments_under_a_weibo_post(rig, seed=4)
    redis = rig.hub.runtime.redis
    redis.delete(planner.DUE_KEY)
    withdrawal_gate.mark(redis)
    assert planner.schedule(rig.hub.runtime, redis) is False  # no plan while it runs
    calls = rig.sandbox.stats()["weibo"]["requests"]
    loop = LoopThread()
    executor = Executor(rig.hub.runtime, "w-intake-pause")
    seen_while_marked: list[int] = []
    lapse = threading.Event()

    def watch() -> None:  # what the platform saw while the mark lived, then the mark lapses
        for _ in range(10):
            seen_while_marked.append(rig.sandbox.stats()["weibo"]["requests"])
            lapse.wait(0.1)
        redis.delete(withdrawal_gate.ACTIVE_KEY)

    try:
        loop.run(executor.start())
        watcher = threading.Thread(target=watch)
        watcher.start()
        done = loop.run(poller.poll(executor, "weibo", [delivery.id]), timeout=30)
        watcher.join()
        assert seen_while_marked and set(seen_while_marked) == {calls}, seen_while_marked
        assert done["polled"] == 1 and done["new"] > 5, done
        assert planner.schedule(rig.hub.runtime, redis) is True
    finally:
        redis.delete(withdrawal_gate.ACTIVE_KEY)
        loop.run(executor.close(), timeout=10)
        loop.stop()
