"""Reading new comments under a batch of posts (the ``intake_comments`` job).

Runs on the worker's event loop with its adapters and account credentials, like the status
poll. Each post: its intake rate budget (budget.py), then up to ``YUNCHU_INTAKE_PAGES`` pages
from its cursor, stored at once (store.py), then the cursor and the next poll time. A post
with new comments is polled again after ``YUNCHU_INTAKE_POLL_MIN_S``; a quiet one backs off
(doubling) to ``YUNCHU_INTAKE_POLL_MAX_S``; one older than ``YUNCHU_INTAKE_MAX_AGE_DAYS``, no
longer live, or whose platform refuses its comments for good (``Unsupported``) is not polled
again.

A withdrawal always goes first (hub/fanout/withdrawal_gate.py): while one runs anywhere, reads
in flight are cancelled (reading has no side effects; the post is due again) and the job
starts no further post; when a withdrawal job waits on the queue, the job hands its unread
posts back (due again at once) and returns, so the worker's RQ loop takes the withdrawal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select, update

from adapters.base import (
    AccountMisconfigured,
    AccountRef,
    AdapterError,
    AuthFailed,
    CommentPage,
    PostRef,
    RateLimited,
    RemoteComment,
    Unsupported,
)

from ...fanout.executor import Executor
from ...fanout.vocabulary import Action
from ...fanout.withdrawal_gate import CHECK_S, Gate
from ...models import Account, CommentCursor, Delivery, utcnow
from .budget import intake_limiter
from .store import Place, is_duplicate, take_comments

log = logging.getLogger("yunchu.intake")

MAX_BUDGET_WAIT_S = 2.0  # longer: the post is due again when the budget allows
# One intake budget per executor (its Redis client), kept as long as the executor lives: keyed
# by id(), a later executor born at a closed one's address got a limiter on a closed client.
_limiters: WeakKeyDictionary[Executor, Any] = WeakKeyDictionary()


def limiter_of(executor: Executor) -> Any:
    """The executor's intake budget (on its Redis client), built at its first poll."""
    limiter = _limiters.get(executor)
    if limiter is None:
        limiter = _limiters[executor] = intake_limiter(executor.redis)
    return limiter


@dataclass
class _Row:
    delivery_id: str
    cursor: str | None
    post_key: str | None
    polled_at: datetime | None
    failures: int
    state: str
    remote_id: str | None
    remote_url: str | None
    published_at: datetime | None
    item_id: str
    account_id: str
    org_id: str
    ref: AccountRef | None


@dataclass
class _Result:
    row: _Row
    comments: list[RemoteComment] = field(default_factory=list)
    cursor: str | None = None
    post_key: str | None = None
    next_in: timedelta | None = None  # None: stop polling
    error: str | None = None
    failed: bool = False
    calls: int = 0


@dataclass
class PollReport:
    polled: int = 0
    deferred: int = 0
    stopped: int = 0
    new: int = 0
    flagged: int = 0
    calls: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


async def poll(executor: Executor, platform: str, ids: Sequence[str]) -> dict[str, int]:
    settings = executor.runtime.settings
    gate = Gate(executor.redis, lambda: executor._load.get(Action.WITHDRAW, 0))  # noqa: SLF001
    report = PollReport()
    if await gate.now():  # a withdrawal waits: nothing is loaded, the posts are due again
        await asyncio.to_thread(_defer, executor, [(i, timedelta(0)) for i in ids])
        report.deferred = len(ids)
        return report.as_dict()
    rows = await asyncio.to_thread(_load, executor, ids)
    adapter = executor.adapters[platform]
    limiter = limiter_of(executor)
    spec = executor._specs[platform]
    semaphore = asyncio.Semaphore(max(settings.intake_concurrency, 1))
    deferred: list[tuple[str, timedelta]] = []
    now = utcnow()
    oldest = now - timedelta(days=settings.intake_max_age_days)

    async def one(row: _Row) -> None:
        async with semaphore:
            if row.state != "published" or row.ref is None or row.remote_id is None \
                    or (row.published_at is not None and row.published_at < oldest):
                stopped = _Result(row, cursor=row.cursor, post_key=row.post_key)  # kept as is
                await asyncio.to_thread(_write, executor, platform, stopped, report)
                return
            if await gate.now():
                deferred.append((row.delivery_id, timedelta(0)))
                return
            # Reading has no side effects: a withdrawal that comes meanwhile cancels it (the
            # watcher below) and the post is due again. Writing what was read is not cut off.
            reading = asyncio.create_task(_budget_and_read(
                adapter, limiter, platform, spec, row, settings))
            in_flight.add(reading)
            try:
                outcome = await reading
            except asyncio.CancelledError:
                if not reading.cancelled():
                    raise
                deferred.append((row.delivery_id, timedelta(0)))
                return
            finally:
                in_flight.discard(reading)
            if isinstance(outcome, float):
                deferred.append((row.delivery_id, timedelta(seconds=outcome)))
                return
            await asyncio.to_thread(_write, executor, platform, outcome, report)

    in_flight: set[asyncio.Task] = set()

    async def watch() -> None:
        while True:
            await asyncio.sleep(CHECK_S)
            if await gate.busy_now():
                for task in list(in_flight):
                    task.cancel()

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.gather(*(one(row) for row in rows))
    finally:
        watcher.cancel()
    if deferred:
        await asyncio.to_thread(_defer, executor, deferred)
        report.deferred = len(deferred)
    return report.as_dict()


async def _budget_and_read(adapter: Any, limiter: Any, platform: str, spec: Any, row: _Row,
                           settings: Any) -> _Result | float:
    """The post's comments, or the seconds to wait for its budget."""
    assert row.ref is not None
    wait = await _budget(limiter, platform, spec.app_of(row.ref.credentials), row.ref.id)
    if wait > 0:
        return wait
    return await _read(adapter, limiter, platform, spec, row, settings)


async def _budget(limiter: Any, platform: str, app: str, account: str) -> float:
    for _ in range(3):
        wait = await limiter.reserve(platform, app, account)
        if wait <= 0:
            return 0.0
        if wait > MAX_BUDGET_WAIT_S:
            return wait
        await asyncio.sleep(wait)
    return MAX_BUDGET_WAIT_S


async def _read(adapter: Any, limiter: Any, platform: str, spec: Any, row: _Row,
                settings: Any) -> _Result:
    result = _Result(row, cursor=row.cursor, post_key=row.post_key)
    assert row.ref is not None and row.remote_id is not None
    post = PostRef(row.remote_id, row.remote_url, row.post_key)
    count = adapter.capabilities.interaction.comment_page_max
    try:
        for page_number in range(max(settings.intake_pages, 1)):
            if page_number and await _budget(limiter, platform, spec.app_of(row.ref.credentials),
                                             row.ref.id) > 0:
                break  # the rest next time
            page: CommentPage = await adapter.list_comments(row.ref, post, result.cursor,
                                                            count=count)
            result.calls += 1
            result.comments += page.comments
            result.cursor = page.cursor
            if page.post_key:
                result.post_key = page.post_key
                post = PostRef(post.remote_id, post.url, page.post_key)
            if not page.has_more:
                break
    except Unsupported as err:
        result.error, result.next_in = err.reason[:500], None
        return result
    except RateLimited as err:
        result.failed, result.error = True, err.reason[:500]
        result.next_in = timedelta(seconds=max(err.retry_after, settings.intake_poll_min_s))
        return result
    except (AuthFailed, AccountMisconfigured) as err:
        result.failed, result.error = True, err.reason[:500]
        result.next_in = timedelta(seconds=settings.intake_poll_max_s)
        return result
    except AdapterError as err:
        result.failed, result.error = True, err.reason[:500]
        backoff = settings.intake_poll_min_s * 2 ** min(row.failures, 6)
        result.next_in = timedelta(seconds=min(backoff, settings.intake_poll_max_s))
        return result
    result.next_in = next_poll_in(row.polled_at, bool(result.comments), settings)
    return result


def next_poll_in(polled_at: datetime | None, found: bool, settings: Any) -> timedelta:
    """New comments: soon again. None: twice as long as the last wait, within the bounds."""
    low, high = settings.intake_poll_min_s, settings.intake_poll_max_s
    if found or polled_at is None:
        return timedelta(seconds=low)
    waited = (utcnow() - polled_at).total_seconds()
    return timedelta(seconds=min(max(2 * waited, low), high))


def _load(executor: Executor, ids: Sequence[str]) -> list[_Row]:
    from ...fanout.claims import accounts_of

    with executor.runtime.db.session() as session:
        rows = session.execute(
            select(CommentCursor.delivery_id, CommentCursor.cursor, CommentCursor.post_key,
                   CommentCursor.polled_at, CommentCursor.failures, Delivery.state,
                   Delivery.remote_id, Delivery.remote_url, Delivery.published_at,
                   Delivery.item_id, Delivery.account_id, Account.org_id)
            .join(Delivery, Delivery.id == CommentCursor.delivery_id)
            .join(Account, Account.id == Delivery.account_id)
            .where(CommentCursor.delivery_id.in_(list(ids)))).all()
        accounts = accounts_of(session, [r.account_id for r in rows])
    return [_Row(*r, ref=executor.ref_of(accounts[r.account_id])
                 if r.account_id in accounts else None) for r in rows]


def _write(executor: Executor, platform: str, result: _Result, report: PollReport) -> None:
    row, now = result.row, utcnow()
    values: dict[str, Any] = {"polled_at": now, "cursor": result.cursor,
                              "post_key": result.post_key, "error": result.error,
                              "failures": row.failures + 1 if result.failed else 0,
                              "next_poll_at": now + result.next_in if result.next_in else None}
    place = Place(org_id=row.org_id, account_id=row.account_id, platform=platform,
                  delivery_id=row.delivery_id, item_id=row.item_id,
                  remote_post_id=result.post_key or row.remote_id)
    from sqlalchemy.exc import IntegrityError

    for attempt in (1, 2):
        try:
            with executor.runtime.db.session() as session:
                taken = take_comments(session, place, result.comments)
                seen = CommentCursor.seen + taken.new_messages
                session.execute(update(CommentCursor).where(
                    CommentCursor.delivery_id == row.delivery_id).values(seen=seen, **values))
            break
        except IntegrityError as err:  # another worker stored some of them first
            if attempt == 2 or not is_duplicate(err):
                raise
    report.polled += 1
    report.calls += result.calls
    report.new += taken.new_messages
    report.flagged += taken.flagged
    if result.next_in is None:
        report.stopped += 1


def _defer(executor: Executor, deferred: list[tuple[str, timedelta]]) -> None:
    now = utcnow()
    by_delay: dict[timedelta, list[str]] = {}
    for delivery_id, delay in deferred:
        by_delay.setdefault(delay, []).append(delivery_id)
    with executor.runtime.db.session() as session:
        for delay, ids in by_delay.items():
            session.execute(update(CommentCursor).where(CommentCursor.delivery_id.in_(ids))
                            .values(next_poll_at=now + delay)
                            .execution_options(synchronize_session=False))
