"""Sending an approved reply, and 精选 / hiding a comment, on the worker (maintenance queue:
a worker takes it only when no withdrawal or push waits).

The platform rules are checked once more right before the call (a second reply to a WeChat
comment may have been approved meanwhile): what fails them is refused without a call. A sent
reply becomes an outbound message of its conversation (for WeChat comments under the id intake
gives the reply it reads back, so it is stored once), answers the conversation, and is audited
with its author and reviewer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select

from adapters.base import (
    AdapterError,
    PostRef,
    RateLimited,
    Retryable,
    SentReply,
    Unsupported,
)

from ...errors import ApiError
from ...fanout.executor import Executor
from ...infra.ids import new_id
from ...models import Conversation, Delivery, InteractionMessage, Reply, utcnow
from ...security.audit import record
from .replies import check_platform_rules

log = logging.getLogger("yunchu.interaction")

MODERATIONS = ("elect", "unelect", "hide")
MAX_TRIES = 3  # transient failures of one reply before it is marked failed
TRIES_KEY = "yunchu:reply:tries:{}"


async def _tries(executor: Executor, reply_id: str) -> int:
    key = TRIES_KEY.format(reply_id)
    assert executor.redis is not None
    tries = int(await executor.redis.incr(key))
    await executor.redis.expire(key, 86400)
    return tries


async def send(executor: Executor, reply_id: str) -> dict[str, Any]:
    plan = await asyncio.to_thread(_prepare, executor, reply_id)
    if "skip" in plan:
        return plan
    adapter = executor.adapters[plan["platform"]]
    try:
        if plan["kind"] == "comment":
            sent: SentReply = await adapter.reply_comment(plan["ref"], plan["post"],
                                                          plan["comment_id"], plan["text"])
        else:
            sent = await adapter.send_message(plan["ref"], plan["user_id"], plan["text"])
    except NotImplementedError as missing:  # an adapter without this call yet: say so
        err = Unsupported(f"该平台暂不支持此操作 (not implemented: {missing})")
        await asyncio.to_thread(_failed, executor, reply_id, err, False)
        return {"reply": reply_id, "state": "failed", "error": err.reason[:200]}
    except AdapterError as err:
        retry = isinstance(err, Retryable | RateLimited) and not err.sent \
            and await _tries(executor, reply_id) < MAX_TRIES
        await asyncio.to_thread(_failed, executor, reply_id, err, retry)
        return {"reply": reply_id, "state": "approved" if retry else "failed",
                "error": err.reason[:200]}
    await asyncio.to_thread(_sent, executor, reply_id, sent)
    return {"reply": reply_id, "state": "sent"}


def _prepare(executor: Executor, reply_id: str) -> dict[str, Any]:
    from ...fanout.claims import accounts_of

    with executor.runtime.db.session() as session:
        reply = session.get(Reply, reply_id, with_for_update=True)
        if reply is None or reply.state != "approved":
            return {"skip": "not approved", "reply": reply_id}
        conversation = session.get(Conversation, reply.conversation_id)
        assert conversation is not None
        try:
            check_platform_rules(session, conversation, reply.text, replacing=reply.id)
        except ApiError as err:  # refused before any call
            reply.state, reply.error = "refused", str(err.message)[:1000]
            record(session, "reply.refused", target=reply.id, org_id=conversation.org_id,
                   actor_id=reply.author_id, anonymous=True,
                   details={"conversation": conversation.id, "code": err.code})
            return {"skip": err.code, "reply": reply_id}
        account = accounts_of(session, [conversation.account_id]).get(conversation.account_id)
        ref = executor.ref_of(account) if account is not None else None
        if ref is None:
            reply.state, reply.error = "failed", "账号凭据不可用 (the account's credentials " \
                                                 "cannot be read)"
            return {"skip": "credentials", "reply": reply_id}
        post = _post_ref(session, conversation)
        return {"platform": conversation.platform, "kind": conversation.kind, "ref": ref,
                "post": post, "comment_id": conversation.remote_comment_id,
                "user_id": conversation.remote_user_id, "text": reply.text}


def _post_ref(session: Any, conversation: Conversation) -> PostRef | None:
    if conversation.delivery_id is None:
        return None
    delivery = session.get(Delivery, conversation.delivery_id)
    if delivery is None or delivery.remote_id is None:
        return None
    return PostRef(delivery.remote_id, delivery.remote_url, conversation.remote_post_id
                   if conversation.platform == "wechat" else None)


def _sent(executor: Executor, reply_id: str, sent: SentReply) -> None:
    with executor.runtime.db.session() as session:
        reply = session.get(Reply, reply_id, with_for_update=True)
        assert reply is not None
        conversation = session.get(Conversation, reply.conversation_id, with_for_update=True)
        assert conversation is not None
        now = utcnow()
        reply.state, reply.sent_at, reply.error = "sent", now, None
        # Never before what it answers (the platform's clock may run ahead of ours).
        said_at = max(now, conversation.last_inbound_at or now)
        reply.remote_reply_id = sent.remote_id
        remote_id = outbound_remote_id(conversation, reply, sent)
        known = session.scalar(select(InteractionMessage.id).where(
            InteractionMessage.account_id == conversation.account_id,
            InteractionMessage.platform == conversation.platform,
            InteractionMessage.remote_id == remote_id))
        if known is None:
            session.add(InteractionMessage(
                id=new_id("im"), conversation_id=conversation.id,
                account_id=conversation.account_id, platform=conversation.platform,
                direction="out", remote_id=remote_id, msg_type="text", text=reply.text,
                reply_id=reply.id, flagged=False, created_at=said_at, received_at=now))
        if conversation.first_reply_at is None:
            conversation.first_reply_at = said_at
        conversation.last_outbound_at = said_at
        if conversation.state in ("new", "assigned"):
            conversation.state = "replied"
        conversation.deadline_at = None
        record(session, "reply.sent", target=reply.id, org_id=conversation.org_id,
               actor_id=reply.author_id, anonymous=True,
               details={"conversation": conversation.id, "account": conversation.account_id,
                        "platform": conversation.platform, "author": reply.author_id,
                        "reviewer": reply.reviewer_id, "remote_id": sent.remote_id})


def outbound_remote_id(conversation: Conversation, reply: Reply, sent: SentReply) -> str:
    """The id intake would give this reply when it reads it back from the platform."""
    if conversation.platform == "wechat" and conversation.kind == "comment":
        return f"{conversation.thread_key}:reply"  # store.reply_remote_id's form
    return sent.remote_id or f"reply:{reply.id}"


def _failed(executor: Executor, reply_id: str, err: AdapterError, retry: bool) -> None:
    with executor.runtime.db.session() as session:
        reply = session.get(Reply, reply_id, with_for_update=True)
        if reply is None:
            return
        conversation = session.get(Conversation, reply.conversation_id)
        reply.error = err.reason[:1000]
        if not retry:
            reply.state = "failed"
        record(session, "reply.failed", outcome="error", target=reply.id,
               org_id=conversation.org_id if conversation else None, actor_id=reply.author_id,
               anonymous=True, details={"code": err.code, "kind": err.kind, "retry": retry})
    if retry:  # transient: queued again (the job ends; a later worker pass sends it)
        from .replies import queue_send

        queue_send(executor.runtime.redis, reply_id)


async def moderate(executor: Executor, conversation_id: str, action: str) -> dict[str, Any]:
    """精选 on/off or hide (delete) the comment of a conversation, where the platform allows."""
    plan = await asyncio.to_thread(_moderation_plan, executor, conversation_id)
    if plan is None:
        return {"conversation": conversation_id, "skip": True}
    adapter = executor.adapters[plan["platform"]]
    try:
        if action == "hide":
            await adapter.hide_comment(plan["ref"], plan["post"], plan["comment_id"])
        else:
            await adapter.elect_comment(plan["ref"], plan["post"], plan["comment_id"],
                                        action == "elect")
    except NotImplementedError as missing:
        err = Unsupported(f"该平台暂不支持此操作 (not implemented: {missing})")
        await asyncio.to_thread(_moderation_done, executor, conversation_id, action, err)
        return {"conversation": conversation_id, "error": err.reason[:200]}
    except AdapterError as err:
        await asyncio.to_thread(_moderation_done, executor, conversation_id, action, err)
        return {"conversation": conversation_id, "error": err.reason[:200]}
    await asyncio.to_thread(_moderation_done, executor, conversation_id, action, None)
    return {"conversation": conversation_id, "done": action}


def _moderation_plan(executor: Executor, conversation_id: str) -> dict[str, Any] | None:
    from ...fanout.claims import accounts_of

    with executor.runtime.db.session() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or conversation.kind != "comment":
            return None
        account = accounts_of(session, [conversation.account_id]).get(conversation.account_id)
        ref = executor.ref_of(account) if account is not None else None
        post = _post_ref(session, conversation)
        if ref is None or post is None:
            return None
        return {"platform": conversation.platform, "ref": ref, "post": post,
                "comment_id": conversation.remote_comment_id}


def _moderation_done(executor: Executor, conversation_id: str, action: str,
                     err: AdapterError | None) -> None:
    with executor.runtime.db.session() as session:
        conversation = session.get(Conversation, conversation_id, with_for_update=True)
        if conversation is None:
            return
        if err is None:
            if action == "hide":
                conversation.hidden = True
            else:
                conversation.elected = action == "elect"
        record(session, f"conversation.{action}", outcome="ok" if err is None else "error",
               target=conversation.id, org_id=conversation.org_id, anonymous=True,
               details={"account": conversation.account_id,
                        **({"error": err.reason[:300], "code": err.code} if err else {})})
