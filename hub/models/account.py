"""Platform accounts and the ledger (统一台账) facts about them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_column, id_column, utcnow

ACCOUNT_STATUSES = ("active", "suspended", "closed")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    # Platform-side identity (appid, uid, open_id, app) when known: not a secret.
    external_id: Mapped[str | None] = mapped_column(String(200))
    # HMAC of that identity (services/account_identity.py): one account per identity, over
    # every org. NULL when the credentials do not reveal it.
    identity_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    api_base: Mapped[str | None] = mapped_column(String(500))
    credentials_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    credentials_updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Ledger (备案) fields.
    responsible_person: Mapped[str | None] = mapped_column(String(100))
    chief_editor: Mapped[str | None] = mapped_column(String(100))
    managing_department: Mapped[str | None] = mapped_column(String(200))
    filing_number: Mapped[str | None] = mapped_column(String(100))
    filing_date: Mapped[date | None] = mapped_column(Date)
    # Set when the platform rejected the credentials for good: no more sends until fixed.
    flagged_reason: Mapped[str | None] = mapped_column(String(500))
    flagged_at: Mapped[datetime | None]
    last_published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("org_id", "platform", "name"),
        Index("ix_accounts_platform_status", "platform", "status"),
    )
