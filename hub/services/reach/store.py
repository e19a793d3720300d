"""Writing what a collection brought back: outside posts, post days, account days."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.orm import Session

from adapters.reach import FIGURES, AccountFigures, Collected, Figures

from ...infra.ids import new_id
from ...models import Account, AccountDay, ExternalPost, PostDay
from ...models.reach import month_start, partition_ddl
from .plan import ACCOUNT_DAYS_BACK, AccountPlan, Post, china_day

_partitions: set[tuple[str, date]] = set()  # (database url, month) known to exist


@dataclass
class Written:
    outside_posts: int = 0
    post_days: int = 0
    account_days: int = 0


def write(session: Session, results: list[tuple[AccountPlan, Collected]], *, now: datetime,
          running_totals: bool) -> Written:
    written = Written()
    today = china_day(now)
    post_rows: list[dict[str, Any]] = []
    account_parts: dict[tuple[str, date], list[AccountFigures]] = defaultdict(list)
    posted: dict[tuple[str, date], int] = defaultdict(int)
    plans = {}
    for plan, got in results:
        account = plan.account
        plans[account.id] = plan
        by_remote = {p.remote_id: p for p in plan.posts}
        outside = _outside(session, plan, got, by_remote, now)
        written.outside_posts += outside
        recent = plan.request.latest - timedelta(days=ACCOUNT_DAYS_BACK - 1)
        for post in by_remote.values():
            day = china_day(post.published_at)
            posted[(account.id, day)] += 1
            if day >= recent:  # a day with posts has its row, figures or not
                account_parts.setdefault((account.id, day), [])
        for found in got.days:
            post = by_remote.get(found.remote_id)
            if post is None or (post.stop_day is not None and found.day > post.stop_day):
                continue
            if post.collected_through is not None and found.day < post.collected_through:
                continue  # held already (WeChat answers a publish day's whole series again)
            if found.figures:
                post_rows.append(_post_row(plan, post, found.day, found.figures, found.final, now))
        for total in got.totals:
            post = by_remote.get(total.remote_id)
            if post is None or post.withdrawn:
                continue  # a withdrawn post's figures stop at its withdrawal
            before = Figures(*plan.booked.get(post.post_id, (0,) * len(FIGURES)))
            gained = total.figures.minus(before)
            if gained:
                post_rows.append(_post_row(plan, post, today, gained, False, now))
        for figures in got.accounts:
            account_parts[(account.id, figures.day)].append(figures)
        if running_totals and (got.totals or got.accounts):
            account_parts.setdefault((account.id, today), [])
    _ensure_partitions(session, {row["day"] for row in post_rows})
    _upsert(session, PostDay.__table__, post_rows, ("post_id", "day"),
            ("reads", "likes", "shares", "comments", "plays", "final", "collected_at"))
    written.post_days = len(post_rows)
    sums = _post_sums(session, list(account_parts))
    account_rows, posts_only = [], []
    for (account_id, day), parts in account_parts.items():
        account = plans[account_id].account
        own = next((p.figures for p in parts if p.figures is not None), None)
        figures = own if own is not None else Figures(*sums.get((account_id, day), ()))
        final = all(p.final for p in parts) if parts else False
        if running_totals and parts:
            final = day < today
        # A day nothing was asked about, only posted on: its posts, and the figures only if
        # the row is new (a later collection asks the platform about the day).
        (account_rows if parts else posts_only).append({
            "account_id": account_id, "day": day, "org_id": account.org_id,
            "platform": account.platform,
            "followers": _first(parts, "followers"),
            "followers_gained": _first(parts, "followers_gained") or 0,
            "followers_lost": _first(parts, "followers_lost") or 0,
            "posts": posted.get((account_id, day), 0), **figures.as_dict(),
            "final": final, "collected_at": now})
    _upsert(session, AccountDay.__table__, account_rows, ("account_id", "day"),
            ("org_id", "followers", "followers_gained", "followers_lost", "posts", *FIGURES,
             "final", "collected_at"), keep_if_null=("followers",))
    _upsert(session, AccountDay.__table__, posts_only, ("account_id", "day"), ("posts",))
    written.account_days = len(account_rows) + len(posts_only)
    return written


def _first(parts: list[AccountFigures], name: str) -> int | None:
    return next((getattr(p, name) for p in parts if getattr(p, name) is not None), None)


def _post_row(plan: AccountPlan, post: Post, day: date, figures: Figures, final: bool,
              now: datetime) -> dict[str, Any]:
    return {"post_id": post.post_id, "day": day, "delivery_id": post.delivery_id,
            "external_post_id": post.external_post_id, "item_id": post.item_id,
            "account_id": plan.account.id, "org_id": plan.account.org_id,
            "platform": plan.account.platform, **figures.as_dict(), "final": final,
            "collected_at": now}


def _outside(session: Session, plan: AccountPlan, got: Collected, by_remote: dict[str, Post],
             now: datetime) -> int:
    """Store the listed posts that are neither a delivery nor known; add them to ``by_remote``."""
    new = [listed for listed in got.listed
           if listed.remote_id not in by_remote and listed.marker is None]
    if not new:
        return 0
    account = plan.account
    rows = [{"id": new_id("xp"), "account_id": account.id, "org_id": account.org_id,
             "platform": account.platform, "remote_id": listed.remote_id,
             "title": (listed.title or "")[:500] or None, "url": listed.url,
             "published_at": listed.published_at, "first_seen_at": now}
            for listed in {listed.remote_id: listed for listed in new}.values()]
    _insert_new(session, ExternalPost.__table__, rows, ("account_id", "remote_id"))
    stored = session.execute(select(ExternalPost.id, ExternalPost.remote_id, ExternalPost.url,
                                    ExternalPost.published_at).where(
        ExternalPost.account_id == account.id,
        ExternalPost.remote_id.in_([r["remote_id"] for r in rows])))
    for post_id, remote_id, url, published_at in stored:
        post = Post(post_id=post_id, remote_id=remote_id, url=url, published_at=published_at,
                    external_post_id=post_id)
        by_remote[remote_id] = post
        plan.posts.append(post)
    # The account was updated, even if not through yunchu: the inspection's 超期未更新 check
    # (services/inspection.py) reads last_published_at.
    newest = max(r["published_at"] for r in rows)
    session.execute(update(Account).where(
        Account.id == account.id,
        or_(Account.last_published_at.is_(None), Account.last_published_at < newest))
        .values(last_published_at=newest))
    return len(rows)


def _post_sums(session: Session, keys: list[tuple[str, date]]
               ) -> dict[tuple[str, date], tuple[int, ...]]:
    if not keys:
        return {}
    accounts = sorted({a for a, _ in keys})
    days = sorted({d for _, d in keys})
    rows = session.execute(select(
        PostDay.account_id, PostDay.day, *(func.sum(getattr(PostDay, n)) for n in FIGURES))
        .where(PostDay.account_id.in_(accounts), PostDay.day.in_(days))
        .group_by(PostDay.account_id, PostDay.day))
    return {(row[0], row[1]): tuple(int(v or 0) for v in row[2:]) for row in rows}


def _insert(session: Session):  # noqa: ANN202 - the dialect's insert construct
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _insert_new(session: Session, table: Table, rows: list[dict[str, Any]],
                keys: tuple[str, ...]) -> None:
    if rows:
        session.execute(_insert(session)(table).on_conflict_do_nothing(index_elements=keys),
                        rows)


def _upsert(session: Session, table: Table, rows: list[dict[str, Any]], keys: tuple[str, ...],
            columns: tuple[str, ...], keep_if_null: tuple[str, ...] = ()) -> None:
    if not rows:
        return
    rows = list({tuple(row[k] for k in keys): row for row in rows}.values())  # last one wins
    statement = _insert(session)(table)
    update = {c: (func.coalesce(statement.excluded[c], table.c[c]) if c in keep_if_null
                  else statement.excluded[c]) for c in columns}
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_=update), rows)


def _ensure_partitions(session: Session, days: set[date]) -> None:
    """PostgreSQL: the monthly partitions the rows go to (the migration made the first ones)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for month in {month_start(d) for d in days}:
        key = (str(bind.url), month)
        if key not in _partitions:
            session.connection().exec_driver_sql(partition_ddl(month))
            _partitions.add(key)
