"""Fan-out state: dispatches, deliveries (the unit of work), withdrawals, matrices, tasks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..fanout.vocabulary import DeliveryState
from .base import Base, created_column, id_column, utcnow

# Publish phase, then withdraw phase. A delivery row carries its whole life.
_S = DeliveryState
PUBLISH_OPEN = (_S.SCHEDULED, _S.QUEUED, _S.SENDING, _S.RETRY)
LIVE = (_S.PUBLISHED, _S.PENDING_REVIEW)
PUBLISH_DONE = (_S.PUBLISHED, _S.PENDING_REVIEW, _S.FAILED, _S.CANCELLED, _S.SKIPPED)
WITHDRAW_OPEN = (_S.WITHDRAW_QUEUED, _S.WITHDRAWING, _S.WITHDRAW_RETRY, _S.MANUAL)
WITHDRAW_DONE = (_S.WITHDRAWN,)
# "unknown" was a state once and is never written any more. The API still counts it (always
# 0) and accepts it as a filter, and the partial index below still names it: neither the API
# nor the schema changes.
RETIRED_STATES = ("unknown",)
DELIVERY_STATES = PUBLISH_OPEN + RETIRED_STATES + PUBLISH_DONE + WITHDRAW_OPEN + WITHDRAW_DONE
# States something still happens to (sent, retried, polled, withdrawn): what the reconciler
# and the status poll look rows up by. Rows at rest (published, failed, cancelled, skipped,
# withdrawn) are left out of that index, so moving a row to rest costs it no index entry.
STATES_IN_MOTION = PUBLISH_OPEN + RETIRED_STATES + (_S.PENDING_REVIEW,) + WITHDRAW_OPEN


def _in_motion() -> str:
    return "state IN (" + ", ".join(f"'{s}'" for s in STATES_IN_MOTION) + ")"


class Dispatch(Base):
    __tablename__ = "dispatches"

    id: Mapped[str] = id_column()
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    version: Mapped[int]
    targets: Mapped[dict] = mapped_column(default=dict)
    total: Mapped[int] = mapped_column(default=0)
    # Failed or skipped rows a later push of the same item took over: they left ``total``
    # and count in that push's dispatch now.
    repushed: Mapped[int] = mapped_column(default=0, server_default="0")
    schedule_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = created_column()
    finished_at: Mapped[datetime | None]


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[str] = id_column()
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    dispatch_id: Mapped[str] = mapped_column(ForeignKey("dispatches.id"))
    withdrawal_id: Mapped[str | None] = mapped_column(String(40))
    platform: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    state: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)  # claims, interrupted ones included
    # Claims lost with their worker (lease expired): they do not use up the retry budget,
    # which is for the platform's errors, but are capped on their own (a batch that kills
    # its worker every time must end).
    interrupted: Mapped[int] = mapped_column(default=0, server_default="0")
    # Attempts that failed on a transient error (vocabulary.Cause): they are retried for
    # YUNCHU_TRANSIENT_RETRY_S from the first of them (``transient_since``), and do not use up
    # the attempt limit, which is for the other errors.
    transient: Mapped[int] = mapped_column(default=0, server_default="0")
    transient_since: Mapped[datetime | None]
    # Set when a send may have reached the platform without an answer (timeout, crash):
    # the next attempt asks the platform first, so a crash never doubles a post.
    needs_lookup: Mapped[bool] = mapped_column(default=False)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[datetime | None]
    remote_id: Mapped[str | None] = mapped_column(String(200))
    remote_url: Mapped[str | None] = mapped_column(String(1000))
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]

    # Every state change is a new row version with an entry in every index that covers it
    # (none of them can be HOT: `state` is indexed), so the indexes are few and partial
    # where they can be. No index on account_id: nothing looks deliveries up by account.
    __table_args__ = (
        UniqueConstraint("item_id", "account_id"),
        Index("ix_deliveries_dispatch_state", "dispatch_id", "state"),
        Index("ix_deliveries_withdrawal_state", "withdrawal_id", "state",
              postgresql_where=text("withdrawal_id IS NOT NULL"),
              sqlite_where=text("withdrawal_id IS NOT NULL")),
        Index("ix_deliveries_state_due", "state", "next_attempt_at",
              postgresql_where=text(_in_motion()), sqlite_where=text(_in_motion())),
        # A platform's "publish finished" event names the post by its platform id. One
        # entry per post that enters review, none for any later row version.
        Index("ix_deliveries_pending_remote", "remote_id",
              postgresql_where=text("state = 'pending_review'"),
              sqlite_where=text("state = 'pending_review'")),
    )


class DeliveryAttempt(Base):
    """Append-only history: one row per call made for a delivery."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # No foreign key: deliveries are never deleted, and checking it cost PostgreSQL a lookup
    # and a row lock per attempt, in every outcome flush (migration 0017).
    delivery_id: Mapped[str] = mapped_column(String(40), index=True)
    action: Mapped[str] = mapped_column(String(16))  # publish | withdraw | lookup | status
    worker: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(1000))
    at: Mapped[datetime] = created_column()


class Withdrawal(Base):
    __tablename__ = "withdrawals"

    id: Mapped[str] = id_column()
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), index=True)
    reason: Mapped[str] = mapped_column(String(1000))
    total: Mapped[int] = mapped_column(default=0)
    item_ids: Mapped[list] = mapped_column(default=list)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = created_column()
    finished_at: Mapped[datetime | None]
    # The org subtree it covers (None: everywhere), and when every removal it owes was
    # queued. The click queues the posts at rest in slices after its own transaction (see
    # ``fanout.withdraw``); until ``queued_at`` is set the reconciler may finish the slicing.
    scope_path: Mapped[str | None] = mapped_column(String(1000))
    queued_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_withdrawals_unqueued", "created_at",
              postgresql_where=text("queued_at IS NULL"), sqlite_where=text("queued_at IS NULL")),
    )


class Matrix(Base):
    """A named cross-org group of accounts (e.g. 交通微矩阵)."""

    __tablename__ = "matrices"

    id: Mapped[str] = id_column()
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"))
    orgs: Mapped[list] = mapped_column(default=list)  # org slugs whose subtrees are members
    platforms: Mapped[list] = mapped_column(default=list)  # empty: all platforms
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MatrixAccount(Base):
    __tablename__ = "matrix_accounts"

    matrix_id: Mapped[str] = mapped_column(ForeignKey("matrices.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)


class Task(Base):
    """A manual action owed by an org, e.g. deleting a post a platform cannot delete by API."""

    __tablename__ = "tasks"

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    item_id: Mapped[str | None] = mapped_column(ForeignKey("items.id"))
    delivery_id: Mapped[str | None] = mapped_column(ForeignKey("deliveries.id"))
    state: Mapped[str] = mapped_column(String(8), default="open")
    title: Mapped[str] = mapped_column(String(500))
    detail: Mapped[str] = mapped_column(String(2000), default="")
    deadline: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = created_column()
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(40))

    # A withdrawal's progress counts its open tasks by item.
    __table_args__ = (UniqueConstraint("delivery_id", "kind"),
                      Index("ix_tasks_item_state", "item_id", "state"))
