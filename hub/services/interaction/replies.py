"""Replies that pass review: written, screened, approved where the org requires it, then sent
on the maintenance queue (sending.py).

Everything the platform would refuse is refused here first, before any call: a platform that
cannot answer this kind of conversation, a second reply to a WeChat comment (one reply per
comment, 88005), text over the platform's length (Weibo: 140), a WeChat user's message older
than the customer-service window (48 h), and the account's hourly reply budget (Weibo: 60 an
hour; a Redis window per account and hour, reserved when a reply is queued for sending).

Screening: the negative list and the typo check (hub/screening, the same screen items get).
A blocking hit refuses the reply (422 with the hits); warnings are kept on the reply and
send it to a reviewer even where the org does not require approval.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from adapters.base import Interaction

from ...errors import ApiError, conflict, not_found
from ...messages import Message
from ...models import Conversation, InteractionMessage, Org, Reply, User, utcnow
from ...platforms import specs as platform_specs
from ...security.audit import record
from ...security.auth import Principal
from ...security.permissions import require
from ...validation import rfc3339
from ..paging import decode_cursor, keyset_page
from ..safety import screen as current_screen
from . import deadlines
from .inbox import load

MAX_TEXT = 2000
# A reply in these states holds the comment's one reply (WeChat) and is not written again.
HOLDING = ("pending_approval", "approved", "sent")
SEND_JOB = "hub.fanout.jobs.send_reply"
RATE_KEY = "yunchu:reply:rate:{account}:{hour}"


def reply_json(reply: Reply) -> dict[str, Any]:
    return {"id": reply.id, "conversation": reply.conversation_id, "text": reply.text,
            "state": reply.state, "author": reply.author_id, "reviewer": reply.reviewer_id,
            "reviewed_at": rfc3339(reply.reviewed_at), "review_note": reply.review_note,
            "screening": reply.screening, "sent_at": rfc3339(reply.sent_at),
            "remote_id": reply.remote_reply_id, "error": reply.error,
            "created_at": rfc3339(reply.created_at)}


def rules_of(platform: str) -> Interaction:
    spec = platform_specs().get(platform)
    return spec.capabilities.interaction if spec is not None else Interaction()


def reply_length(platform: str, text: str) -> int:
    """Characters as the platform counts them (Weibo: two ASCII characters are one)."""
    if platform == "weibo":
        return (sum(1 if ord(c) < 128 else 2 for c in text) + 1) // 2
    return len(text)


def check_platform_rules(session: Session, conversation: Conversation, text: str,
                         *, replacing: str | None = None) -> None:
    """Refuse what the platform would refuse; ``replacing``: the reply being approved."""
    rules = rules_of(conversation.platform)
    if conversation.kind == "comment" and not rules.can_reply_comment:
        raise invalid("text", Message("replies.unsupported"), code="reply_unsupported")
    if conversation.kind == "message" and not rules.can_send_message:
        raise invalid("text", Message("replies.unsupported"), code="reply_unsupported")
    if conversation.hidden:
        raise conflict(Message("replies.hidden"), code="comment_hidden")
    if conversation.kind == "comment" and rules.one_reply_per_comment:
        held = session.scalar(select(exists().where(
            Reply.conversation_id == conversation.id, Reply.state.in_(HOLDING),
            Reply.id != (replacing or ""))))
        answered = session.scalar(select(exists().where(
            InteractionMessage.conversation_id == conversation.id,
            InteractionMessage.direction == "out")))
        if held or answered:
            raise conflict(Message("replies.one_per_comment"), code="already_replied")
    if rules.reply_max_chars is not None:
        length = reply_length(conversation.platform, text)
        if length > rules.reply_max_chars:
            raise ApiError(422, Message("replies.too_long", max=rules.reply_max_chars,
                                        length=length), code="reply_too_long",
                           details={"field": "text", "max_length": rules.reply_max_chars,
                                    "length": length})
    if conversation.kind == "message" and rules.message_reply_window_h is not None:
        last = conversation.last_inbound_at
        if last is None or last < utcnow() - timedelta(hours=rules.message_reply_window_h):
            raise invalid("text", Message("replies.window", hours=rules.message_reply_window_h),
                          code="reply_window_closed")


def invalid(field: str, message: Message, *, code: str = "invalid", **details: Any) -> ApiError:
    """422 naming the field, with a code of its own for the platform rules."""
    return ApiError(422, message, code=code, details={"field": field, **details})


def reserve_budget(redis: Any, conversation: Conversation) -> None:
    """One slot of the account's hourly reply budget, or 429 before any call."""
    per_hour = rules_of(conversation.platform).replies_per_hour
    if per_hour is None or redis is None:
        return
    now = utcnow()
    key = RATE_KEY.format(account=conversation.account_id, hour=int(now.timestamp() // 3600))
    used = redis.incr(key)
    if used == 1:
        redis.expire(key, 7200)
    if used > per_hour:
        redis.decr(key)
        wait = 3600 - int(now.timestamp()) % 3600
        raise ApiError(429, Message("replies.rate", per_hour=per_hour), code="reply_rate_limited",
                       details={"retry_after_s": wait, "per_hour": per_hour})


def screen_text(session: Session, text: str) -> dict[str, Any] | None:
    """The negative list and typo check on ``text``: 422 on a blocking hit; the warnings."""
    hits = current_screen(session).scan({"text": text})
    if not hits:
        return None
    found = [h.to_json() for h in hits]
    if any(h.action == "block" for h in hits):
        raise ApiError(422, Message("replies.blocked"), code="reply_blocked",
                       details={"field": "text", "hits": found})
    return {"hits": found}


def create(session: Session, principal: Principal, conversation_id: str,
           body: dict[str, Any], *, redis: Any) -> dict[str, Any]:
    """Write a reply: screened, then waiting for a reviewer or queued for sending."""
    conversation, org = load(session, principal, conversation_id, "reply.write", lock=True)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise invalid("text", Message("replies.text"))
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise invalid("text", Message("replies.text"))
    if conversation.state == "ignored":
        raise conflict(Message("replies.ignored"), code="conversation_ignored")
    check_platform_rules(session, conversation, text)
    findings = screen_text(session, text)
    needs_review = deadlines.settings_for(session, org.id).replies_need_approval \
        or findings is not None
    if not needs_review:
        reserve_budget(redis, conversation)
    from ...infra.ids import new_id

    reply = Reply(id=new_id("rp"), conversation_id=conversation.id, text=text,
                  author_id=principal.user_id, screening=findings,
                  state="pending_approval" if needs_review else "approved")
    session.add(reply)
    session.flush()
    record(session, "reply.create", target=reply.id, org_id=conversation.org_id,
           details={"conversation": conversation.id, "account": conversation.account_id,
                    "state": reply.state, "warnings": len((findings or {}).get("hits", []))})
    if reply.state == "approved":
        _queue_after_commit(session, redis, reply.id)
    return reply_json(reply)


def approve(session: Session, principal: Principal, reply_id: str, body: dict[str, Any],
            *, redis: Any) -> dict[str, Any]:
    reply, conversation = _pending(session, principal, reply_id)
    note = _note(body)
    check_platform_rules(session, conversation, reply.text, replacing=reply.id)
    reserve_budget(redis, conversation)
    reply.state, reply.reviewer_id, reply.reviewed_at = "approved", principal.user_id, utcnow()
    reply.review_note = note
    record(session, "reply.approve", target=reply.id, org_id=conversation.org_id,
           details={"conversation": conversation.id, "author": reply.author_id})
    _queue_after_commit(session, redis, reply.id)
    return reply_json(reply)


def reject(session: Session, principal: Principal, reply_id: str,
           body: dict[str, Any]) -> dict[str, Any]:
    reply, conversation = _pending(session, principal, reply_id)
    note = _note(body)
    if not note:
        raise invalid("note", Message("replies.note"))
    reply.state, reply.reviewer_id, reply.reviewed_at = "refused", principal.user_id, utcnow()
    reply.review_note = note
    record(session, "reply.reject", target=reply.id, org_id=conversation.org_id,
           details={"conversation": conversation.id, "author": reply.author_id})
    return reply_json(reply)


def _note(body: dict[str, Any]) -> str | None:
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 1000):
        raise invalid("note", Message("replies.note"))
    return (note or "").strip() or None


def _pending(session: Session, principal: Principal,
             reply_id: str) -> tuple[Reply, Conversation]:
    reply = session.get(Reply, reply_id, with_for_update=True)
    if reply is None:
        raise not_found("回复", reply_id)
    conversation, _org = load(session, principal, reply.conversation_id, "reply.review")
    if reply.state != "pending_approval":
        raise conflict(Message("replies.not_pending"), code="reply_not_pending")
    if reply.author_id == principal.user_id:
        raise ApiError(403, Message("replies.own"), code="own_reply")
    return reply, conversation


def list_page(session: Session, principal: Principal, *, state: str | None, org: str | None,
              limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Replies in the caller's subtree (or ``org``'s), e.g. those waiting for a reviewer."""
    require(principal, "inbox.read")
    from ..scoping import scope_path

    path = scope_path(session, principal, "inbox.read", org)
    query = select(Reply).join(Conversation, Conversation.id == Reply.conversation_id) \
        .join(Org, Org.id == Conversation.org_id)
    if path is not None:
        query = query.where(Org.path.startswith(path, autoescape=True))
    if state:
        from ...models.interaction import REPLY_STATES

        if state not in REPLY_STATES:
            raise invalid("state", Message("replies.state"))
        query = query.where(Reply.state == state)
    found, next_cursor = keyset_page(session, query, Reply.id, limit=limit,
                                     after=decode_cursor(cursor))
    rows = [row[0] for row in found]
    names = _names(session, {r.author_id for r in rows if r.author_id})
    return [{**reply_json(r), "author_name": names.get(r.author_id or "")} for r in rows], \
        next_cursor


def _names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def _queue_after_commit(session: Session, redis: Any, reply_id: str) -> None:
    """Enqueue the send once the reply is committed (a worker must find it approved)."""
    from sqlalchemy import event

    def enqueue(_session: Session) -> None:
        queue_send(redis, reply_id)

    event.listen(session, "after_commit", enqueue, once=True)


def queue_send(redis: Any, reply_id: str) -> None:
    from rq import Queue

    from ...fanout.queueing import MAINTENANCE_QUEUE, queue

    queue(redis, MAINTENANCE_QUEUE).enqueue_many([Queue.prepare_data(
        SEND_JOB, args=(reply_id,), timeout=120, result_ttl=60, failure_ttl=86400)])


MODERATIONS = ("elect", "unelect", "hide")
MODERATE_JOB = "hub.fanout.jobs.moderate_comment"


def moderate(session: Session, principal: Principal, conversation_id: str, action: str,
             *, redis: Any) -> dict[str, Any]:
    """Queue 精选 on/off or hiding the comment, where its platform allows it."""
    conversation, _org = load(session, principal, conversation_id, "inbox.triage")
    rules = rules_of(conversation.platform)
    allowed = rules.can_hide if action == "hide" else rules.can_elect
    if conversation.kind != "comment" or not allowed:
        raise invalid("action", Message("replies.moderation_unsupported"),
                      code="moderation_unsupported")
    record(session, f"conversation.{action}.request", target=conversation.id,
           org_id=conversation.org_id, details={"account": conversation.account_id})
    from sqlalchemy import event

    def enqueue(_session: Session) -> None:
        from rq import Queue

        from ...fanout.queueing import MAINTENANCE_QUEUE, queue

        queue(redis, MAINTENANCE_QUEUE).enqueue_many([Queue.prepare_data(
            MODERATE_JOB, args=(conversation.id, action), timeout=120, result_ttl=60,
            failure_ttl=86400)])

    event.listen(session, "after_commit", enqueue, once=True)
    return {"conversation": conversation_id, "action": action, "queued": True}
