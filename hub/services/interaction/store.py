"""Writing what citizens said into conversations, once each.

A message is keyed by (account, platform, remote id): taking the same comment in again, from a
re-run poll, a resent push or two workers at once, adds nothing. New inbound text is screened
with the current negative list (hub/screening); a hit that is not a typo check flags the
message and its conversation as likely spam or abuse. Remote user ids are personal data: they
are stored, never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.base import RemoteComment, RemoteMessage

from ...infra.ids import new_id
from ...models import Conversation, InteractionMessage, utcnow
from ...screening import TYPO_CATEGORY, Screen
from ..safety import screen as current_screen

log = logging.getLogger("yunchu.interaction")

# States an inbound message sends a conversation back to "new" from: it owes an answer again.
REOPENED_BY_INBOUND = ("replied",)


@dataclass(frozen=True)
class Place:
    """Where comments come from: an account, and the yunchu post they are under."""

    org_id: str
    account_id: str
    platform: str
    delivery_id: str | None = None
    item_id: str | None = None
    remote_post_id: str | None = None


@dataclass
class Taken:
    new_messages: int = 0
    new_conversations: int = 0
    flagged: int = 0


def screening_of(screen: Screen, text: str) -> tuple[bool, dict[str, Any] | None]:
    """Whether ``text`` is likely spam or abuse, and the findings to keep (None: no hits)."""
    if screen.empty or not text:
        return False, None
    hits = screen.scan({"text": text})
    if not hits:
        return False, None
    flagged = any(h.category != TYPO_CATEGORY for h in hits)
    return flagged, {"list_version": screen.version, "hits": [h.to_json() for h in hits]}


def take_comments(session: Session, place: Place, comments: Sequence[RemoteComment],
                  screen: Screen | None = None) -> Taken:
    """Store the comments not stored yet (and the account's replies the platform shows).
    New rows go in as one multi-row insert per table: intake writes a province's comments."""
    taken = Taken()
    if not comments:
        return taken
    screen = screen or current_screen(session)
    known = _known(session, place, [c.remote_id for c in comments]
                   + [reply_remote_id(c) for c in comments if c.reply is not None])
    threads: dict[str, Any] = dict(_conversations(session, place.account_id, "comment",
                                                  {c.thread_id for c in comments}))
    fresh: list[SimpleNamespace] = []
    messages: list[dict[str, Any]] = []
    now = utcnow()
    for comment in comments:
        conversation = threads.get(comment.thread_id)
        if conversation is None:
            conversation = threads[comment.thread_id] = SimpleNamespace(
                id=new_id("cv"), org_id=place.org_id, account_id=place.account_id,
                platform=place.platform, kind="comment", delivery_id=place.delivery_id,
                item_id=place.item_id, thread_key=comment.thread_id,
                remote_post_id=place.remote_post_id, remote_comment_id=comment.comment_id,
                remote_user_id=comment.user_id, author_name=comment.author_name,
                state="new", assignee_id=None, deadline_at=None, first_inbound_at=None,
                first_reply_at=None, last_inbound_at=None, last_outbound_at=None,
                unread=True, flagged=False, elected=comment.elected, hidden=False,
                created_at=now, updated_at=now)
            fresh.append(conversation)
        if comment.remote_id not in known:
            known.add(comment.remote_id)
            flagged, findings = screening_of(screen, comment.text)
            messages.append(_message(conversation.id, place, "in", comment.remote_id,
                                     comment.text, comment.author_name, flagged, findings,
                                     comment.created_at, now))
            _inbound(conversation, comment.created_at, flagged)
            taken.new_messages += 1
            taken.flagged += flagged
        if comment.reply is not None and reply_remote_id(comment) not in known:
            # The account answered on the platform itself (or yunchu's reply shows up here).
            known.add(reply_remote_id(comment))
            messages.append(_message(conversation.id, place, "out", reply_remote_id(comment),
                                     comment.reply.text, None, False, None,
                                     comment.reply.created_at, now))
            _outbound(conversation, comment.reply.created_at)
        conversation.elected = comment.elected or conversation.elected
    if fresh:
        session.execute(insert(Conversation), [vars(c) for c in fresh])
        taken.new_conversations = len(fresh)
    if messages:
        session.execute(insert(InteractionMessage), messages)
    session.flush()
    return taken


def _message(conversation_id: str, place: Place, direction: str, remote_id: str, text: str,
             author: str | None, flagged: bool, findings: dict[str, Any] | None,
             created_at: datetime, now: datetime) -> dict[str, Any]:
    return {"id": new_id("im"), "conversation_id": conversation_id,
            "account_id": place.account_id, "platform": place.platform,
            "direction": direction, "remote_id": remote_id, "msg_type": "text", "text": text,
            "author_name": author, "reply_id": None, "flagged": flagged,
            "screening": findings, "created_at": created_at, "received_at": now}


def take_message(session: Session, place: Place, message: RemoteMessage,
                 screen: Screen | None = None) -> bool:
    """Store one user's message in that user's conversation with the account; False when it
    was stored before."""
    if _known(session, place, [message.remote_id]):
        return False
    screen = screen or current_screen(session)
    threads = _conversations(session, place.account_id, "message", {message.user_id})
    conversation = threads.get(message.user_id)
    if conversation is None:
        conversation = Conversation(
            id=new_id("cv"), org_id=place.org_id, account_id=place.account_id,
            platform=place.platform, kind="message", thread_key=message.user_id,
            remote_user_id=message.user_id, author_name=message.author_name, state="new",
            unread=True, flagged=False, elected=False, hidden=False)
        session.add(conversation)
        session.flush()
    flagged, findings = screening_of(screen, message.text)
    session.add(InteractionMessage(
        id=new_id("im"), conversation_id=conversation.id, account_id=place.account_id,
        platform=place.platform, direction="in", remote_id=message.remote_id,
        msg_type=message.msg_type[:16], text=message.text, author_name=message.author_name,
        flagged=flagged, screening=findings, created_at=message.created_at,
        received_at=utcnow()))
    _inbound(conversation, message.created_at, flagged)
    session.flush()
    return True


def reply_remote_id(comment: RemoteComment) -> str:
    return f"{comment.remote_id}:reply"


def is_duplicate(err: IntegrityError) -> bool:
    """A unique-key clash: another writer stored the same thing first."""
    text = str(err.orig).lower()
    return "unique" in text or "duplicate" in text


def _inbound(conversation: Any, at: datetime, flagged: bool) -> None:
    if conversation.first_inbound_at is None or at < conversation.first_inbound_at:
        conversation.first_inbound_at = at
    if conversation.last_inbound_at is None or at > conversation.last_inbound_at:
        conversation.last_inbound_at = at
    conversation.unread = True
    conversation.flagged = conversation.flagged or flagged
    if conversation.state in REOPENED_BY_INBOUND:
        conversation.state = "new"


def _outbound(conversation: Any, at: datetime) -> None:
    if conversation.first_reply_at is None or at < conversation.first_reply_at:
        conversation.first_reply_at = at
    if conversation.last_outbound_at is None or at > conversation.last_outbound_at:
        conversation.last_outbound_at = at
    if conversation.state in ("new", "assigned") and (
            conversation.last_inbound_at is None or at >= conversation.last_inbound_at):
        conversation.state = "replied"


def _known(session: Session, place: Place, remote_ids: list[str]) -> set[str]:
    if not remote_ids:
        return set()
    return set(session.scalars(select(InteractionMessage.remote_id).where(
        InteractionMessage.account_id == place.account_id,
        InteractionMessage.platform == place.platform,
        InteractionMessage.remote_id.in_(remote_ids))))


def _conversations(session: Session, account_id: str, kind: str,
                   keys: set[str]) -> dict[str, Conversation]:
    if not keys:
        return {}
    rows = session.scalars(select(Conversation).where(
        Conversation.account_id == account_id, Conversation.kind == kind,
        Conversation.thread_key.in_(list(keys))))
    return {row.thread_key: row for row in rows}
