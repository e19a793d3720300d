"""An official account's authorisation of the hub, turned into an account of the org that
began the attempt (and a cancelled one into a revoked account).

WeChat sends the holder's browser back with an ``auth_code`` and no state, and pushes an
``authorized`` event carrying the same code and the ``PreAuthCode`` of the attempt. Either may
come first, or only one of them. Both go through ``complete``, serialised per code:

- the first to arrive exchanges the code (``api_query_auth``, single use) and, when it knows
  the attempt (the push's PreAuthCode, or the correlation key the redirect URI carries when
  WeChat keeps its query), binds the account; otherwise it parks the sealed answer in Redis
  for the other;
- whoever comes later finds the code done and changes nothing (a replayed redirect too).

Binding never moves an account between orgs: an appid already held by another org's
account fails the attempt with a readable reason (``attempts.finish`` refuses it as well).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.wechat_component import (
    CODE_INVALID,
    PUBLISHING,
    ComponentClient,
    ComponentError,
    granted_funcsets,
    missing_capabilities,
)

from ...infra.ids import new_id
from ...infra.runtime import Runtime
from ...models import Account, Authorization, utcnow
from ...security.audit import record
from .. import account_identity
from ..onboarding import attempts
from . import setup

log = logging.getLogger("yunchu.wechat.component")

PLATFORM = "wechat"
KEY_PREFIX = "yunchu:wxcomp:"
DONE_S = 86400  # a code is remembered as done this long (replays within it change nothing)
PARKED_S = 3600
UNVERIFIED = -1  # verify_type_info.id of an account without 微信认证
VERIFIED_ONLY = ("statistics", "comments")  # datacube and comment APIs need 微信认证
CLOSED_STATUSES = {14: "已注销 (closed)", 16: "已封禁 (banned)", 19: "已冻结 (frozen)"}

OTHER_ORG = ("该公众号已登记在其他单位下，不能绑定到本单位 (this official account is registered "
             "to another organisation; it was not bound)")
OTHER_ACCOUNT = ("授权的公众号不是要重新授权的账号 (a different official account was authorised "
                 "than the one being re-authorised)")
REVOKED_REASON = ("公众号管理员已取消对本平台的授权，需重新扫码授权 (the account's admin cancelled "
                  "the authorisation; authorise again)")
NO_API = ("公众号未授予任何接口权限 (the account granted no API permission)")


@dataclass(frozen=True)
class Completion:
    """What became of a code: ``done`` (bound or refused, see the attempt), ``waiting``
    (exchanged, the attempt is not known yet) or ``invalid`` (used or expired, never seen)."""

    outcome: str
    attempt_id: str | None = None


def code_key(runtime: Runtime, auth_code: str) -> str:
    return KEY_PREFIX + runtime.box.identity_key("wechat-auth-code:" + auth_code)


def complete(runtime: Runtime, auth_code: str, *, pushed: bool = False,
             pre_auth_code: str | None = None, correlation: str | None = None) -> Completion:
    """``pushed``: from the authorisation event (with its ``pre_auth_code``); otherwise the
    redirect (with the ``correlation`` key its URI carried, if WeChat kept it)."""
    key = code_key(runtime, auth_code)
    redis = runtime.redis
    with redis.lock(key + ":lock", timeout=60, blocking_timeout=30):
        done = redis.get(key + ":done")
        if done is not None:
            return Completion("done", done.decode() or None)
        parked = redis.get(key + ":parked")
        if parked is not None:
            grant = json.loads(runtime.box.open(parked, bound_to=key)["grant"])
        else:
            try:
                grant = setup.run(runtime, lambda c: _exchange(c, auth_code))
            except ComponentError as err:
                if err.code in (CODE_INVALID, 61010):
                    return Completion("invalid")
                raise
        with runtime.db.session() as session:
            attempt = _attempt(session, runtime, pre_auth_code, correlation)
            if attempt is None and pushed:
                # A push for no attempt of ours (changed on WeChat's side): update the account.
                account_id = _update_known(session, runtime, grant)
                if account_id is not None:
                    redis.set(key + ":done", "", ex=DONE_S)
                    return Completion("done")
            if attempt is None:
                sealed = runtime.box.seal({"grant": json.dumps(grant)}, bound_to=key)
                redis.set(key + ":parked", sealed, ex=PARKED_S)
                return Completion("waiting")
            bind(session, runtime, attempt, grant)
            attempt_id = attempt.id
        redis.set(key + ":done", attempt_id, ex=DONE_S)
        redis.delete(key + ":parked")
        return Completion("done", attempt_id)


async def _exchange(client: ComponentClient, auth_code: str) -> dict[str, Any]:
    info = await client.query_auth(auth_code)
    details = await client.authorizer_info(str(info["authorizer_appid"]))
    return {"info": info, "details": details, "component_appid": client.appid}


def _attempt(session: Session, runtime: Runtime, pre_auth_code: str | None,
             correlation: str | None) -> Authorization | None:
    if pre_auth_code:
        return attempts.find(session, runtime.box, pre_auth_code, PLATFORM)
    if correlation:
        return session.scalar(select(Authorization).where(
            Authorization.correlation_key == correlation, Authorization.platform == PLATFORM))
    return None


def _holder(session: Session, runtime: Runtime, appid: str) -> Account | None:
    key = account_identity.identity_key(runtime.box, PLATFORM, {"appid": appid})
    return session.scalar(select(Account).where(Account.identity_key == key))


def bind(session: Session, runtime: Runtime, attempt: Authorization,
         grant: dict[str, Any]) -> None:
    if not attempts.claim(session, attempt):
        return  # expired, or completed by the other path
    appid = str(grant["info"]["authorizer_appid"])
    holder = _holder(session, runtime, appid)
    if holder is not None and holder.org_id != attempt.org_id:
        log.warning("attempt %s: the authorised account is held by another org", attempt.id)
        if holder.auth_mode == "component":
            # WeChat replaced the account's refresh token on this consent: the holder's
            # account (it stays where it is) needs the new one to keep working.
            apply_grant(runtime, holder, grant)
        attempts.finish(session, attempt, attempts.FAILED, identity=appid, error=OTHER_ORG)
        return
    if attempt.account_id and (holder is None or holder.id != attempt.account_id):
        attempts.finish(session, attempt, attempts.FAILED, identity=appid, error=OTHER_ACCOUNT)
        return
    account = holder or _new_account(session, runtime, attempt.org_id, appid, grant)
    apply_grant(runtime, account, grant)
    session.flush()
    attempts.finish(session, attempt, attempts.COMPLETED, account=account, identity=appid)
    record(session, "account.credentials" if holder else "account.create", anonymous=True,
           target=account.id, actor_id=attempt.started_by, org_id=attempt.org_id,
           details={"platform": PLATFORM, "via": "component", "attempt": attempt.id,
                    "auth_state": account.auth_state, **account_kind(grant)})


def _update_known(session: Session, runtime: Runtime, grant: dict[str, Any]) -> str | None:
    holder = _holder(session, runtime, str(grant["info"]["authorizer_appid"]))
    if holder is None or holder.auth_mode != "component":
        return None
    apply_grant(runtime, holder, grant)
    return holder.id


def _new_account(session: Session, runtime: Runtime, org_id: str, appid: str,
                 grant: dict[str, Any]) -> Account:
    nick = str(grant["details"].get("nick_name") or "").strip()[:150] or appid
    name = nick
    if session.scalar(select(Account.id).where(Account.org_id == org_id,
                                               Account.platform == PLATFORM,
                                               Account.name == name)):
        name = f"{nick}（{appid}）"
    account_id = new_id("acc")
    account = Account(
        id=account_id, org_id=org_id, platform=PLATFORM, name=name, status="active",
        external_id=appid,
        identity_key=account_identity.identity_key(runtime.box, PLATFORM, {"appid": appid}),
        credentials_sealed=runtime.box.seal({"appid": appid}, bound_to=account_id))
    session.add(account)
    return account


def apply_grant(runtime: Runtime, account: Account, grant: dict[str, Any]) -> None:
    """The account as the authorisation makes it: component mode, its func sets, its state."""
    info, details = grant["info"], grant.get("details") or {}
    now = utcnow()
    try:
        credentials = runtime.box.open(account.credentials_sealed, bound_to=account.id)
    except Exception:  # noqa: BLE001 - unreadable: start afresh from the grant
        credentials = {}
    credentials = {k: v for k, v in credentials.items()
                   if k in ("callback_token", "callback_aes_key")}
    credentials.update(appid=str(info["authorizer_appid"]),
                       component_appid=str(grant.get("component_appid") or ""))
    refresh_token = info.get("authorizer_refresh_token")
    if refresh_token:
        credentials["authorizer_refresh_token"] = str(refresh_token)
    account.credentials_sealed = runtime.box.seal(credentials, bound_to=account.id)
    account.credentials_updated_at = now
    granted = granted_funcsets(info)
    missing = missing_capabilities(set(granted), setup.funcset_needs(runtime.settings))
    verify = (details.get("verify_type_info") or {}).get("id")
    if verify == UNVERIFIED:
        missing += [m for m in VERIFIED_ONLY if m not in missing]
    errors = []
    status = details.get("account_status")
    if status in CLOSED_STATUSES:
        errors.append(f"公众号{CLOSED_STATUSES[status]}")
    if not refresh_token:
        errors.append(NO_API)
    blocked = not refresh_token or any(m in PUBLISHING for m in missing)
    account.auth_mode = "component"
    account.auth_state = "insufficient" if blocked else "authorized"
    account.auth_scopes = granted
    account.auth_missing = missing
    account.auth_error = "; ".join(errors) or None
    account.auth_changed_at = account.auth_refreshed_at = now
    account.auth_token_expires_at = now + timedelta(seconds=int(info.get("expires_in") or 7200))
    account.auth_expires_at = None
    account.flagged_reason = account.flagged_at = None


def account_kind(grant: dict[str, Any]) -> dict[str, Any]:
    """What WeChat says the account is: 订阅号/服务号 (``service_type``: 0/1 subscription, 2
    service) and its 认证 (``verify_type``: -1 none, 0 WeChat, others qualification)."""
    details = grant.get("details") or {}
    return {"service_type": (details.get("service_type_info") or {}).get("id"),
            "verify_type": (details.get("verify_type_info") or {}).get("id")}


def revoke(runtime: Runtime, appid: str, reason: str = REVOKED_REASON) -> str | None:
    """The admin cancelled: the account stops taking pushes until authorised again."""
    with runtime.db.session() as session:
        account = _holder(session, runtime, appid)
        if account is None or account.auth_mode != "component":
            return None
        account.auth_state = "revoked"
        account.auth_error = reason
        account.auth_changed_at = utcnow()
        record(session, "account.update", anonymous=True, target=account.id,
               org_id=account.org_id, details={"via": "component", "auth_state": "revoked"})
        try:
            credentials = runtime.box.open(account.credentials_sealed, bound_to=account.id)
        except Exception:  # noqa: BLE001
            credentials = {}
        account_id = account.id
    component = setup.component_of(runtime.settings)
    if component is not None and credentials.get("authorizer_refresh_token"):
        from adapters.tokens import TOKEN_PREFIX

        runtime.redis.delete(TOKEN_PREFIX + component.authorizer_key(
            appid, credentials["authorizer_refresh_token"]))
    return account_id
