"""Building a ranking period's rollups from reach_post_days (hub/models/reach_rollup.py).

``ensure`` is called by every ranking. A period never built is built there and then, in the
caller's transaction (on PostgreSQL under an advisory lock, so two rankings do not build it
twice). A build that is stale — the period's posts may still gain figures (it ended less
than the collection window ago) and the build is older than
``YUNCHU_REACH_ROLLUP_MAX_AGE_S`` — is served as it is while ``on_stale`` has it rebuilt on
the maintenance queue (``enqueue_refresh``: at 10,000 accounts a month takes tens of
seconds, too long for a page); without ``on_stale`` it is rebuilt in place.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, literal, select, text
from sqlalchemy.orm import Session

from ...models import (
    PeriodAccount,
    PeriodHot,
    PeriodItem,
    PeriodItemTotal,
    PostDay,
    RollupPeriod,
)
from ...models.reach import FIGURES, POST_WINDOW_DAYS
from ...models.reach_rollup import HOT_PER_ORG
from . import index as index_service
from .index import Totals
from .periods import Period, month_of, week_of
from .plan import china_day

# Days after a period's end during which its posts can still gain figures (and a WeChat day
# can still be revised): after that a build is final.
SETTLE_DAYS = POST_WINDOW_DAYS + 3


def _in_period(period: Period) -> list:
    return [PostDay.day >= period.start, PostDay.day <= period.end]


def _per_post(period: Period) -> Select:
    """Each post's figures in the period (one row per post)."""
    return (select(PostDay.post_id, PostDay.account_id,
                   func.min(PostDay.org_id).label("org_id"),
                   func.min(PostDay.platform).label("platform"),
                   func.min(PostDay.item_id).label("item_id"),
                   func.min(PostDay.external_post_id).label("external_post_id"),
                   func.min(PostDay.delivery_id).label("delivery_id"),
                   *(func.sum(getattr(PostDay, f)).label(f) for f in FIGURES))
            .where(*_in_period(period))
            .group_by(PostDay.post_id, PostDay.account_id))


def _key(period: Period) -> tuple:
    return literal(period.kind).label("kind"), literal(period.start).label("start")


def _accounts(period: Period) -> Select:
    posts = _per_post(period).subquery()
    return (select(*_key(period), posts.c.account_id, func.min(posts.c.org_id),
                   func.min(posts.c.platform), func.count(),
                   *(func.sum(posts.c[f]) for f in FIGURES),
                   *(func.max(posts.c[f]) for f in FIGURES))
            .group_by(posts.c.account_id))


def _items(period: Period) -> Select:
    return (select(*_key(period), PostDay.item_id, PostDay.org_id, PostDay.platform,
                   func.count(func.distinct(PostDay.account_id)),
                   *(func.sum(getattr(PostDay, f)) for f in FIGURES))
            .where(*_in_period(period), PostDay.item_id.is_not(None))
            .group_by(PostDay.item_id, PostDay.org_id, PostDay.platform))


def _item_totals(period: Period) -> Select:
    """Each item's reads and plays per platform over the province, from the period's item
    rows just inserted."""
    items = PeriodItem
    return (select(items.kind, items.start, items.item_id, items.platform,
                   func.sum(items.reads), func.sum(items.plays))
            .where(items.kind == period.kind, items.start == period.start)
            .group_by(items.kind, items.start, items.item_id, items.platform))


def _hot(period: Period) -> Select:
    posts = _per_post(period).subquery()
    views = posts.c.reads + posts.c.plays
    interactions = posts.c.likes + posts.c.shares + posts.c.comments
    ranked = select(posts, func.row_number().over(
        partition_by=(posts.c.org_id, posts.c.platform),
        order_by=(views.desc(), interactions.desc(), posts.c.post_id)).label("n")).subquery()
    return (select(*_key(period), ranked.c.post_id, ranked.c.org_id, ranked.c.platform,
                   ranked.c.account_id, ranked.c.item_id, ranked.c.external_post_id,
                   ranked.c.delivery_id, *(ranked.c[f] for f in FIGURES))
            .where(ranked.c.n <= HOT_PER_ORG))


ACCOUNT_COLUMNS = ("kind", "start", "account_id", "org_id", "platform", "posts", *FIGURES,
                   *(f"max_{f}" for f in FIGURES))
ITEM_COLUMNS = ("kind", "start", "item_id", "org_id", "platform", "accounts", *FIGURES)
ITEM_TOTAL_COLUMNS = ("kind", "start", "item_id", "platform", "reads", "plays")
HOT_COLUMNS = ("kind", "start", "post_id", "org_id", "platform", "account_id", "item_id",
               "external_post_id", "delivery_id", *FIGURES)


def _insert_accounts(session: Session, period: Period) -> None:
    """The period's account rows, each with its index computed once here (the current
    formula version), so that a ranking reads the index instead of computing it."""
    indices = index_service.current()
    width = len(FIGURES)
    rows = []
    for kind, start, account_id, org_id, platform, *numbers in session.connection().execute(
            _accounts(period)):
        # Sums of sums are NUMERIC on PostgreSQL: the integers the columns store.
        posts, *figures = (int(n) for n in numbers)
        row = dict(zip(ACCOUNT_COLUMNS, (kind, start, account_id, org_id, platform, posts,
                                         *figures), strict=True))
        if platform in indices.formulas:
            totals = Totals(posts=posts, days=period.days,
                            sums=dict(zip(FIGURES, figures[:width], strict=True)),
                            best=dict(zip(FIGURES, figures[width:], strict=True)))
            row.update(reach_index=indices.compute(platform, totals),
                       index_version=indices.version,
                       index_formula=indices.formula(platform).id)
        else:
            row.update(reach_index=None, index_version=None, index_formula=None)
        rows.append(row)
    if rows:
        session.connection().execute(PeriodAccount.__table__.insert(), rows)


def refresh(session: Session, period: Period, now: datetime) -> None:
    """Replace the period's rollups with what reach_post_days holds now."""
    if session.get_bind().dialect.name == "postgresql":
        # The per-post grouping of a month (1.5 M rows at 10,000 accounts) sorts in memory.
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    for model in (PeriodAccount, PeriodItem, PeriodItemTotal, PeriodHot):
        session.execute(delete(model).where(model.kind == period.kind,
                                            model.start == period.start))
    _insert_accounts(session, period)
    session.execute(PeriodItem.__table__.insert().from_select(ITEM_COLUMNS, _items(period)))
    session.execute(PeriodItemTotal.__table__.insert().from_select(
        ITEM_TOTAL_COLUMNS, _item_totals(period)))
    session.execute(PeriodHot.__table__.insert().from_select(HOT_COLUMNS, _hot(period)))
    marker = session.get(RollupPeriod, (period.kind, period.start))
    if marker is None:
        session.add(RollupPeriod(kind=period.kind, start=period.start, refreshed_at=now))
    else:
        marker.refreshed_at = now
    session.flush()


def is_fresh(marker: RollupPeriod | None, period: Period, now: datetime,
             max_age_s: int) -> bool:
    if marker is None:
        return False
    if china_day(marker.refreshed_at) > period.end + timedelta(days=SETTLE_DAYS):
        return True  # built after the period settled: final
    return now - marker.refreshed_at < timedelta(seconds=max_age_s)


def ensure(session: Session, period: Period, now: datetime, max_age_s: int,
           on_stale: Callable[[Period], None] | None = None) -> None:
    """Build the period's rollups unless a fresh enough build is there (see the module)."""
    marker = session.get(RollupPeriod, (period.kind, period.start))
    if is_fresh(marker, period, now, max_age_s):
        return
    if marker is not None and on_stale is not None:
        on_stale(period)
        return
    if session.get_bind().dialect.name == "postgresql":
        lock = zlib.crc32(f"reach-rollup:{period.kind}:{period.start}".encode())
        session.execute(select(func.pg_advisory_xact_lock(lock)))
        session.expire_all()  # what another ranking built while this one waited
        if is_fresh(session.get(RollupPeriod, (period.kind, period.start)), period, now,
                    max_age_s):
            return
    refresh(session, period, now)


REFRESH_JOB = "hub.fanout.jobs.refresh_reach_rollup"
REFRESH_KEY = "yunchu:reach:rollup:{kind}:{start}"


def period_of(kind: str, start: str) -> Period:
    day = date.fromisoformat(start)
    return week_of(day) if kind == "week" else month_of(day)


def enqueue_refresh(connection: Any, period: Period, max_age_s: int) -> bool:
    """Put one rebuild of the period on the maintenance queue (at most one per max age)."""
    key = REFRESH_KEY.format(kind=period.kind, start=period.start.isoformat())
    if not connection.set(key, 1, nx=True, ex=max(max_age_s, 1)):
        return False
    from rq import Queue

    from ...fanout.queueing import MAINTENANCE_QUEUE, queue

    queue(connection, MAINTENANCE_QUEUE).enqueue_many([Queue.prepare_data(
        REFRESH_JOB, args=(period.kind, period.start.isoformat()), timeout=900,
        result_ttl=0, failure_ttl=3600)])
    return True
