"""Transient errors are retried by time, not by count (hub/fanout/policy.py, vocabulary.Cause),
end to end on PostgreSQL, real Redis, `yunchu worker` processes and the sandbox's fault
injection: a WeChat push that meets "system busy" on every call for more than eight attempts in
a row still publishes once the platform recovers; past the time budget it fails saying so, and
the retry route sends it again; an error no retry is known to cure stops at the attempt limit;
a withdrawal keeps retrying, and past the budget a person is asked to help."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from hub.infra.config import Settings
from hub.models import Delivery, Task

RETRY_MAX = Settings().retry_max_attempts
ACCOUNTS = 40  # the seeded province: about 18 of them WeChat
# Retries come quickly (the reconciler re-drives due retries every second): the test measures
# the policy, not the clock.
FAST = {"YUNCHU_RETRY_BASE_S": "0.05", "YUNCHU_RETRY_CAP_S": "0.2"}


def _rows(fanout, **where: Any) -> list[Any]:
    with fanout.hub.runtime.db.session() as session:
        query = select(Delivery.state, Delivery.attempts, Delivery.transient, Delivery.error,
                       Delivery.error_kind)
        for name, value in where.items():
            query = query.where(getattr(Delivery, name) == value)
        return list(session.execute(query).all())


def _wait_rows(fanout, done, timeout: float = 120.0, **where: Any) -> list[Any]:
    deadline = time.monotonic() + timeout
    rows = _rows(fanout, **where)
    while not done(rows):
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s: {rows[:5]}")
        time.sleep(0.25)
        rows = _rows(fanout, **where)
    return rows


def _wechat_push(fanout) -> tuple[str, dict[str, Any]]:
    fanout.seed(accounts=ACCOUNTS)
    item = fanout.approved_item()
    dispatch = fanout.push(item, {"orgs": ["yun"], "platforms": ["wechat"]})
    assert dispatch["total"] > 5, dispatch
    return item, dispatch


def test_more_than_eight_transient_errors_in_a_row_still_publish(fanout):
    _, dispatch = _wechat_push(fanout)
    fanout.sandbox.config(faults={"busy": 1.0})  # every business call: -1 system busy
    fanout.start_workers(1, YUNCHU_TRANSIENT_RETRY_S="600", **FAST)
    # Every delivery fails on "busy" at least ten times in a row, and none gives up.
    rows = _wait_rows(fanout, lambda rows: min(r.transient for r in rows) >= RETRY_MAX + 2,
                      dispatch_id=dispatch["dispatch_id"])
    assert {r.state for r in rows} <= {"queued", "sending", "retry"}, rows
    assert {r.error_kind for r in rows if r.state == "retry"} == {"retryable"}, rows
    fanout.sandbox.config(faults={"busy": 0.0})
    progress = fanout.wait_dispatch(dispatch["dispatch_id"], timeout=120)
    assert progress["counts"]["published"] + progress["counts"]["pending_review"] == \
        dispatch["total"], (progress, fanout.failures(dispatch["dispatch_id"]))
    rows = _rows(fanout, dispatch_id=dispatch["dispatch_id"])
    assert min(r.attempts for r in rows) > RETRY_MAX + 2, rows
    assert fanout.duplicates() == 0
    assert fanout.live_posts() == dispatch["total"]


def test_past_the_budget_a_transient_error_fails_saying_so_and_can_be_retried(fanout):
    _, dispatch = _wechat_push(fanout)
    fanout.sandbox.config(faults={"busy": 1.0})
    fanout.start_workers(1, YUNCHU_TRANSIENT_RETRY_S="3", **FAST)
    progress = fanout.wait_dispatch(dispatch["dispatch_id"], timeout=120)
    assert progress["counts"]["failed"] == dispatch["total"], progress
    for row in _rows(fanout, dispatch_id=dispatch["dispatch_id"]):
        assert row.error.startswith("重试3秒后仍失败 (still failing after 3 s of retries): "
                                    "微信系统繁忙"), row.error
        assert row.error_kind == "retryable" and row.transient >= 2, row
    # A passing cause: the dispatch's retry route sends them again, and they publish.
    fanout.sandbox.config(faults={"busy": 0.0})
    r = fanout.hub.post(f"/api/v1/dispatches/{dispatch['dispatch_id']}/retry")
    assert r.status_code == 202 and r.json["retried"] == dispatch["total"], r.json
    progress = fanout.wait_dispatch(dispatch["dispatch_id"], timeout=120)
    assert progress["counts"]["published"] + progress["counts"]["pending_review"] == \
        dispatch["total"], progress
    assert fanout.duplicates() == 0


def test_an_error_no_retry_is_known_to_cure_stops_at_the_attempt_limit(fanout):
    _, dispatch = _wechat_push(fanout)
    fanout.sandbox.config(faults={"unknown_error": 1.0})  # errcode 99999, not transient
    fanout.start_workers(1, YUNCHU_TRANSIENT_RETRY_S="600", **FAST)
    progress = fanout.wait_dispatch(dispatch["dispatch_id"], timeout=120)
    assert progress["counts"]["failed"] == dispatch["total"], progress
    for row in _rows(fanout, dispatch_id=dispatch["dispatch_id"]):
        assert row.error.startswith(f"重试{RETRY_MAX}次仍失败 (gave up after {RETRY_MAX} "
                                    f"attempts): 微信返回错误码 99999"), row.error
        assert (row.attempts, row.transient) == (RETRY_MAX, 0), row


def test_a_withdrawal_keeps_retrying_transient_errors_and_past_the_budget_asks_for_help(fanout):
    item, dispatch = _wechat_push(fanout)
    fanout.start_workers(1, YUNCHU_TRANSIENT_RETRY_S="4", **FAST)
    fanout.wait_dispatch(dispatch["dispatch_id"], timeout=120)
    total = dispatch["total"]
    assert fanout.live_posts() == total
    fanout.sandbox.config(faults={"busy": 1.0})
    withdrawal = fanout.withdraw(item)
    # More than eight transient failures each, the budget long spent: still retrying, and a
    # manual task is open for each copy.
    rows = _wait_rows(fanout, lambda rows: min(r.transient for r in rows) >= RETRY_MAX + 2,
                      withdrawal_id=withdrawal["withdrawal_id"])
    assert {r.state for r in rows} <= {"withdraw_queued", "withdrawing", "withdraw_retry"}, rows
    with fanout.hub.runtime.db.session() as session:
        open_tasks = session.execute(select(func.count()).where(
            Task.state == "open", Task.kind == "manual_withdraw")).scalar_one()
        details = set(session.execute(select(Task.detail)).scalars())
    assert open_tasks == total, (open_tasks, total)
    assert all(d.startswith("撤稿重试4秒后仍失败") for d in details), details
    assert fanout.live_posts() == total
    fanout.sandbox.config(faults={"busy": 0.0})
    done = fanout.wait_withdrawal(withdrawal["withdrawal_id"], timeout=120)
    assert done["counts"]["withdrawn"] == total and done["remaining"] == 0, done
    assert fanout.live_posts() == 0
    with fanout.hub.runtime.db.session() as session:
        states = dict(session.execute(select(Task.state, func.count()).group_by(
            Task.state)).all())
    assert states == {"done": total}, states  # the retry that got through closed each task
