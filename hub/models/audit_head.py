"""The audit chain's head: the last entry's id and hash and the entry count, updated in the
same transaction as every append, so removing the newest entries is detected too."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class AuditHead(Base):
    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    last_id: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int]
