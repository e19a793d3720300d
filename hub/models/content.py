"""Items, their immutable versions, and media assets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_column, id_column, utcnow

ITEM_KINDS = ("article", "video")
ITEM_STATUSES = ("draft", "in_review", "approved", "withdrawn")


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[str] = id_column()
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(100))
    bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None]
    height: Mapped[int | None]
    duration_s: Mapped[float | None] = mapped_column(Float)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"))
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = created_column()


class Item(Base):
    __tablename__ = "items"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(default=1)
    # The version three reviewers approved (None until then); push sends this one.
    approved_version: Mapped[int | None]
    shared_to_library: Mapped[bool] = mapped_column(default=False)
    # Lineage for pulled items: origin = the library item it was pulled from,
    # root = the first item of the chain (withdrawing the root reaches every copy).
    origin_id: Mapped[str | None] = mapped_column(ForeignKey("items.id"), index=True)
    root_id: Mapped[str | None] = mapped_column(String(40), index=True)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    approved_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    withdraw_reason: Mapped[str | None] = mapped_column(String(1000))

    __table_args__ = (Index("ix_items_status_updated", "status", "updated_at"),)


class ItemVersion(Base):
    """One immutable snapshot of an item's content; edits add a row, never change one."""

    __tablename__ = "item_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(String(1000))
    author: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200))
    tags: Mapped[list] = mapped_column(default=list)
    cover_asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"))
    asset_ids: Mapped[list] = mapped_column(default=list)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = created_column()

    __table_args__ = (UniqueConstraint("item_id", "version"),)
