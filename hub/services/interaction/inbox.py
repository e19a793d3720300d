"""The inbox: conversations of an org subtree (the caller's, or one org inside it), filtered,
with their deadlines and overdue counts; a conversation with its messages, replies and post;
triage (assign, close, ignore as spam, reopen). Each call checks the caller's rights and org
scope; changes are audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from ...errors import conflict, invalid, not_found
from ...messages import Message
from ...models import (
    Account,
    Conversation,
    Delivery,
    InteractionMessage,
    ItemVersion,
    Org,
    Reply,
    User,
    utcnow,
)
from ...models.interaction import CONVERSATION_KINDS, CONVERSATION_OPEN, CONVERSATION_STATES
from ...security.audit import record
from ...security.auth import Principal
from ...security.permissions import require
from ...validation import rfc3339
from ..paging import decode_cursor, encode_cursor
from ..scoping import scope_path
from . import deadlines

TRIAGE_STATES = ("new", "closed", "ignored")  # what an editor may set by hand
SNIPPET = 140


def conversation_json(conversation: Conversation, org_slug: str, account_name: str,
                      last_text: str | None = None, post_title: str | None = None,
                      assignee_name: str | None = None) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": conversation.id, "org": org_slug, "account": conversation.account_id,
        "account_name": account_name, "platform": conversation.platform,
        "kind": conversation.kind, "state": conversation.state,
        "item": conversation.item_id, "delivery": conversation.delivery_id,
        "post_title": post_title, "author_name": conversation.author_name,
        "last_text": (last_text or "")[:SNIPPET] if last_text is not None else None,
        "flagged": conversation.flagged, "elected": conversation.elected,
        "hidden": conversation.hidden, "unread": conversation.unread,
        "assignee": conversation.assignee_id, "assignee_name": assignee_name,
        "deadline": rfc3339(conversation.deadline_at),
        "overdue": bool(conversation.state in CONVERSATION_OPEN and conversation.deadline_at
                        and conversation.deadline_at < now),
        "first_inbound_at": rfc3339(conversation.first_inbound_at),
        "last_inbound_at": rfc3339(conversation.last_inbound_at),
        "first_reply_at": rfc3339(conversation.first_reply_at),
        "last_outbound_at": rfc3339(conversation.last_outbound_at),
    }


def _filters(session: Session, principal: Principal, args: dict[str, Any]) -> Select:
    require(principal, "inbox.read")
    path = scope_path(session, principal, "inbox.read", args.get("org"))
    query = select(Conversation, Org.slug, Account.name).join(
        Org, Org.id == Conversation.org_id).join(Account, Account.id == Conversation.account_id)
    if path is not None:
        query = query.where(Org.path.startswith(path, autoescape=True))
    state = args.get("state")
    if state == "open":
        query = query.where(Conversation.state.in_(CONVERSATION_OPEN))
    elif state:
        if state not in CONVERSATION_STATES:
            raise invalid("state", Message("inbox.state"), allowed=[*CONVERSATION_STATES, "open"])
        query = query.where(Conversation.state == state)
    for name, column in (("account", Conversation.account_id), ("platform",
                         Conversation.platform), ("item", Conversation.item_id),
                         ("delivery", Conversation.delivery_id),
                         ("assignee", Conversation.assignee_id)):
        value = args.get(name)
        if value:
            query = query.where(column == value)
    kind = args.get("kind")
    if kind:
        if kind not in CONVERSATION_KINDS:
            raise invalid("kind", Message("inbox.kind"), allowed=list(CONVERSATION_KINDS))
        query = query.where(Conversation.kind == kind)
    for name, older in (("older_than_h", True), ("newer_than_h", False)):
        raw = args.get(name)
        if raw in (None, ""):
            continue
        try:
            hours = float(raw)
            if not 0 <= hours <= 24 * 3650:
                raise ValueError
        except (TypeError, ValueError):
            raise invalid(name, Message("inbox.age", name=name)) from None
        edge = utcnow() - timedelta(hours=hours)
        query = query.where(Conversation.last_inbound_at <= edge if older
                            else Conversation.last_inbound_at >= edge)
    if args.get("overdue") in ("1", "true"):
        query = query.where(Conversation.state.in_(CONVERSATION_OPEN),
                            Conversation.deadline_at < utcnow())
    if args.get("flagged") in ("1", "true"):
        query = query.where(Conversation.flagged.is_(True))
    elif args.get("flagged") in ("0", "false"):
        query = query.where(Conversation.flagged.is_(False))
    return query


def list_page(session: Session, principal: Principal, *, args: dict[str, Any], limit: int,
              cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Newest activity first; the cursor is (last_inbound_at, id) of the last row."""
    query = _filters(session, principal, args)
    _fill_deadlines(session, principal, args)
    after = decode_cursor(cursor)
    order_at = func.coalesce(Conversation.last_inbound_at, Conversation.created_at)
    if after:
        at_raw, _, after_id = after.partition("|")
        try:
            at = datetime.fromisoformat(at_raw)
        except ValueError:
            raise invalid("cursor", Message("inbox.cursor")) from None
        query = query.where(or_(order_at < at, and_(order_at == at, Conversation.id < after_id)))
    rows = session.execute(query.order_by(order_at.desc(), Conversation.id.desc())
                           .limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    extras = _extras(session, [r[0] for r in rows])
    items = [conversation_json(c, slug, name, *extras.get(c.id, (None, None, None)))
             for c, slug, name in rows]
    next_cursor = None
    if more and rows:
        last = rows[-1][0]
        at = last.last_inbound_at or last.created_at
        next_cursor = encode_cursor(f"{at.isoformat()}|{last.id}")
    return items, next_cursor


def _fill_deadlines(session: Session, principal: Principal, args: dict[str, Any]) -> None:
    path = scope_path(session, principal, "inbox.read", args.get("org"))
    deadlines.fill(session, path)


def _extras(session: Session, conversations: list[Conversation]
            ) -> dict[str, tuple[str | None, str | None, str | None]]:
    """Per conversation: its last inbound text, its post's title, its assignee's name."""
    if not conversations:
        return {}
    ids = [c.id for c in conversations]
    newest = (select(InteractionMessage.conversation_id,
                     func.max(InteractionMessage.created_at).label("at"))
              .where(InteractionMessage.conversation_id.in_(ids),
                     InteractionMessage.direction == "in")
              .group_by(InteractionMessage.conversation_id).subquery())
    texts = dict(session.execute(
        select(InteractionMessage.conversation_id, InteractionMessage.text)
        .join(newest, and_(newest.c.conversation_id == InteractionMessage.conversation_id,
                           newest.c.at == InteractionMessage.created_at))
        .where(InteractionMessage.direction == "in")).all())
    titles = _titles(session, {c.item_id for c in conversations if c.item_id})
    users = {c.assignee_id for c in conversations if c.assignee_id}
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(users))).all()) \
        if users else {}
    return {c.id: (texts.get(c.id), titles.get(c.item_id or ""),
                   names.get(c.assignee_id or "")) for c in conversations}


def _titles(session: Session, item_ids: set[str]) -> dict[str, str]:
    if not item_ids:
        return {}
    latest = (select(ItemVersion.item_id, func.max(ItemVersion.version).label("v"))
              .where(ItemVersion.item_id.in_(item_ids)).group_by(ItemVersion.item_id).subquery())
    return dict(session.execute(
        select(ItemVersion.item_id, ItemVersion.title)
        .join(latest, and_(latest.c.item_id == ItemVersion.item_id,
                           latest.c.v == ItemVersion.version))).all())


def summary(session: Session, principal: Principal, *, org: str | None) -> dict[str, Any]:
    """Counts by state, open and overdue ones, for the caller's subtree or ``org``'s."""
    require(principal, "inbox.read")
    path = scope_path(session, principal, "inbox.read", org)
    deadlines.fill(session, path)
    base = select(Conversation.state, func.count()).join(Org, Org.id == Conversation.org_id)
    if path is not None:
        base = base.where(Org.path.startswith(path, autoescape=True))
    by_state = dict(session.execute(base.group_by(Conversation.state)).all())
    overdue_q = select(func.count()).select_from(Conversation).join(
        Org, Org.id == Conversation.org_id).where(
        Conversation.state.in_(CONVERSATION_OPEN), Conversation.deadline_at < utcnow())
    if path is not None:
        overdue_q = overdue_q.where(Org.path.startswith(path, autoescape=True))
    return {"states": {s: by_state.get(s, 0) for s in CONVERSATION_STATES},
            "open": sum(by_state.get(s, 0) for s in CONVERSATION_OPEN),
            "overdue": session.scalar(overdue_q) or 0}


def load(session: Session, principal: Principal, conversation_id: str, action: str,
         *, lock: bool = False) -> tuple[Conversation, Org]:
    conversation = session.get(Conversation, conversation_id, with_for_update=lock)
    if conversation is None:
        raise not_found("会话", conversation_id)
    org = session.get(Org, conversation.org_id)
    assert org is not None
    require(principal, action, org_path=org.path)
    return conversation, org


def detail(session: Session, principal: Principal, conversation_id: str) -> dict[str, Any]:
    """A conversation with everything said in it, its replies and the post it is under."""
    conversation, org = load(session, principal, conversation_id, "inbox.read")
    account = session.get(Account, conversation.account_id)
    extras = _extras(session, [conversation])[conversation.id]
    body = conversation_json(conversation, org.slug, account.name if account else "", *extras)
    messages = session.scalars(select(InteractionMessage).where(
        InteractionMessage.conversation_id == conversation.id)
        .order_by(InteractionMessage.created_at, InteractionMessage.id))
    body["messages"] = [{"id": m.id, "direction": m.direction, "text": m.text,
                         "msg_type": m.msg_type, "author_name": m.author_name,
                         "flagged": m.flagged, "reply": m.reply_id,
                         "created_at": rfc3339(m.created_at)} for m in messages]
    from .replies import reply_json

    replies = session.scalars(select(Reply).where(Reply.conversation_id == conversation.id)
                              .order_by(Reply.created_at))
    body["replies"] = [reply_json(r) for r in replies]
    body["post"] = _post(session, conversation)
    if conversation.unread:
        conversation.unread = False
    return body


def _post(session: Session, conversation: Conversation) -> dict[str, Any] | None:
    if conversation.item_id is None:
        return None
    version = session.scalars(select(ItemVersion).where(
        ItemVersion.item_id == conversation.item_id)
        .order_by(ItemVersion.version.desc()).limit(1)).first()
    delivery = session.get(Delivery, conversation.delivery_id) \
        if conversation.delivery_id else None
    return {"item": conversation.item_id,
            "title": version.title if version else None,
            "summary": version.summary if version else None,
            "body_text": (version.body_text or "")[:2000] if version else None,
            "url": delivery.remote_url if delivery else None,
            "published_at": rfc3339(delivery.published_at) if delivery else None}


def assign(session: Session, principal: Principal, conversation_id: str,
           body: dict[str, Any]) -> dict[str, Any]:
    """Give the conversation to a person in (or above) its org, or take it back (null)."""
    conversation, org = load(session, principal, conversation_id, "inbox.triage", lock=True)
    user_id = body.get("user")
    if user_id is not None and not isinstance(user_id, str):
        raise invalid("user", Message("inbox.user"))
    if user_id:
        user = session.get(User, user_id)
        user_org = session.get(Org, user.org_id) if user and user.org_id else None
        if user is None or user.disabled or (
                user_org is not None and not org.path.startswith(user_org.path)
                and not user_org.path.startswith(org.path)):
            raise invalid("user", Message("inbox.user"))
    conversation.assignee_id = user_id or None
    if conversation.state == "new" and user_id:
        conversation.state = "assigned"
    elif conversation.state == "assigned" and not user_id:
        conversation.state = "new"
    record(session, "conversation.assign", target=conversation.id, org_id=conversation.org_id,
           details={"assignee": user_id, "account": conversation.account_id})
    return detail(session, principal, conversation.id)


def set_state(session: Session, principal: Principal, conversation_id: str,
              body: dict[str, Any]) -> dict[str, Any]:
    """Close a conversation, ignore it as spam, or open it again."""
    conversation, _org = load(session, principal, conversation_id, "inbox.triage", lock=True)
    state = body.get("state")
    if state not in TRIAGE_STATES:
        raise invalid("state", Message("inbox.triage_state"), allowed=list(TRIAGE_STATES))
    if conversation.state == state:
        raise conflict(Message("inbox.same_state"), code="same_state")
    if state == "new":
        state = "assigned" if conversation.assignee_id else "new"
        conversation.deadline_at = None  # owed again: a fresh deadline on the next read
    conversation.state = state
    record(session, f"conversation.{'reopen' if state in CONVERSATION_OPEN else state}",
           target=conversation.id, org_id=conversation.org_id,
           details={"account": conversation.account_id})
    return detail(session, principal, conversation.id)
