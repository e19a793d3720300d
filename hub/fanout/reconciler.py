"""The sweep that makes fan-out loss-free: PostgreSQL knows what is owed; this puts it back on
the queues whenever a worker died, a retry fell due, a schedule arrived or Redis lost its keys."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from sqlalchemy import or_, select, update

from ..auditdenials import flush_closed
from ..models import Delivery, utcnow
from ..runtime import Runtime
from . import claims
from .queueing import MAINTENANCE_QUEUE, enqueue_batches, pending_jobs, queue

log = logging.getLogger("yunchu.reconciler")

LOCK_KEY = "yunchu:reconciler"
MARK_PREFIX = "yunchu:enq:"
STALE_QUEUED = timedelta(seconds=60)
POLL_PENDING_EVERY = timedelta(seconds=10)
MAX_ROWS = 50_000


@dataclass
class SweepReport:
    expired_leases: int = 0
    scheduled_released: int = 0
    enqueued: dict[str, int] = field(default_factory=dict)
    status_polls: int = 0


def sweep(runtime: Runtime, connection: redis.Redis) -> SweepReport:
    report = SweepReport()
    now = utcnow()
    batch = runtime.settings.batch_size
    with runtime.db.session() as session:
        released = claims.stale_leases(
            session, interrupted_max=runtime.settings.interrupted_max)
        report.expired_leases = sum(len(rows) for rows in released.values())
        report.scheduled_released = session.execute(
            update(Delivery).where(Delivery.state == "scheduled", Delivery.next_attempt_at <= now)
            .values(state="queued", next_attempt_at=now, updated_at=now)  # due: enqueue now
            .execution_options(synchronize_session=False)).rowcount
    for action, rows in released.items():
        if rows:  # owed a job now: the one they were in died with its worker
            enqueue_batches(connection, action, _unmarked(connection, rows, force=True), batch)
            report.enqueued[action] = len(rows)
    queues_empty = pending_jobs(connection) == 0
    with runtime.db.session() as session:
        for action, states in (("withdraw", ("withdraw_queued", "withdraw_retry")),
                               ("publish", ("queued", "retry"))):
            query = (select(Delivery.id, Delivery.platform)
                     .where(Delivery.state.in_(states),
                            or_(Delivery.next_attempt_at.is_(None),
                                Delivery.next_attempt_at <= now)))
            if not queues_empty:
                # Work is flowing: only re-drive retries that fell due and rows that waited
                # too long (not the thousands a push just enqueued); a short-lived mark in
                # Redis keeps one row from piling up jobs.
                query = query.where(or_(Delivery.next_attempt_at.is_not(None),
                                        Delivery.updated_at < now - STALE_QUEUED))
            rows = session.execute(query.limit(MAX_ROWS)).all()
            due = _unmarked(connection, [(r[0], r[1]) for r in rows], force=queues_empty)
            if due:
                enqueue_batches(connection, action, due, batch)
                report.enqueued[action] = report.enqueued.get(action, 0) + len(due)
        pending = session.execute(
            select(Delivery.id, Delivery.platform).where(
                Delivery.state == "pending_review",
                Delivery.updated_at < now - POLL_PENDING_EVERY,
                or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))
            .limit(MAX_ROWS)).all()
    pending = _unmarked(connection, [(r[0], r[1]) for r in pending], force=False, ttl=30)
    if pending:
        _enqueue_status(connection, pending, batch)
        report.status_polls = len(pending)
    flush_closed(runtime, time.time())  # anonymous denials counted in a minute that has ended
    return report


def _unmarked(connection: redis.Redis, rows: list[tuple[str, str]], *, force: bool,
              ttl: int = 60) -> list[tuple[str, str]]:
    """Rows not enqueued by a sweep in the last ``ttl`` seconds (all of them when ``force``)."""
    if not rows:
        return []
    pipe = connection.pipeline(transaction=False)
    for delivery_id, _ in rows:
        pipe.set(MARK_PREFIX + delivery_id, 1, ex=ttl, nx=not force)
    fresh = pipe.execute()
    return [row for row, ok in zip(rows, fresh, strict=True) if ok]


def _enqueue_status(connection: redis.Redis, rows: list[tuple[str, str]], batch: int) -> None:
    from rq import Queue

    by_platform: dict[str, list[str]] = {}
    for delivery_id, platform in rows:
        by_platform.setdefault(platform, []).append(delivery_id)
    q = queue(connection, MAINTENANCE_QUEUE)
    q.enqueue_many([
        Queue.prepare_data("hub.fanout.jobs.run_batch", args=("status", platform,
                                                              ids[i:i + batch]),
                           timeout=300, result_ttl=0, failure_ttl=3600)
        for platform, ids in by_platform.items() for i in range(0, len(ids), batch)])


class Reconciler(threading.Thread):
    """Runs ``sweep`` every interval while it holds the Redis lock (one active per deployment)."""

    def __init__(self, runtime: Runtime, owner: str, interval: float):
        super().__init__(name="yunchu-reconciler", daemon=True)
        self.runtime, self.owner, self.interval = runtime, owner, interval
        self.stopping = threading.Event()

    def run(self) -> None:
        connection = self.runtime.redis
        ttl_ms = int(max(self.interval * 3, 2) * 1000)
        while not self.stopping.wait(self.interval):
            try:
                holder = connection.set(LOCK_KEY, self.owner, nx=True, px=ttl_ms)
                if not holder:
                    current = connection.get(LOCK_KEY)
                    if current is None or current.decode() != self.owner:
                        continue
                    connection.pexpire(LOCK_KEY, ttl_ms)
                report = sweep(self.runtime, connection)
                if report.expired_leases or report.enqueued or report.scheduled_released:
                    log.info("sweep: %s", report)
            except Exception:  # noqa: BLE001 - keep sweeping through transient outages
                log.exception("reconciler sweep failed; retrying")
