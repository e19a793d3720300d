"""Reach (传播): the platforms' daily figures per post and per account, and the posts that
accounts made outside yunchu.

Three tables.

``reach_post_days`` — one row per post per day on which its figures changed. A *post* is
either a yunchu delivery (``delivery_id`` set, ``item_id`` set) or a post the account made
directly on the platform (``external_post_id`` set, ``item_id`` NULL); ``post_id`` is
whichever of the two ids is set, so every post's days are keyed (post_id, day) and per
account totals and hot articles over both kinds are one GROUP BY on one table. Figures are
**per-day increments**: what the post gained on that calendar day (Asia/Shanghai, the day
the platforms report in), never cumulative. A period's total is ``SUM`` over its days and
"change against the previous period" is the same sum over the previous range; a missing row
means nothing changed that day. Platforms that only report running totals (Weibo
``statuses/count``, Douyin's ``item/base``) are turned into increments by the collector
(running total minus the post's earlier rows). ``final`` is False while the platform says
the day is not complete (WeChat ``is_delay``): the collector asks again and overwrites it.
Rows stop at the post's withdrawal: no row is written for a day after ``withdrawn_at``.

``reach_account_days`` — one row per account per day: ``followers`` at the end of the day
(NULL when the platform gives none), ``followers_gained``/``followers_lost`` that day,
``posts`` made that day (yunchu's and the account's own), and the account's reads, likes,
shares, comments, plays that day — the platform's account-level figures where it has them
(WeChat ``getbizsummary``), else the sum of that day's post increments. Rankings per
account read this table; hot articles read ``reach_post_days``.

``reach_external_posts`` — posts listed by the platform (freepublish/batchget,
user_timeline, video/list) that are not a yunchu delivery, unique per (account, remote_id).

Sizing: 10,000 accounts × 5 posts a day × 400 days is 20 M posts. A post is collected for
at most ``POST_WINDOW_DAYS`` days (WeChat's getarticletotaldetail and Douyin's item data
stop at 30 days; reads have flattened long before) and only days with a change are stored,
so ``reach_post_days`` holds at most ~45 M rows a month, ~600 M over 400 days. On
PostgreSQL it is RANGE-partitioned by ``day`` into monthly partitions
(``reach_post_days_pYYYYMM``): a period query touches one or two partitions, and an old
month is dropped (or detached to a rollup) in one statement. Migration 0012 creates the
partitions from 13 months back to 3 months ahead; the collector creates the month it is
about to write when it is missing (``partition_ddl``). There is no default partition, so a
missing month is an error, not a slow scan. ``reach_account_days`` is 4 M rows over 400
days and ``reach_external_posts`` at most 20 M: plain tables. SQLite (embedded, one county)
keeps all three as plain tables.

Subtree queries: rows carry ``org_id`` (the account's org when collected); an org subtree
is the org ids under a path prefix (``orgs.path``), so the indexes lead with
(org_id, day, platform).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, id_column, utcnow

# Days after publication a post's figures are collected (the platforms' own windows).
POST_WINDOW_DAYS = 30
# The per-day figures every post and account row carries.
FIGURES = ("reads", "likes", "shares", "comments", "plays")
POST_DAYS = "reach_post_days"
PARTITION_PREFIX = POST_DAYS + "_p"


def _figure() -> Mapped[int]:
    return mapped_column(Integer, default=0, server_default="0")


class ExternalPost(Base):
    """A post an account made directly on the platform, outside yunchu."""

    __tablename__ = "reach_external_posts"

    id: Mapped[str] = id_column()
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    org_id: Mapped[str] = mapped_column(String(40))
    platform: Mapped[str] = mapped_column(String(16))
    remote_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(1000))
    published_at: Mapped[datetime]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "remote_id"),
        Index("ix_reach_external_posts_account_published", "account_id", "published_at"),
        Index("ix_reach_external_posts_org_published", "org_id", "published_at"),
    )


class PostDay(Base):
    """One post's figures gained on one day (increments, not running totals)."""

    __tablename__ = POST_DAYS

    post_id: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    delivery_id: Mapped[str | None] = mapped_column(String(40))
    external_post_id: Mapped[str | None] = mapped_column(String(40))
    item_id: Mapped[str | None] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(40))
    org_id: Mapped[str] = mapped_column(String(40))
    platform: Mapped[str] = mapped_column(String(16))
    reads: Mapped[int] = _figure()
    likes: Mapped[int] = _figure()  # 在看 + 点赞 on WeChat, 赞 on Weibo, 点赞 on Douyin
    shares: Mapped[int] = _figure()
    comments: Mapped[int] = _figure()
    plays: Mapped[int] = _figure()  # video plays (Douyin, city-app video)
    final: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    collected_at: Mapped[datetime] = mapped_column(default=utcnow)

    # No foreign keys: rows outlive nothing they point at (deliveries are never deleted) and
    # a partitioned table's foreign keys cost a lookup per inserted row.
    __table_args__ = (
        PrimaryKeyConstraint("post_id", "day"),
        Index("ix_reach_post_days_org_day", "org_id", "day", "platform"),
        Index("ix_reach_post_days_account_day", "account_id", "day"),
        Index("ix_reach_post_days_item_day", "item_id", "day",
              postgresql_where=text("item_id IS NOT NULL"),
              sqlite_where=text("item_id IS NOT NULL")),
        {"postgresql_partition_by": "RANGE (day)"},
    )


class AccountDay(Base):
    """One account's figures on one day."""

    __tablename__ = "reach_account_days"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    day: Mapped[date] = mapped_column(Date)
    org_id: Mapped[str] = mapped_column(String(40))
    platform: Mapped[str] = mapped_column(String(16))
    followers: Mapped[int | None] = mapped_column(Integer)  # at the end of the day
    followers_gained: Mapped[int] = _figure()
    followers_lost: Mapped[int] = _figure()
    posts: Mapped[int] = _figure()  # made that day, in yunchu or outside it
    reads: Mapped[int] = _figure()
    likes: Mapped[int] = _figure()
    shares: Mapped[int] = _figure()
    comments: Mapped[int] = _figure()
    plays: Mapped[int] = _figure()
    final: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    collected_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        PrimaryKeyConstraint("account_id", "day"),
        Index("ix_reach_account_days_org_day", "org_id", "day", "platform"),
    )


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def previous_month(day: date) -> date:
    return month_start(date.fromordinal(month_start(day).toordinal() - 1))


def partition_name(month: date) -> str:
    return f"{PARTITION_PREFIX}{month:%Y%m}"


def is_partition(name: str) -> bool:
    """Whether a table name is one of reach_post_days' monthly partitions (PostgreSQL)."""
    suffix = name.removeprefix(PARTITION_PREFIX)
    return suffix != name and len(suffix) == 6 and suffix.isdigit()


def partition_ddl(month: date) -> str:
    """PostgreSQL: create the month's partition of reach_post_days if it is not there."""
    start = month_start(month)
    return (f"CREATE TABLE IF NOT EXISTS {partition_name(start)} PARTITION OF {POST_DAYS} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{next_month(start).isoformat()}')")
