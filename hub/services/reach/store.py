"""Writing what a collection brought back: outside posts, post days, account days."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, Table, and_, func, or_, select, update
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
    plans = {plan.account.id: plan for plan, _ in results}
    written.outside_posts = _outside(session, results, now)
    for plan, got in results:
        account = plan.account
        by_remote = {p.remote_id: p for p in plan.posts}
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


def _outside(session: Session, results: list[tuple[AccountPlan, Collected]],
             now: datetime) -> int:
    """Store the listed posts that are neither a delivery nor known, for the whole batch in a
    few statements; add them to their plan's ``posts``."""
    rows: list[dict[str, Any]] = []
    for plan, got in results:
        known = {p.remote_id for p in plan.posts}
        account = plan.account
        new = {listed.remote_id: listed for listed in got.listed
               if listed.remote_id not in known and listed.marker is None}
        rows += [{"id": new_id("xp"), "account_id": account.id, "org_id": account.org_id,
                  "platform": account.platform, "remote_id": listed.remote_id,
                  "title": (listed.title or "")[:500] or None, "url": listed.url,
                  "published_at": listed.published_at, "first_seen_at": now}
                 for listed in new.values()]
    if not rows:
        return 0
    table = ExternalPost.__table__
    _insert_new(session, table, rows, ("account_id", "remote_id"))
    wanted = {(r["account_id"], r["remote_id"]) for r in rows}
    columns = (ExternalPost.id, ExternalPost.account_id, ExternalPost.remote_id,
               ExternalPost.url, ExternalPost.published_at)
    if _postgresql(session):
        # The rows as stored (a post listed before keeps its id): one lookup by the pairs.
        pairs = select(func.unnest(_array([r["account_id"] for r in rows])).label("a"),
                       func.unnest(_array([r["remote_id"] for r in rows])).label("r")
                       ).subquery()
        stored = session.execute(select(*columns).join(pairs, and_(
            ExternalPost.account_id == pairs.c.a, ExternalPost.remote_id == pairs.c.r)))
    else:
        stored = session.execute(select(*columns).where(
            ExternalPost.account_id.in_(sorted({a for a, _ in wanted})),
            ExternalPost.remote_id.in_(sorted({r for _, r in wanted}))))
    plans = {plan.account.id: plan for plan, _ in results}
    for post_id, account_id, remote_id, url, published_at in stored:
        if (account_id, remote_id) not in wanted:
            continue
        wanted.discard((account_id, remote_id))
        plans[account_id].posts.append(Post(
            post_id=post_id, remote_id=remote_id, url=url, published_at=published_at,
            external_post_id=post_id))
    # The account was updated, even if not through yunchu: the inspection's 超期未更新 check
    # (services/inspection.py) reads last_published_at.
    newest: dict[str, datetime] = {}
    for row in rows:
        if row["account_id"] not in newest or newest[row["account_id"]] < row["published_at"]:
            newest[row["account_id"]] = row["published_at"]
    if _postgresql(session):
        from sqlalchemy import DateTime, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        ordered = sorted(newest.items())
        at = bindparam(None, [a for _, a in ordered], unique=True,
                       type_=ARRAY(DateTime(timezone=True)))
        v = select(func.unnest(_array([i for i, _ in ordered])).label("id"),
                   func.unnest(at).label("at")).subquery()
        session.execute(update(Account).where(
            Account.id == v.c.id,
            or_(Account.last_published_at.is_(None), Account.last_published_at < v.c.at))
            .values(last_published_at=v.c.at))
        return len(rows)
    for account_id, at in sorted(newest.items()):
        session.execute(update(Account).where(
            Account.id == account_id,
            or_(Account.last_published_at.is_(None), Account.last_published_at < at))
            .values(last_published_at=at))
    return len(rows)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _array(values: list[Any]) -> Any:
    from sqlalchemy import bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    return bindparam(None, values, type_=ARRAY(String), unique=True)


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
    if not rows:
        return
    if _postgresql(session):
        _from_arrays(session, table, rows, keys, ())
        return
    session.execute(_insert(session)(table).on_conflict_do_nothing(index_elements=keys), rows)


def _upsert(session: Session, table: Table, rows: list[dict[str, Any]], keys: tuple[str, ...],
            columns: tuple[str, ...], keep_if_null: tuple[str, ...] = ()) -> None:
    if not rows:
        return
    rows = list({tuple(row[k] for k in keys): row for row in rows}.values())  # last one wins
    if _postgresql(session):
        _from_arrays(session, table, rows, keys, columns, keep_if_null)
        return
    statement = _insert(session)(table)
    update = {c: (func.coalesce(statement.excluded[c], table.c[c]) if c in keep_if_null
                  else statement.excluded[c]) for c in columns}
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_=update), rows)


CHUNK = 20_000  # rows per statement


def _from_arrays(session: Session, table: Table, rows: list[dict[str, Any]],
                 keys: tuple[str, ...], columns: tuple[str, ...],
                 keep_if_null: tuple[str, ...] = ()) -> None:
    """PostgreSQL: ``INSERT INTO table (…) SELECT * FROM unnest(<one array per column>) ON
    CONFLICT …``, the arrays sent in binary, one statement per ``CHUNK`` rows (dicts with the
    same keys) instead of one per row. ``columns``: updated from the new row on conflict
    (kept when the new value is NULL for ``keep_if_null``); none: conflicting rows are left."""
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    types = [table.c[name].type.compile(dialect=dialect) for name in names]
    target = quote(table.name)
    if columns:
        sets = ", ".join(
            f"{quote(c)} = coalesce(EXCLUDED.{quote(c)}, {target}.{quote(c)})"
            if c in keep_if_null else f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns)
        conflict = f"DO UPDATE SET {sets}"
    else:
        conflict = "DO NOTHING"
    sql = (f"INSERT INTO {target} ({', '.join(quote(n) for n in names)}) "
           f"SELECT * FROM unnest({', '.join(f'%b::{t}[]' for t in types)}) "
           f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) {conflict}")
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        connection.exec_driver_sql(sql, tuple([row[name] for row in chunk] for name in names))


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
