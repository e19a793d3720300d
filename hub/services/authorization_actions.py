"""扫码授权 through the API and the admin: start an attempt for an org (or re-authorise one of
its accounts), read its status for live polling, draw its link as a QR code. Platform-neutral:
whatever platform has a starter in onboarding/registry.py can be connected, each call with its
permission check, org scope and audit entry."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import segno
from sqlalchemy.orm import Session

from ..errors import ApiError, invalid, not_found
from ..infra.runtime import Runtime
from ..messages import Message
from ..models import Account, Authorization, Org, utcnow
from ..platforms import names as platform_names
from ..security.audit import record
from ..security.auth import Principal
from ..security.permissions import require
from .media_urls import public_base
from .onboarding import attempts
from .onboarding.base import NotConfigured, StartFailed
from .onboarding.oauth_flow import callback_url
from .onboarding.registry import STARTERS
from .orgs import get_by_slug

LINK_KEY = "yunchu:authlink:"  # attempt id -> its sealed link, for as long as the attempt lives
CLAIM_GRACE = timedelta(minutes=5)  # a claimed attempt still unfinished then was interrupted


def connectable() -> list[str]:
    """Platforms with a starter, in the platforms' order."""
    return [name for name in platform_names() if name in STARTERS]


def start(runtime: Runtime, session: Session, principal: Principal, slug: str,
          body: Any) -> dict[str, Any]:
    org = get_by_slug(session, slug)
    require(principal, "account.authorize", org_path=org.path)
    if not isinstance(body, dict):
        raise invalid("body", Message("authorizations.object"))
    platform = body.get("platform")
    starter = STARTERS.get(platform) if isinstance(platform, str) else None
    if starter is None:
        names = connectable()
        raise invalid("platform", Message("authorizations.platform", names_zh="、".join(names),
                                          names_en=", ".join(names)))
    account = _account_to_renew(session, principal, org, platform, body.get("account_id"))
    try:
        begun = starter(runtime, callback_url=callback_url(public_base(), platform),
                        account=account)
    except NotConfigured:
        raise ApiError(422, Message("authorizations.not_configured", platform=platform),
                       code="not_configured", details={"field": "platform"}) from None
    except StartFailed as err:
        raise ApiError(502, Message("authorizations.start_failed", platform=platform),
                       code="platform_unavailable", details={"reason": str(err)[:200]}) from None
    attempt = attempts.create(session, runtime.box, org_id=org.id, platform=platform,
                              secret=begun.secret, expires_in=begun.expires_in,
                              started_by=principal.user_id,
                              account_id=account.id if account else None)
    links = {"url": begun.url, "qr": begun.mobile_url or begun.url}
    runtime.redis.set(LINK_KEY + attempt.id, runtime.box.seal(links, bound_to=attempt.id),
                      ex=max(begun.expires_in, 1))
    record(session, "account.authorize", target=account.id if account else None,
           details={"attempt": attempt.id, "platform": platform, "org": org.slug})
    return to_json(attempt, org.slug, url=begun.url)


def _account_to_renew(session: Session, principal: Principal, org: Org, platform: str,
                      account_id: Any) -> Account | None:
    if account_id is None:
        return None
    if not isinstance(account_id, str):
        raise invalid("account_id", Message("authorizations.account"))
    account = session.get(Account, account_id)
    if account is None:
        raise not_found("账号", account_id)
    owner = session.get(Org, account.org_id)
    require(principal, "account.authorize", org_path=owner.path)
    if account.org_id != org.id or account.platform != platform:
        raise invalid("account_id", Message("authorizations.account"))
    return account


def _visible(session: Session, principal: Principal, attempt_id: str) -> tuple[Authorization,
                                                                               Org]:
    attempt = session.get(Authorization, attempt_id)
    org = session.get(Org, attempt.org_id) if attempt is not None else None
    if attempt is None or org is None:
        raise not_found("授权", attempt_id)
    require(principal, "account.authorize", org_path=org.path)  # 403 outside the subtree
    return attempt, org


def get(runtime: Runtime, session: Session, principal: Principal,
        attempt_id: str) -> dict[str, Any]:
    """The attempt as the 授权接入 page polls it; its link while it is still pending."""
    attempt, org = _visible(session, principal, attempt_id)
    now = utcnow()
    if attempt.status == attempts.PENDING and attempt.expires_at <= now:
        attempts.finish(session, attempt, attempts.EXPIRED, error="authorization expired")
    elif attempt.status == attempts.CLAIMED and attempt.expires_at + CLAIM_GRACE <= now:
        # The process completing it died between the code exchange and binding.
        attempts.finish(session, attempt, attempts.FAILED, error="interrupted")
    return to_json(attempt, org.slug, url=link(runtime, attempt))


def link(runtime: Runtime, attempt: Authorization, which: str = "url") -> str | None:
    """The pending attempt's link (``url``) or what its QR code carries (``qr``)."""
    sealed = runtime.redis.get(LINK_KEY + attempt.id)
    if not sealed or attempt.status != attempts.PENDING:
        return None
    return runtime.box.open(sealed, bound_to=attempt.id).get(which)


def qr(runtime: Runtime, session: Session, principal: Principal, attempt_id: str,
       kind: str) -> bytes:
    """The attempt's link as a QR code (png or svg); 410 once it is no longer pending."""
    attempt, _ = _visible(session, principal, attempt_id)
    url = link(runtime, attempt, "qr") if attempt.expires_at > utcnow() else None
    if url is None:
        raise ApiError(410, Message("authorizations.gone"), code="gone")
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind=kind, scale=5, border=2)
    return out.getvalue()


def to_json(attempt: Authorization, org_slug: str, *, url: str | None = None) -> dict[str, Any]:
    data = attempts.to_json(attempt, url=url)
    data["org"] = org_slug
    data["qr_url"] = f"/api/v1/authorizations/{attempt.id}/qr.png"
    return data
