"""Token health (授权状态): whether the hub's access to an account works and how long it will.

The state is stored (authorized / expired / revoked / insufficient); "expiring" (即将过期) is
derived: access that stops within the window unless the holder authorises again (a Weibo
token's expiry, the end of a Douyin refresh chain). Nothing here ever reads a token.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from ..models import Account, Org
from ..validation import rfc3339

EXPIRING_DAYS = 7
FILTERS = ("expiring", "revoked", "expired", "insufficient")
LOST = ("expired", "revoked")  # access gone: the account fails inspection


def is_expiring(account: Account, now: datetime, days: int = EXPIRING_DAYS) -> bool:
    return (account.auth_state not in LOST and account.auth_expires_at is not None
            and account.auth_expires_at <= now + timedelta(days=days))


def needs_reauthorization(account: Account, now: datetime, days: int = EXPIRING_DAYS) -> bool:
    return account.auth_state != "authorized" or is_expiring(account, now, days)


def to_json(account: Account, org_slug: str, now: datetime,
            days: int = EXPIRING_DAYS) -> dict[str, Any]:
    """The account JSON's ``authorization``: never a token."""
    hint = None
    if needs_reauthorization(account, now, days):
        from .onboarding.registry import STARTERS

        if account.platform in STARTERS:
            hint = {"path": f"/api/v1/orgs/{org_slug}/authorizations",
                    "body": {"platform": account.platform, "account_id": account.id}}
        else:
            hint = {"path": f"/api/v1/accounts/{account.id}", "body": {"credentials": {}}}
    return {"mode": account.auth_mode, "state": account.auth_state,
            "expiring": is_expiring(account, now, days),
            "expires_at": rfc3339(account.auth_expires_at),
            "token_expires_at": rfc3339(account.auth_token_expires_at),
            "last_refresh": rfc3339(account.auth_refreshed_at),
            "renewals": account.auth_renewals,
            "last_error": account.auth_error, "scopes": account.auth_scopes or [],
            "missing": account.auth_missing or [],
            "changed_at": rfc3339(account.auth_changed_at), "reauthorize": hint}


def condition(name: str, now: datetime, days: int = EXPIRING_DAYS) -> ColumnElement[bool]:
    """``?auth=<name>`` as SQL over ``accounts``."""
    if name == "expiring":
        return and_(Account.auth_state.not_in(LOST), Account.auth_expires_at.is_not(None),
                    Account.auth_expires_at <= now + timedelta(days=days))
    return Account.auth_state == name


def summary(session: Session, *, org_path: str | None, now: datetime,
            days: int = EXPIRING_DAYS) -> dict[str, Any]:
    """Counts of a subtree (None: the province) by state, expiring within ``days``, by mode;
    closed accounts are not counted."""
    states = ("authorized", "expired", "revoked", "insufficient")
    columns = [func.count()]
    columns += [func.coalesce(func.sum(case((Account.auth_state == s, 1), else_=0)), 0)
                for s in states]
    columns.append(func.coalesce(func.sum(case((condition("expiring", now, days), 1),
                                               else_=0)), 0))
    query = select(*columns).select_from(Account).where(Account.status != "closed")
    if org_path is not None:
        query = query.join(Org, Org.id == Account.org_id).where(
            Org.path.startswith(org_path, autoescape=True))
    row = session.execute(query).one()
    modes_query = select(Account.auth_mode, func.count()).where(Account.status != "closed")
    if org_path is not None:
        modes_query = modes_query.join(Org, Org.id == Account.org_id).where(
            Org.path.startswith(org_path, autoescape=True))
    modes = dict(session.execute(modes_query.group_by(Account.auth_mode)).all())
    return {"expiring_days": days, "accounts": int(row[0]),
            "states": {s: int(v) for s, v in zip(states, row[1:5], strict=True)},
            "expiring": int(row[5]),
            "modes": {m: int(modes.get(m, 0)) for m in ("secret", "component", "oauth")}}
