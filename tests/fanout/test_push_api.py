"""POST /api/v1/items/<id>/push and the progress endpoints, against docs/contract.md, on SQLite and
PostgreSQL: refusals write nothing, skipped accounts say why, a push never doubles a delivery,
a scheduled push waits, and the counts add up."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.fanout import claims
from hub.fanout.queueing import PUSH_QUEUE, WITHDRAW_QUEUE, enqueue_batches, queue
from hub.fanout.reconciler import MARK_PREFIX
from hub.models import DELIVERY_STATES, Delivery, DeliveryAttempt

from .support import ApiRig, error_of, now, parse_time

DISPATCH_FIELDS = {"id", "item", "state", "total", "counts"}
WITHDRAWAL_FIELDS = {"id", "state", "total", "remaining", "counts"}
DELIVERY_FIELDS = {"account", "state", "remote_id", "remote_url", "attempts", "error"}
NAMED_COUNTS = {"queued", "sending", "published", "failed", "cancelled", "withdrawn"}


def _refused(rig: ApiRig, response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_json())
    error = error_of(response)
    if code:
        assert error["code"] == code, error
    return error


def test_pushing_an_unapproved_or_withdrawn_item_is_409_and_writes_nothing(rig):
    account = rig.account("c1-k1")
    items = {status: rig.item("c1", status)
             for status in ("draft", "in_review", "edited", "withdrawn")}
    before = rig.rows()
    for status, item in items.items():
        r = rig.push(item, {"accounts": [account]})
        error = _refused(rig, r, 409, "item_withdrawn" if status == "withdrawn" else "not_approved")
        if status != "withdrawn":
            assert error["details"]["status"] == ("draft" if status == "edited" else status)
        # Even with schedule_at and other valid targets: still the state conflict.
        r = rig.push(item, {"orgs": ["c1"]}, schedule_at=(now() + timedelta(hours=1)).isoformat())
        _refused(rig, r, 409)
    assert rig.rows() == before


@pytest.mark.parametrize("label, targets, extra, code, field, unknown", [
    ("subtree without accounts", {"orgs": ["c1-empty"]}, {}, "no_targets", "targets", None),
    ("platform filter matching nothing", {"orgs": ["c1"], "platforms": ["douyin"]}, {},
     "no_targets", "targets", None),
    ("an org holding no account itself", {"orgs": ["c1"], "descendants": False}, {},
     "no_targets", "targets", None),
    ("no target kinds at all", {}, {}, "no_targets", "targets", None),
    ("empty lists", {"orgs": [], "accounts": []}, {}, "no_targets", "targets", None),
    ("unknown matrix", {"matrices": ["no-such-matrix"], "orgs": ["c1"]}, {}, "invalid",
     "targets.matrices", ["no-such-matrix"]),
    ("unknown account", {"accounts": ["acc_missing1", "ACCOUNT", "acc_missing2"]}, {},
     "invalid", "targets.accounts", ["acc_missing1", "acc_missing2"]),
    ("unknown org", {"orgs": ["c1", "nowhere"]}, {}, "invalid", "targets.orgs", ["nowhere"]),
    ("unknown platform", {"orgs": ["c1"], "platforms": ["myspace"]}, {}, "invalid",
     "targets.platforms", ["myspace"]),
    ("orgs not a list", {"orgs": "c1"}, {}, "invalid", "targets.orgs", None),
    ("descendants not a boolean", {"orgs": ["c1"], "descendants": "yes"}, {}, "invalid",
     "targets.descendants", None),
    ("schedule_at in the past", {"orgs": ["c1"]}, {"schedule_at": "2020-01-01T00:00:00Z"},
     "invalid", "schedule_at", None),
    ("schedule_at not a time", {"orgs": ["c1"]}, {"schedule_at": "tomorrow morning"},
     "invalid", "schedule_at", None),
    ("schedule_at without an offset", {"orgs": ["c1"]}, {"schedule_at": "2099-01-01T08:00:00"},
     "invalid", "schedule_at", None),
    ("schedule_at a number", {"orgs": ["c1"]}, {"schedule_at": 4102444800}, "invalid",
     "schedule_at", None),
    ("schedule_at beyond the calendar", {"orgs": ["c1"]},
     {"schedule_at": "9999-12-31T23:59:59-05:00"}, "invalid", "schedule_at", None),
])
def test_a_push_that_breaks_a_rule_is_422_and_writes_nothing(rig, label, targets, extra, code,
                                                               field, unknown):
    real = rig.account("c1-k1")
    rig.account("c1-k2", "weibo")
    targets = {**targets}
    if "accounts" in targets:
        targets["accounts"] = [real if a == "ACCOUNT" else a for a in targets["accounts"]]
    item = rig.item("c1")
    before = rig.rows()
    error = _refused(rig, rig.push(item, targets, **extra), 422, code)
    assert error["details"]["field"] == field, (label, error)
    if unknown:
        assert error["details"]["unknown"] == unknown, (label, error)
        assert all(u in error["message"] for u in unknown), (label, error)
    assert rig.rows() == before, label


def test_malformed_bodies_are_400_or_422_and_write_nothing(rig):
    rig.account("c1-k1")
    item = rig.item("c1")
    before = rig.rows()
    for raw in ('{"targets": {"orgs": ["c1"]}', "not json", '{"targets": {"orgs": ["c1"]}}}'):
        r = rig.hub.post(f"/api/v1/items/{item}/push", data=raw,
                         headers={"Content-Type": "application/json"})
        _refused(rig, r, 400)
    for body in ([{"targets": {"orgs": ["c1"]}}], {"targets": ["c1"]}, {"targets": None}):
        _refused(rig, rig.hub.post(f"/api/v1/items/{item}/push", body), 422)
    _refused(rig, rig.push("itm_does_not_exist", {"orgs": ["c1"]}), 404)
    assert rig.rows() == before


def test_out_of_scope_pushes_are_403_and_write_only_the_denial(rig):
    rig.account("c1-k1")
    c2_account = rig.account("c2-k1")
    item = rig.item("c1")
    editor = rig.token("c1-k1", "editor")
    # A county editor: not another county's (or the city's) item, not another city's accounts.
    cases = [(item, {"orgs": ["c1-k1"]}), (rig.item("c1-k1"), {"accounts": [c2_account]}),
             (rig.item("c1-k1"), {"orgs": ["c2"]})]
    empty = rig.item("c1-k1")
    before = rig.rows()
    for target_item, targets in cases:
        _refused(rig, rig.push(target_item, targets, token=editor), 403)
    # An org outside the caller's subtree is refused even when it holds no account.
    _refused(rig, rig.push(empty, {"orgs": ["c1-empty"]}, token=editor), 403)
    assert rig.rows() == before  # audit here excludes the denials, recorded by design
    assert rig.audited("item.push") == 0
    assert rig.audited("access.denied") == len(cases) + 1


def test_closed_and_suspended_accounts_are_skipped_with_a_reason(rig):
    active = rig.account("c1-k1")
    closed = rig.account("c1-k1", status="closed")
    suspended = rig.account("c1-k2", status="suspended")
    item = rig.item("c1")
    answer = rig.pushed(item, {"orgs": ["c1"]})
    assert answer["total"] == 3 and answer["skipped"] == 2, answer
    path = f"/api/v1/dispatches/{answer['dispatch_id']}/deliveries"
    skipped = {d["account"]: d for d in rig.deliveries(path, state="skipped")}
    assert set(skipped) == {closed, suspended}
    assert "closed" in skipped[closed]["error"] and "关闭" in skipped[closed]["error"]
    assert "suspended" in skipped[suspended]["error"] and "暂停" in skipped[suspended]["error"]
    assert all(d["attempts"] == 0 and d["remote_id"] is None for d in skipped.values())
    rig.drain()
    progress = rig.hub.get(f"/api/v1/dispatches/{answer['dispatch_id']}").json
    assert progress["state"] == "done", progress
    assert progress["counts"]["skipped"] == 2
    assert progress["counts"]["published"] + progress["counts"]["pending_review"] == 1
    posts = rig.sandbox.posts(platform="wechat")
    assert len(posts) == 1, posts
    sent = rig.deliveries(path)
    assert [d["account"] for d in sent if d["remote_id"]] == [active]


def test_pushing_twice_never_makes_a_second_delivery(rig):
    a, b, c = (rig.account("c1-k1") for _ in range(3))
    item = rig.item("c1")
    first = rig.pushed(item, {"accounts": [a, b]})
    assert first["total"] == 2
    again = rig.pushed(item, {"accounts": [b, a, a]})
    assert again["total"] == 0, again
    assert rig.deliveries_per_account(item) == {a: 1, b: 1}
    rig.drain()
    after_drain = rig.pushed(item, {"accounts": [a, b]})
    assert after_drain["total"] == 0
    superset = rig.pushed(item, {"orgs": ["c1"]})
    assert superset["total"] == 1, superset
    only_new = rig.deliveries(f"/api/v1/dispatches/{superset['dispatch_id']}/deliveries")
    assert [d["account"] for d in only_new] == [c]
    assert rig.deliveries_per_account(item) == {a: 1, b: 1, c: 1}
    rig.drain()
    assert rig.live_posts() == 3
    assert sum(v["duplicates"] for v in rig.sandbox.stats().values()) == 0
    assert rig.deliveries_per_account(item) == {a: 1, b: 1, c: 1}


def test_a_repush_takes_over_failed_rows_and_every_dispatch_still_adds_up(rig):
    sent, failing = rig.account("c1-k1"), rig.account("c1-k1")
    item = rig.item("c1")
    first = rig.pushed(item, {"accounts": [sent, failing]})
    limit = rig.hub.runtime.settings.interrupted_max
    with rig.hub.runtime.db.session() as session:  # failed before it went out
        session.execute(update(Delivery).where(Delivery.account_id == failing).values(
            state="failed", error="发送时工作进程已中断", attempts=limit, interrupted=limit))
    rig.drain()
    first_path = f"/api/v1/dispatches/{first['dispatch_id']}"
    again = rig.pushed(item, {"accounts": [sent, failing]})
    assert again["total"] == 1, again
    with rig.hub.runtime.db.session() as session:
        row = session.execute(select(Delivery).where(Delivery.account_id == failing)).scalar_one()
        assert (row.attempts, row.interrupted, row.error) == (0, 0, None)
    rig.drain()
    old, new = rig.hub.get(first_path).json, rig.hub.get(
        f"/api/v1/dispatches/{again['dispatch_id']}").json
    assert (old["total"], old["repushed"], old["counts"]["failed"]) == (1, 1, 0), old
    assert (new["total"], new["repushed"]) == (1, 0), new
    for progress in (old, new):
        assert sum(progress["counts"].values()) == progress["total"], progress
        assert progress["state"] == "done", progress
    assert [d["account"] for d in rig.deliveries(f"{first_path}/deliveries")] == [sent]
    assert rig.live_posts() == 2
    assert sum(v["duplicates"] for v in rig.sandbox.stats().values()) == 0


def test_a_skipped_account_gets_its_delivery_once_it_is_active_again(rig):
    account = rig.account("c1-k1", status="suspended")
    item = rig.item("c1")
    first = rig.pushed(item, {"accounts": [account]})
    assert (first["total"], first["skipped"]) == (1, 1)
    still = rig.pushed(item, {"accounts": [account]})
    assert still["total"] == 0 and still["skipped"] == 0, still
    r = rig.hub.patch(f"/api/v1/accounts/{account}", {"status": "active"})
    assert r.status_code == 200, r.json
    again = rig.pushed(item, {"accounts": [account]})
    assert (again["total"], again["skipped"]) == (1, 0), again
    assert rig.deliveries_per_account(item) == {account: 1}
    rig.drain()
    assert rig.live_posts() == 1


def test_a_scheduled_push_waits_until_its_time_then_sends(rig):
    accounts = [rig.account("c1-k1") for _ in range(2)]
    item = rig.item("c1")
    due = now() + timedelta(seconds=6)  # room for a slow machine's drain and sweep before it
    answer = rig.pushed(item, {"orgs": ["c1-k1"]}, schedule_at=due.isoformat())
    assert answer["total"] == 2
    dispatch = f"/api/v1/dispatches/{answer['dispatch_id']}"
    progress = rig.hub.get(dispatch).json
    assert progress["state"] != "done" and progress["counts"]["scheduled"] == 2, progress
    assert abs(parse_time(progress["schedule_at"]) - due) < timedelta(milliseconds=1)
    rig.drain()  # a worker does not send early, even if it is asked to
    assert rig.sweep().scheduled_released == 0
    rig.drain()
    assert rig.live_posts() == 0
    listed = rig.deliveries(f"{dispatch}/deliveries")
    assert {d["state"] for d in listed} == {"scheduled"} and len(listed) == 2
    time.sleep(max(0.0, (due - now()).total_seconds()) + 0.05)
    # Other work is queued at that moment: the released rows must still be enqueued at once.
    enqueue_batches(rig.hub.runtime.redis, "publish", [("dl_unrelated", "weibo")], 10)
    report = rig.sweep()
    assert report.scheduled_released == 2, report
    assert report.enqueued.get("publish") == 2, report
    rig.drain()
    progress = rig.hub.get(dispatch).json
    assert progress["state"] == "done", progress
    assert progress["counts"]["published"] + progress["counts"]["pending_review"] == 2
    assert len(rig.sandbox.posts(platform="wechat", state="live")) == len(accounts)


def test_withdrawing_before_the_scheduled_time_cancels_and_nothing_is_sent(rig):
    rig.account("c1-k1")
    item = rig.item("c1")
    answer = rig.pushed(item, {"orgs": ["c1"]},
                        schedule_at=(now() + timedelta(seconds=1)).isoformat())
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "撤回定时稿"})
    assert r.status_code == 202, r.json
    time.sleep(1.1)
    rig.sweep()
    rig.drain()
    progress = rig.hub.get(f"/api/v1/dispatches/{answer['dispatch_id']}").json
    assert progress["counts"]["cancelled"] == 1 and progress["state"] == "done", progress
    assert rig.live_posts() == 0


def _check_counts(progress: dict[str, Any], fields: set[str]) -> None:
    assert fields <= set(progress), progress
    assert set(progress["counts"]) >= NAMED_COUNTS, progress
    assert set(progress["counts"]) <= set(DELIVERY_STATES), progress
    assert sum(progress["counts"].values()) == progress["total"], progress
    assert all(isinstance(n, int) and n >= 0 for n in progress["counts"].values())


def test_progress_endpoints_report_what_api_md_names_and_counts_add_up(rig):
    accounts = [rig.account("c1-k1") for _ in range(3)] + [rig.account("c1-k2", "weibo")]
    closed = rig.account("c1-k2", status="closed")
    item = rig.item("c1")
    answer = rig.pushed(item, {"orgs": ["c1"]})
    assert answer["total"] == 5
    dispatch = f"/api/v1/dispatches/{answer['dispatch_id']}"
    queued = rig.hub.get(dispatch).json
    _check_counts(queued, DISPATCH_FIELDS)
    assert (queued["id"], queued["item"], queued["state"]) == (answer["dispatch_id"], item,
                                                              "running")
    assert queued["counts"]["queued"] == 4 and queued["counts"]["skipped"] == 1
    rig.drain()
    done = rig.hub.get(dispatch).json
    _check_counts(done, DISPATCH_FIELDS)
    assert done["state"] == "done", done
    listed = rig.deliveries(f"{dispatch}/deliveries", limit="2")
    assert len(listed) == 5 and len({d["account"] for d in listed}) == 5
    assert {d["account"] for d in listed} == set(accounts) | {closed}
    for d in listed:
        assert set(d) >= DELIVERY_FIELDS, d
        if d["account"] != closed:
            assert d["remote_id"] and d["attempts"] == 1, d  # WeChat: URL once reviewed
            assert d["remote_url"] or d["state"] == "pending_review", d
            assert d["error"] is None, d
    by_state = {s: len(rig.deliveries(f"{dispatch}/deliveries", state=s))
                for s in done["counts"]}
    assert by_state == done["counts"]
    # The attempts history (COPY on PostgreSQL, INSERT on SQLite): one row per call made.
    with rig.hub.runtime.db.session() as session:
        history = session.execute(select(
            DeliveryAttempt.delivery_id, DeliveryAttempt.action, DeliveryAttempt.outcome,
            DeliveryAttempt.worker, DeliveryAttempt.error, DeliveryAttempt.at).join(
            Delivery, Delivery.id == DeliveryAttempt.delivery_id).where(
            Delivery.dispatch_id == answer["dispatch_id"])).all()
    assert sorted((h.action, h.outcome) for h in history) == [("publish", "published")] * 4
    assert len({h.delivery_id for h in history}) == 4
    assert all(h.worker and h.error is None and h.at.tzinfo is not None for h in history)
    _refused(rig, rig.hub.get(f"{dispatch}/deliveries?state=lost"), 422)
    _refused(rig, rig.hub.get(f"{dispatch}/deliveries?limit=0"), 422)
    _refused(rig, rig.hub.get(f"{dispatch}/deliveries?cursor=%%%"), 422)
    _refused(rig, rig.hub.get("/api/v1/dispatches/dsp_nope"), 404)
    _refused(rig, rig.hub.get("/api/v1/dispatches/dsp_nope/deliveries"), 404)

    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert r.status_code == 202 and r.json["total"] == 4, r.json
    withdrawal = f"/api/v1/withdrawals/{r.json['withdrawal_id']}"
    running = rig.hub.get(withdrawal).json
    _check_counts(running, WITHDRAWAL_FIELDS)
    assert running["state"] == "running" and running["remaining"] == 4, running
    rig.drain()
    finished = rig.hub.get(withdrawal).json
    _check_counts(finished, WITHDRAWAL_FIELDS)
    assert finished["state"] == "done" and finished["remaining"] == 0, finished
    assert finished["counts"]["withdrawn"] == 4
    removed = rig.deliveries(f"{withdrawal}/deliveries", state="withdrawn")
    assert {d["account"] for d in removed} == set(accounts)
    assert rig.live_posts() == 0
    _refused(rig, rig.hub.get("/api/v1/withdrawals/wdr_nope"), 404)
    _refused(rig, rig.hub.get("/api/v1/withdrawals/wdr_nope/deliveries"), 404)
    # The dispatch still adds up after the withdrawal moved its rows on.
    _check_counts(rig.hub.get(dispatch).json, DISPATCH_FIELDS)


def test_rows_of_a_dead_worker_are_enqueued_at_once_even_while_other_work_waits(rig):
    """A SIGKILLed worker's claims come back in the next sweep, not after the re-enqueue mark
    of their last job runs out, and are looked up on the platform before any resend."""
    for _ in range(3):
        rig.account("c1-k1")
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    connection = rig.hub.runtime.redis
    queue(connection, PUSH_QUEUE).empty()  # the dead worker had taken the job...
    with rig.hub.runtime.db.session() as session:
        ids = list(session.execute(select(Delivery.id).where(Delivery.item_id == item)).scalars())
        claimed = claims.claim(session, "publish", ids, "dead-worker", lease_s=0)  # ...and died
    assert len(claimed) == 3
    for delivery_id in ids:  # as if a sweep had just enqueued them
        connection.set(MARK_PREFIX + delivery_id, 1, ex=60)
    enqueue_batches(connection, "publish", [("dl_unrelated", "weibo")], 10)  # queues busy
    time.sleep(0.01)
    report = rig.sweep()
    assert report.expired_leases == 3 and report.enqueued.get("publish") == 3, report
    rig.drain()
    with rig.hub.runtime.db.session() as session:
        states = dict(session.execute(select(Delivery.id, Delivery.state)
                                      .where(Delivery.item_id == item)).all())
    assert set(states.values()) <= {"published", "pending_review"}, states
    assert len(rig.sandbox.posts(platform="wechat", state="live")) == 3


def _lose_claims(rig: ApiRig, item: str, times: int, action: str = "publish") -> None:
    """``times`` workers each claim the item's deliveries and die (their leases run out)."""
    connection = rig.hub.runtime.redis
    for death in range(times):
        with rig.hub.runtime.db.session() as session:
            ids = list(session.execute(select(Delivery.id).where(Delivery.item_id == item))
                       .scalars())
            assert claims.claim(session, action, ids, f"dead-{death}", lease_s=0)
        time.sleep(0.01)
        report = rig.sweep()
        assert report.expired_leases == len(ids), report
        for name in (PUSH_QUEUE, WITHDRAW_QUEUE):  # the next dead worker takes the job first
            queue(connection, name).empty()
        for delivery_id in ids:
            connection.delete(MARK_PREFIX + delivery_id)
    rig.sweep()  # a live worker's reconciler hands the work out again


def test_claims_lost_with_their_worker_do_not_use_up_the_retry_budget(rig):
    """Twelve workers die holding a delivery (more than retry_max_attempts = 8): it is still
    published once, and its history names each interruption and the worker that held it."""
    rig.account("c1-k1")
    item = rig.item("c1")
    dispatch = rig.pushed(item, {"orgs": ["c1-k1"]})["dispatch_id"]
    _lose_claims(rig, item, 12)
    rig.drain()
    [delivery] = rig.deliveries(f"/api/v1/dispatches/{dispatch}/deliveries")
    assert delivery["state"] in ("published", "pending_review"), delivery
    assert delivery["attempts"] == 13, delivery
    assert len(rig.sandbox.posts(platform="wechat", state="live")) == 1
    with rig.hub.runtime.db.session() as session:
        history = session.execute(select(DeliveryAttempt.worker, DeliveryAttempt.outcome)
                                  .order_by(DeliveryAttempt.id)).all()
    lost = [worker for worker, outcome in history if outcome == "interrupted"]
    assert lost == [f"dead-{n}" for n in range(12)], history
    assert history[-1].outcome in ("published", "found"), history


def test_a_delivery_that_keeps_losing_its_worker_fails_once_the_platform_has_no_post(rig):
    """The crash budget is separate and capped: after interrupted_max lost claims and a
    lookup that finds nothing, the delivery fails with a reason an editor can act on."""
    limit = rig.hub.runtime.settings.interrupted_max
    rig.account("c1-k1")
    item = rig.item("c1")
    dispatch = rig.pushed(item, {"orgs": ["c1-k1"]})["dispatch_id"]
    _lose_claims(rig, item, limit)
    rig.drain()
    [delivery] = rig.deliveries(f"/api/v1/dispatches/{dispatch}/deliveries")
    assert delivery["state"] == "failed", delivery
    assert "中断" in delivery["error"] and str(limit) in delivery["error"], delivery
    assert rig.sandbox.posts(platform="wechat") == []


def _withdrawal_losing_workers(rig: ApiRig) -> tuple[str, str, str]:
    """A published post whose withdrawal loses interrupted_max workers; returns the item, the
    withdrawal's path and the manual task opened for it."""
    limit = rig.hub.runtime.settings.interrupted_max
    rig.account("c1-k1")
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    rig.drain()
    assert len(rig.sandbox.posts(platform="wechat", state="live")) == 1
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert r.status_code == 202, r.json
    withdrawal = f"/api/v1/withdrawals/{r.json['withdrawal_id']}"
    _lose_claims(rig, item, limit - 1, action="withdraw")
    assert rig.hub.get("/api/v1/tasks", query_string={"state": "open"}).json["items"] == []
    _lose_claims(rig, item, 1, action="withdraw")
    [task] = rig.hub.get("/api/v1/tasks", query_string={"state": "open"}).json["items"]
    assert task["item"] == item and str(limit) in task["detail"], task
    running = rig.hub.get(withdrawal).json
    assert running["remaining"] == 1 and running["counts"]["withdraw_retry"] == 1, running
    assert running["manual_tasks"] == 1, running  # what the admin is told to look at
    return item, withdrawal, task["id"]


def test_a_withdrawal_that_keeps_losing_its_worker_gets_a_manual_task_and_keeps_retrying(rig):
    """A withdrawal never gives up: after interrupted_max lost workers people are asked to
    remove the post by hand, the retries go on, and the one that succeeds closes the task."""
    item, withdrawal, task = _withdrawal_losing_workers(rig)
    rig.drain()
    done = rig.hub.get(withdrawal).json
    assert done["remaining"] == 0 and done["counts"]["withdrawn"] == 1, done
    assert done["manual_tasks"] == 0, done
    assert rig.sandbox.posts(platform="wechat", state="live") == []
    [closed] = rig.hub.get("/api/v1/tasks", query_string={"state": "done"}).json["items"]
    assert closed["id"] == task and "自动撤回" in closed["note"], closed


def test_a_stuck_withdrawal_done_by_hand_stops_the_retries(rig):
    """The person is quicker: marking the task done counts the post withdrawn, and the queued
    retry finds nothing left to do (no call reaches the platform)."""
    item, withdrawal, task = _withdrawal_losing_workers(rig)
    r = rig.hub.post(f"/api/v1/tasks/{task}/done", {"note": "已在后台删除"})
    assert r.status_code == 200, r.json
    done = rig.hub.get(withdrawal).json
    assert done["remaining"] == 0 and done["counts"]["withdrawn"] == 1, done
    rig.drain()
    assert len(rig.sandbox.posts(platform="wechat", state="live")) == 1  # the hub left it alone


def test_a_repushed_send_that_may_have_gone_out_is_looked_up_by_its_withdrawal(rig):
    """A send that timed out may be live with no id on our side (``needs_lookup``). When a
    re-push takes its failed row over and the item is withdrawn before a worker sends again,
    the withdrawal must look for that copy and remove it, not cancel the row as never sent."""
    account = rig.account("c1-k1")
    item = rig.item("c1")
    rig.pushed(item, {"accounts": [account]})
    rig.drain()
    assert rig.live_posts() == 1
    with rig.hub.runtime.db.session() as session:  # the answer to that send never came back
        session.execute(update(Delivery).where(Delivery.account_id == account).values(
            state="failed", needs_lookup=True, remote_id=None, remote_url=None,
            error_kind="retryable", error="平台无应答 (no answer)"))
    again = rig.pushed(item, {"accounts": [account]})
    assert again["total"] == 1, again  # taken over, queued, still owing a lookup
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert r.status_code == 202, r.json
    withdrawal = f"/api/v1/withdrawals/{r.json['withdrawal_id']}"
    assert rig.hub.get(withdrawal).json["counts"].get("cancelled", 0) == 0
    rig.drain()
    finished = rig.hub.get(withdrawal).json
    assert finished["remaining"] == 0, finished
    assert rig.live_posts() == 0
