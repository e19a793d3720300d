"""WeChat users' messages pushed to the hub (消息服务器), once verified and decrypted by the
web layer: stored as messages in the user's conversation with the account (store.py).

Only users' messages are taken (text, image, voice, video, shortvideo, location, link);
events (subscribe, menu clicks, PUBLISHJOBFINISH…) are not messages and are left to others.
A message is keyed by its ``MsgId``; WeChat resends one it thinks went unanswered, and the
resend adds nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from adapters.base import RemoteMessage

from ...infra.runtime import Runtime
from ...models import Account
from .store import Place, is_duplicate, take_message

USER_MESSAGE_TYPES = ("text", "image", "voice", "video", "shortvideo", "location", "link")


def is_user_message(event: dict[str, Any]) -> bool:
    return event.get("MsgType") in USER_MESSAGE_TYPES


def remote_message(event: dict[str, Any]) -> RemoteMessage | None:
    """The message in a pushed XML's fields; None when it names no user."""
    user = (event.get("FromUserName") or "").strip()
    if not user:
        return None
    kind = event.get("MsgType") or "text"
    try:
        at = datetime.fromtimestamp(int(event.get("CreateTime") or 0), UTC)
    except (TypeError, ValueError, OverflowError):
        at = datetime.now(UTC)
    remote_id = (event.get("MsgId") or event.get("MsgID") or "").strip() \
        or f"{user}:{event.get('CreateTime', '')}"
    return RemoteMessage(remote_id=remote_id[:300], user_id=user[:200], msg_type=kind,
                         text=_text_of(kind, event)[:5000], created_at=at)


def _text_of(kind: str, event: dict[str, Any]) -> str:
    if kind == "text":
        return event.get("Content") or ""
    if kind == "image":
        return f"[图片] {event.get('PicUrl') or ''}".strip()
    if kind == "voice":
        return f"[语音] {event.get('Recognition') or ''}".strip()
    if kind in ("video", "shortvideo"):
        return "[视频]"
    if kind == "location":
        return f"[位置] {event.get('Label') or ''}".strip()
    if kind == "link":
        return f"[链接] {event.get('Title') or ''} {event.get('Url') or ''}".strip()
    return f"[{kind}]"


def receive(runtime: Runtime, account_id: str, event: dict[str, Any]) -> bool:
    """Store one pushed user message for the account; False when already stored (or not a
    message from a user)."""
    message = remote_message(event)
    if message is None:
        return False
    with runtime.db.session() as session:
        org_id = session.scalar(select(Account.org_id).where(Account.id == account_id))
    if org_id is None:
        return False
    place = Place(org_id=org_id, account_id=account_id, platform="wechat")
    try:
        with runtime.db.session() as session:
            return take_message(session, place, message)
    except IntegrityError as err:  # the same message stored by a concurrent resend
        if not is_duplicate(err):
            raise
        return False
