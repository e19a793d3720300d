"""Append-only, keyed-chain audit log and the versioned negative list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_column


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = created_column()
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_name: Mapped[str | None] = mapped_column(String(100))
    org_id: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(200))
    item_id: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(16))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))  # the MAC (legacy rows: a plain SHA-256)
    # Which audit key made the MAC (a fingerprint, not the key); NULL: a row from before keying.
    key_id: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        Index("ix_audit_actor", "actor_id"),
        Index("ix_audit_item", "item_id"),
        Index("ix_audit_at", "at"),
    )


class SafetyList(Base):
    __tablename__ = "safety_lists"

    version: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[list] = mapped_column(default=list)
    canonical_names: Mapped[list] = mapped_column(default=list)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = created_column()
