"""The region tree: province, cities, counties and departments at any level."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_column, id_column

ORG_KINDS = ("province", "city", "county", "department")


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[str] = id_column()
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    # Materialised path of ids, "/<root>/<child>/.../<self>/": a subtree is one prefix scan.
    path: Mapped[str] = mapped_column(String(1200))
    depth: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = created_column()

    __table_args__ = (
        Index("ix_orgs_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )
