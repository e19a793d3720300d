"""Keeps OAuth grants alive and says in time when only the holder can (the refresher job).

- Douyin: the access token (15 days) is refreshed when it has under two days left (no secret
  needed); the refresh token (30 days) is renewed when it has under a week left, at most five
  times (``auth_renewals``). Then, or when the app may not renew, the chain ends with the
  refresh token: ``auth_expires_at`` says when. ``10010`` (refresh token dead) and ``10020``
  (no renewals left) at a refresh mark the account ``expired``.
- Weibo: nothing can be refreshed. A token whose time is up is ``expired``; a flagged account
  (a publish was refused) is checked with ``get_token_info`` and marked ``revoked`` when the
  token is no longer valid.
- Every platform: an open operator task (重新授权) once access will stop within
  ``YUNCHU_AUTH_REMIND_DAYS``, one per account while it is open.

One refresher runs at a time across hosts (a Redis lock with a TTL, released when done).
Accounts go in batches with a short random pause between them, so the platforms see a trickle,
not a burst; only accounts that are due cost a call. It runs on the maintenance queue, which
workers take after withdrawals and pushes.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from adapters.base import AccountRef
from adapters.douyin import _UserToken, cache_key
from adapters.tokens import TOKEN_PREFIX

from ...infra.crypto import CredentialError
from ...infra.ids import new_id
from ...infra.runtime import Runtime
from ...models import Account, Org, Task, utcnow
from ..auth_health import LOST
from . import oauth_douyin, oauth_weibo
from .oauth_flow import REMINDER_KIND, number
from .oauth_http import PlatformUnreachable, json_of, post_form

log = logging.getLogger("yunchu.refresher")

LOCK_KEY = "yunchu:auth-refresher"
LOCK_TTL_S = 900
REFRESH_MARGIN = timedelta(days=2)
RENEW_MARGIN = timedelta(days=7)
TASK_KIND = REMINDER_KIND
REFRESH_DEAD = {10010, 10020}
RENEW_REFUSED = {10004, 10020}


@dataclass
class RefreshReport:
    ran: bool = True
    seen: int = 0
    refreshed: int = 0
    renewed: int = 0
    expired: int = 0
    revoked: int = 0
    reminded: int = 0
    errors: int = 0
    skipped_ids: list[str] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("skipped_ids")
        return data


def run(runtime: Runtime, *, now: datetime | None = None,
        pause: Callable[[float], None] = time.sleep) -> RefreshReport:
    """One pass over every OAuth account; returns what it did (``ran`` False: another
    refresher holds the lock)."""
    me = uuid.uuid4().hex
    connection = runtime.redis
    if not connection.set(LOCK_KEY, me, nx=True, ex=LOCK_TTL_S):
        return RefreshReport(ran=False)
    report = RefreshReport()
    try:
        after = ""
        batch = runtime.settings.auth_refresh_batch
        while True:
            with runtime.db.session() as session:
                accounts = list(session.scalars(
                    select(Account).where(Account.auth_mode == "oauth",
                                          Account.status != "closed", Account.id > after)
                    .order_by(Account.id).limit(batch)))
                for account in accounts:
                    report.seen += 1
                    _one(runtime, session, account, now or utcnow(), report)
            if len(accounts) < batch:
                break
            after = accounts[-1].id
            connection.expire(LOCK_KEY, LOCK_TTL_S)
            pause(random.uniform(0.2, 1.0))  # spread the calls
    finally:
        if (connection.get(LOCK_KEY) or b"").decode() == me:
            connection.delete(LOCK_KEY)
    return report


def _one(runtime: Runtime, session: Any, account: Account, now: datetime,
         report: RefreshReport) -> None:
    if account.auth_state in LOST:
        return
    try:
        if account.platform == "douyin":
            _douyin(runtime, account, now, report)
        elif account.platform == "weibo":
            _weibo(runtime, account, now, report)
    except PlatformUnreachable as err:
        report.errors += 1
        account.auth_error = f"刷新失败，稍后重试 (refresh failed: {err})"[:500]
        return
    except CredentialError:  # unreadable with this key: nothing to refresh with
        report.errors += 1
        return
    if account.auth_state not in LOST and account.auth_expires_at is not None and \
            account.auth_expires_at <= now:
        _lose(account, "expired", "授权已到期 (the authorisation ran out)", now)
        report.expired += 1
    if account.auth_expires_at is not None and (
            account.auth_state in LOST or account.auth_expires_at
            <= now + timedelta(days=runtime.settings.auth_remind_days)):
        report.reminded += _remind(session, account, now)


def _lose(account: Account, state: str, why: str, now: datetime) -> None:
    account.auth_state, account.auth_error, account.auth_changed_at = state, why[:500], now


# ---------------------------------------------------------------- Douyin


def _douyin(runtime: Runtime, account: Account, now: datetime, report: RefreshReport) -> None:
    credentials = runtime.box.open(account.credentials_sealed, bound_to=account.id)
    current = _newest(runtime, account, credentials)
    refresh_expires = _when(credentials.get("refresh_expires_at"))
    renewable = True
    base = oauth_douyin.base(runtime)
    key = credentials.get("client_key", "")
    if refresh_expires is not None and refresh_expires - now <= RENEW_MARGIN \
            and account.auth_renewals < oauth_douyin.MAX_RENEWALS:
        data = _data(runtime, f"{base}/oauth/renew_refresh_token/",
                     {"client_key": key, "refresh_token": current.refresh_token})
        code = number(data.get("error_code")) or 0
        lifetime = number(data.get("expires_in"))
        if code == 0 and isinstance(data.get("refresh_token"), str) and lifetime:
            current = _UserToken(current.access_token, data["refresh_token"],
                                 current.expires_at, current.refresh_expires_at)
            refresh_expires = now + timedelta(seconds=lifetime)
            account.auth_renewals += 1
            report.renewed += 1
        elif code in RENEW_REFUSED:
            renewable = False
            if code == 10020:
                account.auth_renewals = oauth_douyin.MAX_RENEWALS
        elif code == 10010:
            _lose(account, "expired", "抖音授权已失效 (refresh token expired: 10010)", now)
            report.expired += 1
            return
    token_expires = account.auth_token_expires_at
    if token_expires is None or token_expires - now <= REFRESH_MARGIN:
        data = _data(runtime, f"{base}/oauth/refresh_token/",
                     {"client_key": key, "grant_type": "refresh_token",
                      "refresh_token": current.refresh_token})
        code = number(data.get("error_code")) or 0
        lifetime = number(data.get("expires_in"))
        if code in REFRESH_DEAD:
            _lose(account, "expired", f"抖音授权已失效，请重新授权 (Douyin {code})", now)
            report.expired += 1
            return
        if code != 0 or not isinstance(data.get("access_token"), str) or not lifetime:
            report.errors += 1
            account.auth_error = f"抖音刷新失败 (Douyin refresh answered {code})"
            return
        current = _UserToken(data["access_token"], current.refresh_token)
        token_expires = now + timedelta(seconds=lifetime)
        report.refreshed += 1
    elif current.expires_at is not None:  # a worker refreshed it: adopt what it learnt
        token_expires = datetime.fromtimestamp(current.expires_at, UTC)
    if renewable and current.access_token == credentials.get("access_token") and \
            current.refresh_token == credentials.get("refresh_token") and \
            refresh_expires == _when(credentials.get("refresh_expires_at")):
        return  # nothing due, nothing learnt
    credentials.update(access_token=current.access_token, refresh_token=current.refresh_token)
    if refresh_expires is not None:
        credentials["refresh_expires_at"] = refresh_expires.isoformat()
        account.auth_expires_at = oauth_douyin.chain_end(
            refresh_expires, account.auth_renewals, renewable)
    account.credentials_sealed = runtime.box.seal(credentials, bound_to=account.id)
    account.credentials_updated_at = now
    account.auth_token_expires_at = token_expires
    account.auth_refreshed_at = now
    account.auth_error = None


def _newest(runtime: Runtime, account: Account, credentials: dict[str, str]) -> _UserToken:
    """The tokens a worker may have refreshed since (the adapter's cache), else the stored."""
    stored = _UserToken(credentials.get("access_token", ""), credentials.get("refresh_token", ""))
    try:
        ref = AccountRef(id=account.id, platform="douyin",
                         api_base=account.api_base or runtime.settings.api_base("douyin"),
                         credentials=credentials)
        raw = runtime.redis.get(TOKEN_PREFIX + cache_key(ref))
        return _UserToken.loads(raw.decode()) if raw else stored
    except Exception:  # noqa: BLE001 - an unreadable entry: the stored tokens
        return stored


def _data(runtime: Runtime, url: str, form: dict[str, str]) -> dict[str, Any]:
    data = oauth_douyin.data_of(json_of(post_form(runtime.settings, "douyin", url, form)))
    return data


def _when(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------- Weibo


def _weibo(runtime: Runtime, account: Account, now: datetime, report: RefreshReport) -> None:
    if not account.flagged_reason:
        return  # no refresh exists; expiry and reminders are handled by the caller
    credentials = runtime.box.open(account.credentials_sealed, bound_to=account.id)
    info = json_of(post_form(runtime.settings, "weibo",
                             f"{oauth_weibo.base(runtime)}/oauth2/get_token_info",
                             {"access_token": credentials.get("access_token", "")}))
    left = number(info.get("expire_in", info.get("expires_in")))
    if info.get("error_code") or left is None:
        _lose(account, "revoked", f"微博授权已被撤销 (Weibo {info.get('error_code')})", now)
        report.revoked += 1
    elif left <= 0:
        _lose(account, "expired", "微博授权已到期 (the Weibo token expired)", now)
        report.expired += 1


# ---------------------------------------------------------------- reminders


def _remind(session: Any, account: Account, now: datetime) -> int:
    """An open 重新授权 task for the account's org, unless one is open already."""
    open_already = session.scalar(select(Task.id).where(
        Task.kind == TASK_KIND, Task.account_id == account.id, Task.state == "open").limit(1))
    if open_already:
        return 0
    org = session.get(Org, account.org_id)
    when = account.auth_expires_at.astimezone(UTC).strftime("%Y-%m-%d") \
        if account.auth_expires_at else ""
    lost = account.auth_state in LOST
    title = (f"重新授权：{account.name}（{account.platform}）授权已失效" if lost else
             f"重新授权：{account.name}（{account.platform}）授权将于 {when} 到期")
    session.add(Task(id=new_id("tsk"), kind=TASK_KIND, org_id=account.org_id,
                     account_id=account.id, title=title[:500],
                     detail=(f"请在「账号」页点击「重新授权」，由账号持有人扫码同意"
                             f"（机构 {org.slug if org else ''}）。"),
                     deadline=account.auth_expires_at))
    return 1


# ---------------------------------------------------------------- scheduling

DUE_KEY = "yunchu:auth-refresher:due"
JOB = "hub.fanout.jobs.refresh_authorizations"


def schedule(runtime: Runtime, connection: Any) -> bool:
    """Put one refresher job on the maintenance queue once per interval (called by every
    reconciler sweep; the first after the interval wins)."""
    interval = runtime.settings.auth_refresh_interval_s
    if not connection.set(DUE_KEY, 1, nx=True, ex=max(interval, 1)):
        return False
    from rq import Queue

    from ...fanout.queueing import MAINTENANCE_QUEUE, queue

    queue(connection, MAINTENANCE_QUEUE).enqueue_many([Queue.prepare_data(
        JOB, args=(), timeout=LOCK_TTL_S, result_ttl=0, failure_ttl=3600)])
    return True
