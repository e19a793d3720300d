"""Users, their API tokens and review decisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_column, id_column

ROLES = ("admin", "editor", "reviewer", "operator", "auditor")


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = id_column()
    org_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    roles: Mapped[list] = mapped_column(default=list)
    review_stage: Mapped[int | None]
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(default=False)
    # Who could act as this user: their creator (who got the first token), or whoever last
    # appointed them reviewer or set their password. None: the CLI or the bootstrap.
    sponsor_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = created_column()


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 (tokens are 256-bit random: no slow hash needed)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = created_column()
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[str] = id_column()
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"))
    version: Mapped[int]
    stage: Mapped[int]
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(String(2000), default="")
    override_reason: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = created_column()

    __table_args__ = (Index("ix_reviews_item_version", "item_id", "version"),)
