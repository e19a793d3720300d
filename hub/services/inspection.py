"""Would an account pass a routine inspection of government new media? (统一台账 in the README)

Inspectors fail an account outright (单项否决) that has not been updated in the checking window,
usually two weeks; they look for zombie accounts (僵尸账号) that have gone quiet for months; the
ledger (备案) must name a responsible person, a chief editor, a managing department and a filing
number; and an account whose credentials a platform rejected is a security matter, as is one
whose authorisation expired or was withdrawn by its holder (authorization_lost: the hub can no
longer post there until it is authorised again). Closed accounts are not inspected.

"Updated" is the last post on the account that yunchu knows of: one it published, or one the
account made directly on the platform, which reach collection lists (hub/services/reach/store.py
moves ``last_published_at`` when it finds one). An account that never posted counts from when it
entered the ledger, so a new account has one window's grace.

A message (comment or user message) left unanswered three months also fails it outright
(留言三个月未回复: hub/services/interaction/indicator.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from ..models import Account, Org
from .interaction import indicator as unanswered

WINDOW_DAYS = 14
ZOMBIE_DAYS = 90
MAX_WINDOW_DAYS = 366
LEDGER_FIELDS = ("responsible_person", "chief_editor", "managing_department", "filing_number")
PROBLEMS = ("not_updated", "zombie", "ledger_incomplete", "credentials_rejected",
            "authorization_lost", "messages_unanswered")
# The hub's authorisation ran out or the holder withdrew it (auth_health.LOST): nothing can be
# published until someone authorises again.
AUTH_LOST = ("expired", "revoked")


def problems(account: Account, now: datetime, window_days: int = WINDOW_DAYS) -> list[str] | None:
    """What fails the account, in PROBLEMS order; [] when it passes, None when closed."""
    if account.status == "closed":
        return None
    found = []
    last = account.last_published_at or account.created_at
    if last is not None and last < now - timedelta(days=window_days):
        found.append("not_updated")
    if last is not None and last < now - timedelta(days=max(ZOMBIE_DAYS, window_days)):
        found.append("zombie")
    if any(not (getattr(account, name) or "").strip() for name in LEDGER_FIELDS):
        found.append("ledger_incomplete")
    if account.flagged_reason:
        found.append("credentials_rejected")
    if account.auth_state in AUTH_LOST:
        found.append("authorization_lost")
    if unanswered.fails(account, now):  # 留言三个月未回复
        found.append("messages_unanswered")
    return found


def verdict(account: Account, now: datetime, window_days: int = WINDOW_DAYS) -> dict[str, Any]:
    """The account JSON's ``inspection``: passes (None when closed) and the problems."""
    found = problems(account, now, window_days)
    return {"passes": None if found is None else not found, "problems": found or []}


def conditions(now: datetime, window_days: int = WINDOW_DAYS) -> dict[str, ColumnElement[bool]]:
    """Each problem as SQL over ``accounts`` (closed accounts excluded by the caller)."""
    last = func.coalesce(Account.last_published_at, Account.created_at)
    blank = [func.coalesce(func.trim(getattr(Account, name)), "") == "" for name in LEDGER_FIELDS]
    return {
        "not_updated": last < now - timedelta(days=window_days),
        "zombie": last < now - timedelta(days=max(ZOMBIE_DAYS, window_days)),
        "ledger_incomplete": or_(*blank),
        "credentials_rejected": Account.flagged_reason.is_not(None),
        "authorization_lost": Account.auth_state.in_(AUTH_LOST),
        "messages_unanswered": unanswered.condition(now),
    }


def failing(now: datetime, window_days: int = WINDOW_DAYS) -> ColumnElement[bool]:
    return and_(Account.status != "closed", or_(*conditions(now, window_days).values()))


def passing(now: datetime, window_days: int = WINDOW_DAYS) -> ColumnElement[bool]:
    return and_(Account.status != "closed", ~or_(*conditions(now, window_days).values()))


def summary(session: Session, *, org_path: str | None, now: datetime,
            window_days: int = WINDOW_DAYS) -> dict[str, Any]:
    """Counts for a subtree (None: the province): inspected, passing, failing, per problem."""
    each = conditions(now, window_days)
    columns = [func.count().label("inspected"),
               func.coalesce(func.sum(case((or_(*each.values()), 1), else_=0)), 0)]
    columns += [func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
                for condition in each.values()]
    query = select(*columns).select_from(Account).where(Account.status != "closed")
    if org_path is not None:
        query = query.join(Org, Org.id == Account.org_id).where(
            Org.path.startswith(org_path, autoescape=True))
    row = session.execute(query).one()
    inspected, failing_count = int(row[0]), int(row[1])
    return {"window_days": window_days, "zombie_days": max(ZOMBIE_DAYS, window_days),
            "inspected": inspected, "passing": inspected - failing_count,
            "failing": failing_count,
            "problems": {name: int(count) for name, count in zip(each, row[2:], strict=True)}}
