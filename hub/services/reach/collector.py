"""One reach collection job: a batch of one platform's accounts, planned, asked, written.

The platform calls go through the platform's reach client (``PlatformSpec.reach``) with the
account's credentials as publishing uses them (delegated WeChat tokens included), each call
after the reach rate budget (``budget.py``), separate from fan-out's. A job that sees a
withdrawal waiting stops taking accounts and puts the rest back on the maintenance queue, so
a collection never holds a worker a withdrawal needs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select

from adapters.base import AccountRef, AdapterError, RateLimited
from adapters.reach import Collected, ReachClient

from ...infra.runtime import Runtime
from ...models import Account
from .plan import AccountPlan, plan_batch
from .store import Written, write

T = TypeVar("T")

log = logging.getLogger("yunchu.reach")

Budget = Callable[[AccountRef], Awaitable[None]]


@dataclass
class Report:
    platform: str
    accounts: int = 0
    collected: int = 0
    failed: int = 0
    deferred: list[str] = field(default_factory=list)  # accounts handed back (withdrawal)
    calls: dict[str, int] = field(default_factory=dict)
    # interface -> the most calls one account of the job made (against per-account quotas)
    calls_max: dict[str, int] = field(default_factory=dict)
    outside_posts: int = 0
    post_days: int = 0
    account_days: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # plan, calls, write

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Context:
    runtime: Runtime
    client: ReachClient
    ref_of: Callable[[Account], AccountRef | None]
    budget: Budget | None = None
    # Asked between accounts: True when a withdrawal waits and the job should hand back.
    yield_now: Callable[[], Awaitable[bool]] | None = None
    concurrency: int = 16


def running_totals(platform: str) -> bool:
    """Platforms whose figures are running totals as of the call (booked on today)."""
    return platform in ("weibo", "douyin")


async def collect(ctx: Context, platform: str, account_ids: Sequence[str], *,
                  now: datetime | None = None) -> Report:
    now = now or datetime.now(UTC)
    report = Report(platform)
    started = time.perf_counter()
    latest = ctx.client.latest_day(now)
    totals = running_totals(platform)

    def planned() -> list[AccountPlan]:
        with ctx.runtime.db.session() as session:
            accounts = list(session.scalars(select(Account).where(
                Account.id.in_(list(account_ids)), Account.platform == platform,
                Account.status == "active")))
            found = plan_batch(session, accounts, now=now, latest=latest, running_totals=totals)
            session.expunge_all()
            return found

    plans = await _off_loop(ctx, planned)
    report.accounts = len(plans)
    report.seconds["plan"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    results: list[tuple[AccountPlan, Collected]] = []
    semaphore = asyncio.Semaphore(max(ctx.concurrency, 1))
    handed_back = False

    async def one(plan: AccountPlan) -> None:
        nonlocal handed_back
        async with semaphore:
            if handed_back or (ctx.yield_now is not None and await ctx.yield_now()):
                handed_back = True
                report.deferred.append(plan.account.id)
                return
            ref = ctx.ref_of(plan.account)
            if ref is None:
                _error(report, "credentials")
                return
            out = Collected()
            if ctx.budget is not None:
                budget = ctx.budget
                out.budget = lambda: budget(ref)
            try:
                await ctx.client.collect(ref, plan.request, out)
            except RateLimited:
                # A platform quota (WeChat's daily 45009, Weibo's hourly limits): the account
                # waits for the next collection, it is not handed back to be asked again now.
                _error(report, "rate_limited")
                return
            except AdapterError as error:
                _error(report, error.kind)
                log.info("reach %s %s: %s", platform, plan.account.id, error.reason)
                return
            finally:
                for name, n in out.calls.items():
                    report.calls[name] = report.calls.get(name, 0) + n
                    report.calls_max[name] = max(report.calls_max.get(name, 0), n)
            results.append((plan, out))
            pending.append((plan, out))
            if len(pending) >= WRITE_EVERY:
                writes.append(asyncio.create_task(flush(pending[:])))
                pending.clear()

    # What came back is written while the other accounts are still being asked, a few dozen
    # accounts a transaction, one write at a time, off the event loop.
    pending: list[tuple[AccountPlan, Collected]] = []
    writes: list[asyncio.Task] = []
    writing = asyncio.Lock()
    report.seconds["write"] = 0.0

    async def flush(batch: list[tuple[AccountPlan, Collected]]) -> None:
        async with writing:
            began = time.perf_counter()

            def written_now() -> Written:
                with ctx.runtime.db.session() as session:
                    return write(session, batch, now=now, running_totals=totals)

            written = await _off_loop(ctx, written_now)
            report.outside_posts += written.outside_posts
            report.post_days += written.post_days
            report.account_days += written.account_days
            report.seconds["write"] = round(report.seconds["write"] + time.perf_counter()
                                            - began, 3)

    try:
        await asyncio.gather(*(one(plan) for plan in plans))
    finally:
        report.seconds["calls"] = round(time.perf_counter() - started, 3)
        if pending:
            writes.append(asyncio.create_task(flush(pending[:])))
        await asyncio.gather(*writes)
    report.collected = len(results)
    report.failed = report.accounts - report.collected - len(report.deferred)  # errors
    return report


WRITE_EVERY = 25  # accounts whose answers are written together


async def _off_loop(ctx: Context, work: Callable[[], T]) -> T:
    """Run blocking database work in a thread on PostgreSQL (the loop goes on with the calls
    meanwhile); SQLite's in-memory databases are one per thread, so there it runs inline."""
    if ctx.runtime.db.engine.dialect.name == "postgresql":
        return await asyncio.to_thread(work)
    return work()


def _error(report: Report, kind: str) -> None:
    report.errors[kind] = report.errors.get(kind, 0) + 1
