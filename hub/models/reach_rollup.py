"""Reach rollups: a ranking period's totals, built from ``reach_post_days`` once and read by
every ranking of that period (hub/services/reach/rollup.py).

A period's ranking, hot articles and item reach over 10,000 accounts group one or two
monthly partitions by post (1.5 M rows a month at 5 posts a day): seconds, not the
sub-second a ranking page needs. The rollups hold that work's result, per period
(``kind`` week|month, ``start``):

``reach_period_accounts`` — one row per account with figures: posts, sums, each figure's
best single post (the index's ``*_max``), and the account's 传播力 index computed from them
when the rollup was built (``reach_index``, with the ``index_version`` and ``index_formula``
it was computed with; migration 0016). A subtree's ranking reads its accounts' rows (≤ 10,000
a period) and their stored indices; a row whose version is not the current one (or NULL) has
its index computed on the fly.

``reach_period_items`` — per pushed item, org and platform: accounts and sums, so an item's
reach by city and platform in any subtree is a small GROUP BY.

``reach_period_item_totals`` — per pushed item and platform over the whole province
(migration 0016): the province's most read items are a GROUP BY over a few hundred rows, not
over every (item, org, platform) row of the period; a subtree's read ``reach_period_items``.

``reach_period_hot`` — per org and platform, that org's ``HOT_PER_ORG`` most read posts of
the period. A subtree's top N (N ≤ HOT_PER_ORG) is always inside the union of its orgs' top
N, so hot articles are exact for any subtree.

``reach_rollup_periods`` — when each period was built. A period whose posts can still gain
figures is rebuilt when older than ``YUNCHU_REACH_ROLLUP_MAX_AGE_S``; one that ended more than
the collection window ago is final.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

HOT_PER_ORG = 10


def _figure() -> Mapped[int]:
    return mapped_column(Integer, default=0, server_default="0")


class RollupPeriod(Base):
    __tablename__ = "reach_rollup_periods"

    kind: Mapped[str] = mapped_column(String(8))
    start: Mapped[date] = mapped_column(Date)
    refreshed_at: Mapped[datetime]
    __table_args__ = (PrimaryKeyConstraint("kind", "start"),)


class PeriodAccount(Base):
    __tablename__ = "reach_period_accounts"

    kind: Mapped[str] = mapped_column(String(8))
    start: Mapped[date] = mapped_column(Date)
    account_id: Mapped[str] = mapped_column(String(40))
    org_id: Mapped[str] = mapped_column(String(40))
    platform: Mapped[str] = mapped_column(String(16))
    posts: Mapped[int] = _figure()
    reads: Mapped[int] = _figure()
    likes: Mapped[int] = _figure()
    shares: Mapped[int] = _figure()
    comments: Mapped[int] = _figure()
    plays: Mapped[int] = _figure()
    max_reads: Mapped[int] = _figure()
    max_likes: Mapped[int] = _figure()
    max_shares: Mapped[int] = _figure()
    max_comments: Mapped[int] = _figure()
    max_plays: Mapped[int] = _figure()
    reach_index: Mapped[float | None] = mapped_column(Float)
    index_version: Mapped[str | None] = mapped_column(String(16))
    index_formula: Mapped[str | None] = mapped_column(String(40))
    __table_args__ = (
        PrimaryKeyConstraint("kind", "start", "account_id"),
        Index("ix_reach_period_accounts_platform_org", "kind", "start", "platform", "org_id"),
    )


class PeriodItem(Base):
    __tablename__ = "reach_period_items"

    kind: Mapped[str] = mapped_column(String(8))
    start: Mapped[date] = mapped_column(Date)
    item_id: Mapped[str] = mapped_column(String(40))
    org_id: Mapped[str] = mapped_column(String(40))
    platform: Mapped[str] = mapped_column(String(16))
    accounts: Mapped[int] = _figure()
    reads: Mapped[int] = _figure()
    likes: Mapped[int] = _figure()
    shares: Mapped[int] = _figure()
    comments: Mapped[int] = _figure()
    plays: Mapped[int] = _figure()
    __table_args__ = (
        PrimaryKeyConstraint("kind", "start", "item_id", "org_id", "platform"),
        Index("ix_reach_period_items_org", "kind", "start", "org_id"),
    )


class PeriodItemTotal(Base):
    __tablename__ = "reach_period_item_totals"

    kind: Mapped[str] = mapped_column(String(8))
    start: Mapped[date] = mapped_column(Date)
    item_id: Mapped[str] = mapped_column(String(40))
    platform: Mapped[str] = mapped_column(String(16))
    reads: Mapped[int] = _figure()
    plays: Mapped[int] = _figure()
    __table_args__ = (PrimaryKeyConstraint("kind", "start", "item_id", "platform"),)


class PeriodHot(Base):
    __tablename__ = "reach_period_hot"

    kind: Mapped[str] = mapped_column(String(8))
    start: Mapped[date] = mapped_column(Date)
    post_id: Mapped[str] = mapped_column(String(40))
    org_id: Mapped[str] = mapped_column(String(40))
    platform: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(40))
    item_id: Mapped[str | None] = mapped_column(String(40))
    external_post_id: Mapped[str | None] = mapped_column(String(40))
    delivery_id: Mapped[str | None] = mapped_column(String(40))
    reads: Mapped[int] = _figure()
    likes: Mapped[int] = _figure()
    shares: Mapped[int] = _figure()
    comments: Mapped[int] = _figure()
    plays: Mapped[int] = _figure()
    __table_args__ = (
        PrimaryKeyConstraint("kind", "start", "post_id"),
        Index("ix_reach_period_hot_org", "kind", "start", "org_id"),
    )
