"""When a conversation must be answered: N working days after its first unanswered message.

Working days are China's (the ``chinese-calendar`` package: 法定节假日 off, 调休 weekend
make-up days on), counted in China time: a message that arrives on day D is due by the end
(24:00 Beijing time) of the N-th working day after D. A year the package has no data for yet
(the State Council publishes each year's arrangement in the autumn before) falls back to
Monday–Friday until an upgraded package knows it.

Deadlines are set on open conversations that have none (``fill``): those new since the last
fill, and those an inbound message reopened after a reply (a reply clears the deadline).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache

import chinese_calendar
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import Conversation, InteractionMessage, InteractionSetting, Org
from ...models.interaction import CONVERSATION_OPEN

CHINA = timezone(timedelta(hours=8))
DEFAULT_WORKING_DAYS = 3
MAX_WORKING_DAYS = 60


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package has no arrangement for yet
        return day.weekday() < 5


def due_at(arrived: datetime, working_days: int) -> datetime:
    """The end, in Beijing time, of the ``working_days``-th working day after the day
    ``arrived`` falls on; returned in UTC."""
    if arrived.tzinfo is None:
        arrived = arrived.replace(tzinfo=UTC)
    day = arrived.astimezone(CHINA).date()
    left = max(working_days, 0)
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    end = datetime.combine(day + timedelta(days=1), time(0), CHINA)
    return end.astimezone(UTC)


def working_days_for(session: Session, org_id: str) -> int:
    """The org's rule, or its nearest ancestor's, else the default."""
    return settings_for(session, org_id).deadline_working_days


def settings_for(session: Session, org_id: str) -> InteractionSetting:
    """The interaction settings in force for an org (its own row, the nearest ancestor's, or
    the defaults); a transient object when no row applies."""
    org = session.get(Org, org_id)
    if org is not None:
        ancestors = [p for p in org.path.strip("/").split("/") if p]  # ids, root first
        rows = session.execute(select(InteractionSetting, Org.path)
                               .join(Org, Org.id == InteractionSetting.org_id)
                               .where(Org.id.in_(ancestors + [org_id]))).all()
        if rows:
            return max(rows, key=lambda r: len(r[1]))[0]
    return InteractionSetting(org_id=org_id, replies_need_approval=False,
                              deadline_working_days=DEFAULT_WORKING_DAYS)


def fill(session: Session, org_path: str | None, *, limit: int = 5000) -> int:
    """Give open conversations under ``org_path`` (None: all) without a deadline one, from
    their first inbound message after the last answer. Returns how many were set."""
    query = (select(Conversation).where(Conversation.state.in_(CONVERSATION_OPEN),
                                        Conversation.deadline_at.is_(None),
                                        Conversation.first_inbound_at.is_not(None))
             .limit(limit))
    if org_path is not None:
        query = query.join(Org, Org.id == Conversation.org_id).where(
            Org.path.startswith(org_path, autoescape=True))
    rows = list(session.scalars(query))
    rules: dict[str, int] = {}
    for conversation in rows:
        if conversation.org_id not in rules:
            rules[conversation.org_id] = working_days_for(session, conversation.org_id)
        since = owed_since(session, conversation)
        conversation.deadline_at = due_at(since, rules[conversation.org_id])
    if rows:
        session.flush()
    return len(rows)


def owed_since(session: Session, conversation: Conversation) -> datetime:
    """When the first inbound message still unanswered arrived."""
    if conversation.last_outbound_at is None:
        assert conversation.first_inbound_at is not None
        return conversation.first_inbound_at
    found = session.scalar(select(func.min(InteractionMessage.created_at)).where(
        InteractionMessage.conversation_id == conversation.id,
        InteractionMessage.direction == "in",
        InteractionMessage.created_at > conversation.last_outbound_at))
    return found or conversation.last_inbound_at or conversation.first_inbound_at
