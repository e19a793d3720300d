"""Platform accounts and the ledger (统一台账) facts about them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_column, id_column, utcnow

ACCOUNT_STATUSES = ("active", "suspended", "closed")
# How the hub holds an account's access: its own secrets typed in ("secret"), delegated by the
# WeChat 第三方平台 ("component"), or an OAuth grant by the account holder ("oauth").
AUTH_MODES = ("secret", "component", "oauth")
# Whether that access works. "expiring" is not stored: it is auth_expires_at within a window.
AUTH_STATES = ("authorized", "expired", "revoked", "insufficient")


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
    # Authorisation health (token health view). Tokens themselves live in credentials_sealed.
    auth_mode: Mapped[str] = mapped_column(String(16), default="secret", server_default="secret")
    auth_state: Mapped[str] = mapped_column(String(16), default="authorized",
                                            server_default="authorized")
    # When the access stops working unless its holder acts (Weibo token expiry, the end of a
    # Douyin refresh chain); NULL when it does not expire (own secrets, WeChat component).
    auth_expires_at: Mapped[datetime | None]
    # When the current access token expires (refreshed by the hub without the holder).
    auth_token_expires_at: Mapped[datetime | None]
    auth_refreshed_at: Mapped[datetime | None]
    auth_renewals: Mapped[int] = mapped_column(default=0, server_default="0")
    auth_scopes: Mapped[list | None]  # granted scopes (OAuth) or func-set ids (component)
    auth_missing: Mapped[list | None]  # capabilities the hub needs that were not granted
    auth_error: Mapped[str | None] = mapped_column(String(500))
    auth_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("org_id", "platform", "name"),
        Index("ix_accounts_platform_status", "platform", "status"),
        Index("ix_accounts_auth_state", "auth_state"),
        Index("ix_accounts_auth_expires_at", "auth_expires_at"),
    )


AUTHORIZATION_STATUSES = ("pending", "claimed", "completed", "denied", "expired", "failed")


class Authorization(Base):
    """One onboarding attempt (扫码授权): started by a user for an org, completed when the
    platform sends the holder back (OAuth ``state``) or pushes the event (WeChat pre-auth code)."""

    __tablename__ = "authorizations"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    platform: Mapped[str] = mapped_column(String(16))
    # Re-authorisation: the account it must come back as. On completion: the account bound.
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    started_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    # HMAC of the correlation secret (OAuth state, WeChat pre_auth_code): found without
    # storing the secret itself.
    correlation_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(String(500))
    identity: Mapped[str | None] = mapped_column(String(200))  # uid / open_id / appid
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_authorizations_org_status", "org_id", "status"),)


class PlatformSecret(Base):
    """A hub-wide value a platform pushes or issues and every process needs, sealed at rest
    (e.g. the WeChat component_verify_ticket, which cannot be fetched on demand)."""

    __tablename__ = "platform_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
