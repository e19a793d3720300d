"""The refresher against the sandbox on a fast-forwarded clock: Douyin tokens refreshed and
renewed until the chain ends, Weibo reminded and expired, one refresher at a time."""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from sqlalchemy import select

from hub.models import Account, Task
from hub.services.onboarding import refresher
from tests.hub.helpers import make_tree
from tests.hub.onboarding.support import authorize, connect_to_sandbox
from tests.hub.security.support import make_user

DAY = 86_400


def _now(sandbox) -> datetime:
    return datetime.fromtimestamp(sandbox.state.clock.now(), UTC)


def _run(hub, sandbox) -> refresher.RefreshReport:
    return refresher.run(hub.runtime, now=_now(sandbox), pause=lambda _s: None)


def _account(hub, account_id: str) -> tuple[Account, dict[str, str]]:
    with hub.runtime.db.session() as session:
        row = session.get(Account, account_id)
        session.expunge(row)
    return row, hub.runtime.box.open(row.credentials_sealed, bound_to=row.id)


def _setup(hub, sandbox, platform: str, account: str) -> str:
    make_tree(hub)
    connect_to_sandbox(hub, sandbox)
    token = make_user(hub, "op", ["operator"], org="c1")["token"]
    done = authorize(hub, "c1", platform, account, token)
    assert done["status"] == "completed", done
    return done["account_id"]


def test_douyin_grants_are_refreshed_renewed_five_times_then_expire(hub, sandbox):
    account_id = _setup(hub, sandbox, "douyin", "ou_dy_yuncheng")
    first, first_credentials = _account(hub, account_id)
    assert _run(hub, sandbox).refreshed == 0  # fifteen days left: nothing to do
    sandbox.advance_clock(14 * DAY)
    report = _run(hub, sandbox)
    assert report.refreshed == 1 and report.errors == 0
    row, credentials = _account(hub, account_id)
    assert credentials["access_token"] != first_credentials["access_token"]
    assert row.auth_token_expires_at > first.auth_token_expires_at
    who = requests.post(f"{sandbox.platform_url('douyin')}/oauth/userinfo/", data={
        "access_token": credentials["access_token"], "open_id": "ou_dy_yuncheng"},
        timeout=10).json()["data"]
    assert who["error_code"] == 0  # the refreshed token is the one that works
    renewals, reminded = [], 0
    for _week in range(26):
        sandbox.advance_clock(7 * DAY)
        report = _run(hub, sandbox)
        reminded += report.reminded
        row, _ = _account(hub, account_id)
        renewals.append(row.auth_renewals)
        if row.auth_state != "authorized":
            break
    assert max(renewals) == 5
    assert row.auth_state == "expired" and row.auth_error
    assert reminded == 1  # one open task, not one a run
    with hub.runtime.db.session() as session:
        tasks = list(session.scalars(select(Task).where(Task.account_id == account_id)))
    assert len(tasks) == 1 and tasks[0].kind == "reauthorize" and "重新授权" in tasks[0].title
    account = hub.get(f"/api/v1/accounts/{account_id}").json
    assert account["inspection"]["passes"] is False
    assert "authorization_lost" in account["inspection"]["problems"]
    assert [a["id"] for a in hub.get("/api/v1/accounts?auth=expired").json["items"]] == [
        account_id]


def test_weibo_is_reminded_then_expires_and_a_revoked_token_is_seen(hub, sandbox):
    account_id = _setup(hub, sandbox, "weibo", "1404376560")
    sandbox.advance_clock(20 * DAY)  # the sandbox's tokens live 30 days
    report = _run(hub, sandbox)
    assert report.reminded == 1 and report.expired == 0
    sandbox.advance_clock(11 * DAY)
    report = _run(hub, sandbox)
    assert report.expired == 1 and report.reminded == 0
    row, _ = _account(hub, account_id)
    assert row.auth_state == "expired"
    # A fresh grant, then the holder withdraws it and a publish is refused.
    done = authorize(hub, "c1", "weibo", "1404376560", account_id=account_id)
    assert done["status"] == "completed"
    sandbox.revoke("weibo", "1404376560")
    with hub.runtime.db.session() as session:
        session.get(Account, account_id).flagged_reason = "微博授权无效 (21332)"
    report = _run(hub, sandbox)
    assert report.revoked == 1
    assert _account(hub, account_id)[0].auth_state == "revoked"
    with hub.runtime.db.session() as session:
        states = list(session.scalars(select(Task.state).where(Task.account_id == account_id)))
    assert sorted(states) == ["done", "open"]  # closed by the consent, opened by the loss
    # Consent again closes the open reminder.
    assert authorize(hub, "c1", "weibo", "1404376560", account_id=account_id)[
        "status"] == "completed"
    with hub.runtime.db.session() as session:
        states = list(session.scalars(select(Task.state).where(Task.account_id == account_id)))
    assert states == ["done", "done"]


def test_one_refresher_at_a_time_and_the_schedule_enqueues_once(hub, sandbox):
    _setup(hub, sandbox, "douyin", "ou_dy_police")
    connection = hub.runtime.redis
    connection.delete(refresher.DUE_KEY)
    connection.set(refresher.LOCK_KEY, "another-host", ex=60)
    try:
        assert _run(hub, sandbox).ran is False
    finally:
        connection.delete(refresher.LOCK_KEY)
    assert _run(hub, sandbox).ran is True
    assert connection.get(refresher.LOCK_KEY) is None  # released
    from hub.fanout.queueing import MAINTENANCE_QUEUE, WITHDRAW_QUEUE, queue

    maintenance = queue(connection, MAINTENANCE_QUEUE)
    maintenance.empty()
    assert refresher.schedule(hub.runtime, connection) is True
    assert refresher.schedule(hub.runtime, connection) is False  # once per interval
    assert maintenance.count == 1 and queue(connection, WITHDRAW_QUEUE).count == 0
    assert maintenance.jobs[0].func_name == refresher.JOB
    maintenance.empty()
    connection.delete(refresher.DUE_KEY)
