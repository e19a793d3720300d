"""The response indicator (回应): per account, how long the first reply took and how many
conversations were answered within their deadline; and the inspection's 单项否决 for a message
left unanswered three months (留言三个月未回复), which hub/services/inspection.py asks here.

"Unanswered" is an inbound message, in a conversation still owed an answer (new or assigned:
closed ones and spam are not owed), that came after the account's last answer in it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, object_session

from ...models import Account, Conversation, InteractionMessage, Org, utcnow
from ...models.interaction import CONVERSATION_OPEN
from ...security.auth import Principal
from ...security.permissions import require
from ..scoping import scope_path
from . import deadlines

UNANSWERED_DAYS = 90  # 留言三个月未回复
WINDOW_DAYS = 90  # the indicator looks at conversations begun this recently
MAX_WINDOW_DAYS = 366
PROBLEM = "messages_unanswered"


def unanswered_since(cutoff: datetime, account_id: Any = Account.id) -> ColumnElement[bool]:
    """SQL: the account has an inbound message older than ``cutoff`` still unanswered."""
    return exists().where(
        Conversation.account_id == account_id,
        Conversation.state.in_(CONVERSATION_OPEN),
        InteractionMessage.conversation_id == Conversation.id,
        InteractionMessage.direction == "in",
        InteractionMessage.created_at < cutoff,
        or_(Conversation.last_outbound_at.is_(None),
            InteractionMessage.created_at > Conversation.last_outbound_at))


def condition(now: datetime) -> ColumnElement[bool]:
    """The inspection problem as SQL over ``accounts``."""
    return unanswered_since(now - timedelta(days=UNANSWERED_DAYS))


def fails(account: Account, now: datetime) -> bool:
    """Whether ``account`` (loaded in a session) left a message unanswered three months."""
    session = object_session(account)
    if session is None or account.id is None:
        return False
    return bool(session.scalar(select(unanswered_since(now - timedelta(days=UNANSWERED_DAYS),
                                                       account.id))))


def _hours_between(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return (func.extract("epoch", end) - func.extract("epoch", start)) / 3600.0


def per_account(session: Session, principal: Principal, *, org: str | None,
                days: int = WINDOW_DAYS) -> dict[str, Any]:
    """For each account of the subtree with conversations begun in the last ``days``: how
    many, how many answered, the mean hours to the first reply, the share answered within
    the deadline (N working days from the first message, the org's rule), how many are
    open and overdue; and whether a message has waited three months (any age)."""
    require(principal, "inbox.read")
    path = scope_path(session, principal, "inbox.read", org)
    deadlines.fill(session, path)
    now = utcnow()
    since = now - timedelta(days=days)
    hours = _hours_between(session, Conversation.first_inbound_at, Conversation.first_reply_at)
    owed = Conversation.state.in_(CONVERSATION_OPEN)
    scope = [Conversation.state != "ignored", Conversation.first_inbound_at >= since]
    if path is not None:
        scope.append(Org.path.startswith(path, autoescape=True))
    query = (select(Account.id, Account.name, Account.platform, Org.slug,
                    func.count(Conversation.id),
                    func.sum(case((Conversation.first_reply_at.is_not(None), 1), else_=0)),
                    func.sum(case((owed, 1), else_=0)),
                    func.sum(case((and_(owed, Conversation.deadline_at < now), 1), else_=0)),
                    func.avg(case((Conversation.first_reply_at.is_not(None), hours))))
             .join(Conversation, Conversation.account_id == Account.id)
             .join(Org, Org.id == Account.org_id).where(*scope)
             .group_by(Account.id, Account.name, Account.platform, Org.slug)
             .order_by(Org.slug, Account.name))
    rows = session.execute(query).all()
    in_time = _answered_in_time(session, scope)
    failing = set(session.scalars(select(Account.id).where(
        Account.id.in_([r[0] for r in rows]), condition(now)))) if rows else set()
    items = []
    for account_id, name, platform, slug, total, answered, open_, overdue, mean in rows:
        total = int(total)
        items.append({
            "account": account_id, "name": name, "platform": platform, "org": slug,
            "conversations": total, "answered": int(answered or 0), "open": int(open_ or 0),
            "overdue": int(overdue or 0),
            "mean_hours_to_first_reply": round(float(mean), 2) if mean is not None else None,
            "answered_in_time_share": round(in_time.get(account_id, 0) / total, 4)
            if total else None,
            "unanswered_3_months": account_id in failing,
        })
    return {"window_days": days, "unanswered_days": UNANSWERED_DAYS, "accounts": items}


def _answered_in_time(session: Session, scope: list[Any]) -> dict[str, int]:
    """Per account: conversations whose first reply came by the deadline of the first
    message (working days by the org's rule at the time of asking)."""
    answered = session.execute(
        select(Conversation.account_id, Conversation.org_id, Conversation.first_inbound_at,
               Conversation.first_reply_at)
        .join(Org, Org.id == Conversation.org_id)
        .where(*scope, Conversation.first_reply_at.is_not(None))).all()
    rules: dict[str, int] = {}
    counts: dict[str, int] = {}
    for account_id, org_id, first_in, first_reply in answered:
        if org_id not in rules:
            rules[org_id] = deadlines.working_days_for(session, org_id)
        if first_reply <= deadlines.due_at(first_in, rules[org_id]):
            counts[account_id] = counts.get(account_id, 0) + 1
    return counts


def open_counts(session: Session, org_path: str | None) -> dict[str, int]:
    """For the dashboard: conversations of a subtree still owed an answer, and those overdue
    (deadlines as last set; the inbox sets missing ones when read)."""
    now = utcnow()
    query = (select(func.count(), func.coalesce(func.sum(case(
        (Conversation.deadline_at < now, 1), else_=0)), 0))
        .select_from(Conversation).join(Org, Org.id == Conversation.org_id)
        .where(Conversation.state.in_(CONVERSATION_OPEN)))
    if org_path is not None:
        query = query.where(Org.path.startswith(org_path, autoescape=True))
    total, overdue = session.execute(query).one()
    return {"open": int(total), "overdue": int(overdue)}
