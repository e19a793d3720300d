"""Interaction (回应): comments under the posts yunchu published and users' messages to its
accounts, the replies to them, and how intake keeps its place.

A conversation is one platform comment thread (kind "comment") or one user's message session
with an account (kind "message"). Its messages are what was said in it, both ways; replies are
what editors write, with their review. Remote user ids (WeChat openid, Weibo uid, Douyin
open_id) are personal data: stored as the platform gives them, never written to logs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_column, id_column, utcnow

CONVERSATION_KINDS = ("comment", "message")
CONVERSATION_STATES = ("new", "assigned", "replied", "closed", "ignored")
# States an editor still owes an answer in: what the overdue counts and deadlines look at.
CONVERSATION_OPEN = ("new", "assigned")
MESSAGE_DIRECTIONS = ("in", "out")
REPLY_STATES = ("draft", "screened", "pending_approval", "approved", "sent", "failed", "refused")


def _open() -> str:
    return "state IN (" + ", ".join(f"'{s}'" for s in CONVERSATION_OPEN) + ")"


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))  # comment | message
    # The yunchu post a comment is under (NULL for messages, and for comments on posts
    # yunchu did not publish, should a platform push those).
    delivery_id: Mapped[str | None] = mapped_column(ForeignKey("deliveries.id"))
    item_id: Mapped[str | None] = mapped_column(ForeignKey("items.id"))
    # One conversation per thread: the platform comment's key (WeChat: "<msg_data_id>_<index>:
    # <user_comment_id>", comment ids there are per article) or the user's id for messages.
    thread_key: Mapped[str] = mapped_column(String(300))
    remote_post_id: Mapped[str | None] = mapped_column(String(200))
    remote_comment_id: Mapped[str | None] = mapped_column(String(200))
    remote_user_id: Mapped[str | None] = mapped_column(String(200))  # personal data: no logs
    author_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12), default="new")
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    deadline_at: Mapped[datetime | None]
    first_inbound_at: Mapped[datetime | None]
    first_reply_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    last_outbound_at: Mapped[datetime | None]
    unread: Mapped[bool] = mapped_column(default=True)
    # Some inbound text hit the negative list (likely spam or abuse): shown as such.
    flagged: Mapped[bool] = mapped_column(default=False)
    elected: Mapped[bool] = mapped_column(default=False)  # WeChat 精选
    hidden: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "kind", "thread_key"),
        # The inbox: an org's (or a subtree's orgs') conversations by state, newest first.
        Index("ix_conversations_org_state_last", "org_id", "state", "last_inbound_at"),
        Index("ix_conversations_account_state", "account_id", "state"),
        Index("ix_conversations_assignee_state", "assignee_id", "state",
              postgresql_where=text("assignee_id IS NOT NULL"),
              sqlite_where=text("assignee_id IS NOT NULL")),
        # Overdue counts and the deadline sort: only conversations still owed an answer.
        Index("ix_conversations_open_deadline", "org_id", "deadline_at",
              postgresql_where=text(_open()), sqlite_where=text(_open())),
        Index("ix_conversations_delivery", "delivery_id",
              postgresql_where=text("delivery_id IS NOT NULL"),
              sqlite_where=text("delivery_id IS NOT NULL")),
    )


class InteractionMessage(Base):
    """One thing said in a conversation: a user's comment or message (in), or the account's
    reply (out; made through yunchu, or seen on the platform when made elsewhere)."""

    __tablename__ = "interaction_messages"

    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    platform: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    # The platform's id of it: intake stores each once (unique per account and platform).
    remote_id: Mapped[str] = mapped_column(String(300))
    msg_type: Mapped[str] = mapped_column(String(16), default="text")  # text | image | event…
    text: Mapped[str] = mapped_column(Text, default="")
    author_name: Mapped[str | None] = mapped_column(String(200))
    reply_id: Mapped[str | None] = mapped_column(ForeignKey("replies.id"))
    flagged: Mapped[bool] = mapped_column(default=False)
    screening: Mapped[dict | None]  # the negative list's findings for inbound text
    created_at: Mapped[datetime]  # on the platform
    received_at: Mapped[datetime] = created_column()

    __table_args__ = (
        UniqueConstraint("account_id", "platform", "remote_id"),
        Index("ix_interaction_messages_conversation", "conversation_id", "created_at"),
    )


class Reply(Base):
    """What an editor writes to a conversation, from draft through review to the platform."""

    __tablename__ = "replies"

    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    screening: Mapped[dict | None]  # negative list and typo check findings
    reviewer_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(String(1000))
    sent_at: Mapped[datetime | None]
    remote_reply_id: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_replies_conversation_state", "conversation_id", "state"),)


class ReplyTemplate(Base):
    """常用回复: an org's canned reply text."""

    __tablename__ = "reply_templates"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InteractionSetting(Base):
    """An org's rules for answering (orgs have no settings place of their own). An org without
    a row takes its nearest ancestor's; none at all: the defaults in the columns."""

    __tablename__ = "interaction_settings"

    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    replies_need_approval: Mapped[bool] = mapped_column(default=False)
    # The deadline of a conversation: this many working days (Chinese public holidays
    # considered) after its first unanswered inbound message.
    deadline_working_days: Mapped[int] = mapped_column(default=3)
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CommentCursor(Base):
    """Where comment intake stands on one published post: the platform's cursor and when to
    look again. One row per delivery that is polled."""

    __tablename__ = "comment_cursors"

    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    platform: Mapped[str] = mapped_column(String(16))
    # What the platform's comment calls name the post by, when it is not the delivery's
    # remote_id (WeChat: "<msg_data_id>_<index>"), found on the first poll.
    post_key: Mapped[str | None] = mapped_column(String(300))
    cursor: Mapped[str | None] = mapped_column(String(300))
    seen: Mapped[int] = mapped_column(default=0)  # comments taken in so far
    polled_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_comment_cursors_next_poll", "next_poll_at"),)
