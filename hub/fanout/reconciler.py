"""The sweep that makes fan-out loss-free: PostgreSQL knows what is owed; this puts it back on
the queues whenever a worker died, a retry fell due, a schedule arrived or Redis lost its keys.

It runs every ``YUNCHU_RECONCILE_INTERVAL_S`` (1 s) in one worker at a time, the one holding a
Redis lock whose TTL is two intervals and which is renewed while a sweep runs: a dead holder
blocks the others for at most that long, and not at all once its alive key is gone. A worker
that died is seen at the first sweep after its alive key ran out (``YUNCHU_WORKER_ALIVE_S``,
3 s), not when its leases do; leases that ran out (a worker Redis knows nothing of) are looked
for every third of ``YUNCHU_LEASE_S``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..infra.runtime import Runtime
from ..models import Delivery, utcnow
from ..security.audit_denials import flush_closed
from ..services.interaction import planner as intake_planner
from ..services.onboarding import refresher
from ..services.reach import schedule as reach_schedule
from . import claims, liveness, withdraw
from .queueing import MAINTENANCE_QUEUE, MARK_PREFIX, enqueue_batches, pending_jobs, queue
from .vocabulary import Action, DeliveryState

log = logging.getLogger("yunchu.reconciler")

LOCK_KEY = "yunchu:reconciler"
STALE_QUEUED = timedelta(seconds=60)
# While jobs are flowing, rows queued longer than STALE_QUEUED are looked for this often: the
# query reads every queued row (100,000 during a large push or withdrawal), and at every
# sweep it was most of PostgreSQL's growth in time per post from 10,000 to 100,000 accounts.
STALE_CHECK_EVERY = timedelta(seconds=15)
STALE_CHECK_KEY = "yunchu:reconciler:stale-check"
POLL_PENDING_EVERY = timedelta(seconds=10)
MAX_ROWS = 50_000
# A click still slicing is left alone this long (100,000 posts take a few seconds).
SLICING_GRACE = timedelta(seconds=15)
# A sweep that has run this long stops renewing the lock: a hung sweep does not keep
# the other workers' reconcilers out for good.
MAX_SWEEP_S = 120.0
# Renew the lock only while we hold it (compare and expire in one step).
_RENEW_IF_MINE = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
                  "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end")
# Take the lock from a holder that is known to be dead (see liveness), without waiting for
# its TTL: KEYS = lock, then the alive and known key prefixes; ARGV = me, TTL in ms.
_TAKE_FROM_DEAD = """
local holder = redis.call('get', KEYS[1])
if not holder then
  return redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) and 1 or 0
end
if redis.call('exists', KEYS[3] .. holder) == 1 and redis.call('exists', KEYS[2] .. holder) == 0
then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


@dataclass
class SweepReport:
    expired_leases: int = 0  # claims taken back (lease run out, or worker dead)
    dead_workers: list[str] = field(default_factory=list)
    scheduled_released: int = 0
    enqueued: dict[str, int] = field(default_factory=dict)
    status_polls: int = 0


def sweep(runtime: Runtime, connection: redis.Redis, *,
          check_leases: bool = True) -> SweepReport:
    """One pass. ``check_leases``: also look for claims whose lease ran out (a scan of the
    in-flight rows); the reconciler does that every third of a lease, and takes back the
    claims of workers found dead at every sweep."""
    report = SweepReport()
    now = utcnow()
    batch = runtime.settings.batch_size
    silent = liveness.silent(connection)
    report.dead_workers = sorted(silent)
    with runtime.db.session() as session:
        released = claims.stale_leases(
            session, interrupted_max=runtime.settings.interrupted_max,
            dead_owners=report.dead_workers, expired=check_leases)
        report.expired_leases = sum(len(rows) for rows in released.values())
        report.scheduled_released = session.execute(
            update(Delivery).where(Delivery.state == DeliveryState.SCHEDULED,
                                   Delivery.next_attempt_at <= now)
            .values(state=DeliveryState.QUEUED, next_attempt_at=now,
                    updated_at=now)  # due: enqueue now
            .execution_options(synchronize_session=False)).rowcount
    # Looked at until every lease they held has run out: a claim skipped above (another
    # transaction held its row) is taken back at a later sweep.
    settled = time.time() - runtime.settings.lease_s - 2 * runtime.settings.worker_alive_s
    liveness.forget(connection, {w: beat for w, beat in silent.items() if beat < settled})
    for action, rows in released.items():
        if rows:  # owed a job now: the one they were in died with its worker
            enqueue_batches(connection, action, _unmarked(connection, rows, force=True), batch)
            report.enqueued[action] = len(rows)
    queues_empty = pending_jobs(connection) == 0
    look_for_stale = not queues_empty and _stale_check_due(connection)
    with runtime.db.session() as session:
        for action in (Action.WITHDRAW, Action.PUBLISH):
            rows = _due(session, action, now, queues_empty, look_for_stale)
            due = _unmarked(connection, rows, force=queues_empty)
            if due:
                enqueue_batches(connection, action, due, batch)
                report.enqueued[action] = report.enqueued.get(action, 0) + len(due)
        pending = session.execute(
            select(Delivery.id, Delivery.platform).where(
                Delivery.state == DeliveryState.PENDING_REVIEW,
                Delivery.updated_at < now - POLL_PENDING_EVERY,
                or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))
            .limit(MAX_ROWS)).all()
    pending = _unmarked(connection, [(r[0], r[1]) for r in pending], force=False, ttl=30)
    if pending:
        _enqueue_status(connection, pending, batch)
        report.status_polls = len(pending)
    _finish_slicing(runtime, connection, now)
    flush_closed(runtime, time.time())  # anonymous denials counted in a minute that has ended
    refresher.schedule(runtime, connection)  # OAuth grants, once per interval
    reach_schedule.schedule(runtime, connection)  # platform figures, once per interval
    intake_planner.schedule(runtime, connection)  # comment intake, once per interval
    return report


def _due(session: Session, action: Action, now: datetime, queues_empty: bool,
         look_for_stale: bool) -> list[tuple[str, str]]:
    """The rows of ``action`` owed a job: all that are due when the queues are empty; while
    work is flowing, only retries that fell due (not the thousands a push or a withdrawal
    just enqueued) and, when ``look_for_stale``, rows queued longer than ``STALE_QUEUED``. A
    short-lived mark in Redis keeps one row from piling up jobs."""
    waiting = Delivery.state.in_(action.claimable)
    if queues_empty:
        queries = [select(Delivery.id, Delivery.platform).where(
            waiting, or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))]
    else:
        # Retries: a range of the (state, next_attempt_at) index.
        queries = [select(Delivery.id, Delivery.platform).where(
            waiting, Delivery.next_attempt_at <= now)]
        if look_for_stale:
            # Reads every queued row (no index has their age): not at every sweep.
            queries.append(select(Delivery.id, Delivery.platform).where(
                waiting, Delivery.next_attempt_at.is_(None),
                Delivery.updated_at < now - STALE_QUEUED))
    rows: list[tuple[str, str]] = []
    for query in queries:
        rows += [(r[0], r[1]) for r in session.execute(query.limit(MAX_ROWS - len(rows)))]
    return rows


def _stale_check_due(connection: redis.Redis) -> bool:
    """At most once per ``STALE_CHECK_EVERY`` across the deployment's reconcilers."""
    try:
        return bool(connection.set(STALE_CHECK_KEY, 1, nx=True,
                                   ex=int(STALE_CHECK_EVERY.total_seconds())))
    except redis.RedisError:
        return True


def _finish_slicing(runtime: Runtime, connection: redis.Redis, now: datetime) -> None:
    """Queue what a withdrawal click that died on its way left unqueued (``withdraw``)."""
    with runtime.db.session() as session:
        left = [(w.id, withdraw.at_rest_of(session, w))
                for w in withdraw.unqueued(session, now - SLICING_GRACE)]
    for withdrawal_id, at_rest in left:
        log.warning("withdrawal %s: queueing %d removals its click left", withdrawal_id,
                    len(at_rest))
        for start in range(0, len(at_rest), MAX_ROWS):
            with runtime.db.session() as session:
                rows = withdraw.queue_removals(session, withdrawal_id,
                                               at_rest[start:start + MAX_ROWS])
            enqueue_batches(connection, Action.WITHDRAW, rows, runtime.settings.batch_size)
        with runtime.db.session() as session:
            withdraw.finish_queueing(session, withdrawal_id)


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


def lock_ttl_s(interval: float) -> float:
    """Two intervals (at least 2 s): a dead holder keeps the others out at most this long."""
    return max(2 * interval, 2.0)


class Reconciler(threading.Thread):
    """Runs ``sweep`` every interval while it holds the Redis lock (one active per deployment).

    The lock lives ``lock_ttl_s``; the holder renews it before each sweep and, from a second
    thread, while a sweep runs (up to ``MAX_SWEEP_S``), so a long sweep keeps it and a dead
    holder loses it within two intervals."""

    def __init__(self, runtime: Runtime, owner: str, interval: float):
        super().__init__(name="yunchu-reconciler", daemon=True)
        self.runtime, self.owner, self.interval = runtime, owner, interval
        self.stopping = threading.Event()
        self.ttl_ms = int(lock_ttl_s(interval) * 1000)
        self._sweep_started: float | None = None
        # Expired leases are looked for this often (a scan of the in-flight rows); a dead
        # worker's claims are taken back at the first sweep after its alive key ran out.
        self.lease_check_every = max(interval, runtime.settings.lease_s / 3)
        self._leases_checked: float | None = None
        self._keeper = threading.Thread(target=self._keep_lock, name="yunchu-reconciler-lock",
                                        daemon=True)

    def run(self) -> None:
        connection = self.runtime.redis
        self._keeper.start()
        first = True  # a worker that has just started sweeps at once, not after an interval
        while first or not self.stopping.wait(self.interval):
            first = False
            try:
                if not self._hold(connection):
                    continue
                self._sweep_started = started = time.monotonic()
                check_leases = (self._leases_checked is None
                                or started - self._leases_checked >= self.lease_check_every)
                try:
                    report = sweep(self.runtime, connection, check_leases=check_leases)
                finally:
                    self._sweep_started = None
                if check_leases:
                    self._leases_checked = started
                if (report.expired_leases or report.enqueued or report.scheduled_released
                        or report.dead_workers):
                    log.info("sweep: %s", report)
            except Exception:  # noqa: BLE001 - keep sweeping through transient outages
                log.exception("reconciler sweep failed; retrying")

    def _hold(self, connection: redis.Redis) -> bool:
        if connection.set(LOCK_KEY, self.owner, nx=True, px=self.ttl_ms):
            return True
        if connection.eval(_RENEW_IF_MINE, 1, LOCK_KEY, self.owner, self.ttl_ms):
            return True
        # Held by a worker that died: take it now rather than when its TTL runs out.
        return bool(connection.eval(_TAKE_FROM_DEAD, 3, LOCK_KEY, liveness.ALIVE_PREFIX,
                                    liveness.KNOWN_PREFIX, self.owner, self.ttl_ms))

    def _keep_lock(self) -> None:
        connection = self.runtime.redis
        while not self.stopping.wait(self.ttl_ms / 3000):
            started = self._sweep_started
            if started is None or time.monotonic() - started > MAX_SWEEP_S:
                continue
            try:
                connection.eval(_RENEW_IF_MINE, 1, LOCK_KEY, self.owner, self.ttl_ms)
            except Exception as err:  # noqa: BLE001 - the next renewal tries again
                log.warning("renewing the reconciler lock failed (%s)", type(err).__name__)
