"""Which posts' comments to read next, put on the maintenance queue.

Every ``YUNCHU_INTAKE_INTERVAL_S`` the reconciler's sweep enqueues one planning job
(``schedule``, the way the OAuth refresher is scheduled). The plan (``plan``) gives each live
post yunchu published on a platform whose comments can be polled a cursor row, then takes the
cursors that are due, oldest first, pushes their due time out by a lease (so the next plan
does not take them again while their job waits), and enqueues them in per-platform batches of
``YUNCHU_INTAKE_BATCH`` as ``intake_comments`` jobs. Workers take the maintenance queue only
after withdrawals and pushes, no plan is made while a withdrawal runs, and an intake job gives
way to a withdrawal (poller.py, hub/fanout/withdrawal_gate.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from ...fanout import withdrawal_gate
from ...infra.runtime import Runtime
from ...models import CommentCursor, Delivery, utcnow
from ...platforms import specs as platform_specs

DUE_KEY = "yunchu:intake:due"
PLAN_JOB = "hub.fanout.jobs.plan_intake"
POLL_JOB = "hub.fanout.jobs.intake_comments"
LEASE = timedelta(minutes=15)  # a planned cursor is not planned again for this long
MAX_PLANNED = 20_000  # cursors per plan; the rest wait for the next one
NEW_CURSORS = 50_000  # cursor rows made per plan


@dataclass
class Plan:
    created: int = 0
    planned: dict[str, int] = field(default_factory=dict)
    jobs: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "planned": self.planned, "jobs": self.jobs}


def polled_platforms() -> list[str]:
    return [name for name, spec in platform_specs().items()
            if spec.capabilities.interaction.list_comments]


def schedule(runtime: Runtime, connection: Any) -> bool:
    """One planning job per interval (called by every reconciler sweep; the first wins)."""
    interval = runtime.settings.intake_interval_s
    if withdrawal_gate.active(connection):  # planned once the withdrawal is done
        return False
    if not connection.set(DUE_KEY, 1, nx=True, ex=max(interval, 1)):
        return False
    from rq import Queue

    from ...fanout.queueing import MAINTENANCE_QUEUE, queue

    queue(connection, MAINTENANCE_QUEUE).enqueue_many([Queue.prepare_data(
        PLAN_JOB, args=(), timeout=300, result_ttl=0, failure_ttl=3600)])
    return True


def plan(runtime: Runtime, connection: Any) -> Plan:
    report = Plan()
    platforms = polled_platforms()
    if not platforms:
        return report
    now = utcnow()
    oldest = now - timedelta(days=runtime.settings.intake_max_age_days)
    with runtime.db.session() as session:
        # Posts that went live since the last plan get a cursor, due at once.
        fresh = (select(Delivery.id, Delivery.account_id, Delivery.platform)
                 .outerjoin(CommentCursor, CommentCursor.delivery_id == Delivery.id)
                 .where(Delivery.state == "published", Delivery.platform.in_(platforms),
                        Delivery.published_at >= oldest, CommentCursor.delivery_id.is_(None))
                 .limit(NEW_CURSORS))
        rows = session.execute(fresh).all()
        if rows:
            session.execute(insert(CommentCursor), [
                {"delivery_id": d, "account_id": a, "platform": p, "seen": 0, "failures": 0,
                 "next_poll_at": now} for d, a, p in rows])
            report.created = len(rows)
        due = session.execute(
            select(CommentCursor.delivery_id, CommentCursor.platform)
            .where(CommentCursor.next_poll_at <= now)
            .order_by(CommentCursor.next_poll_at).limit(MAX_PLANNED)).all()
        ids = [d for d, _ in due]
        for start in range(0, len(ids), 1000):
            session.execute(update(CommentCursor).where(
                CommentCursor.delivery_id.in_(ids[start:start + 1000]))
                .values(next_poll_at=now + LEASE).execution_options(synchronize_session=False))
    by_platform: dict[str, list[str]] = {}
    for delivery_id, platform in due:
        by_platform.setdefault(platform, []).append(delivery_id)
    report.planned = {p: len(v) for p, v in by_platform.items()}
    report.jobs = enqueue(connection, by_platform, runtime.settings.intake_batch)
    return report


def enqueue(connection: Any, by_platform: dict[str, list[str]], batch: int) -> int:
    from rq import Queue

    from ...fanout.queueing import MAINTENANCE_QUEUE, queue

    chunks = {p: [ids[i:i + batch] for i in range(0, len(ids), batch)]
              for p, ids in by_platform.items()}
    jobs = []
    while any(chunks.values()):  # platforms interleaved: one slow platform holds none back
        for platform in list(chunks):
            if chunks[platform]:
                jobs.append(Queue.prepare_data(POLL_JOB, args=(platform, chunks[platform].pop(0)),
                                               timeout=600, result_ttl=60, failure_ttl=3600))
    if jobs:
        queue(connection, MAINTENANCE_QUEUE).enqueue_many(jobs)
    return len(jobs)
