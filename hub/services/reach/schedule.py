"""When reach collection runs: the reconciler's sweep puts one planning job on the maintenance
queue once per ``YUNCHU_REACH_INTERVAL_S`` (a Redis key with that TTL decides which sweep, as
for the OAuth refresher), and the plan splits the active accounts of every platform that has a
reach client into jobs of ``YUNCHU_REACH_BATCH`` accounts, also on the maintenance queue, which
workers take only after withdrawals and pushes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ...fanout import withdrawal_gate
from ...infra.runtime import Runtime
from ...models import Account
from ...platforms import specs

DUE_KEY = "yunchu:reach:due"
PLAN_JOB = "hub.fanout.jobs.plan_reach"
JOB = "hub.fanout.jobs.collect_reach"
JOB_TIMEOUT_S = 900


def platforms() -> list[str]:
    return [name for name, spec in specs().items() if spec.reach]


def schedule(runtime: Runtime, connection: Any) -> bool:
    """Called by every reconciler sweep; the first after the interval enqueues the plan
    (never when the interval is 0)."""
    interval = runtime.settings.reach_interval_s
    if interval <= 0 or withdrawal_gate.active(connection):  # after the withdrawal, then
        return False
    if not connection.set(DUE_KEY, 1, nx=True, ex=interval):
        return False
    _enqueue(connection, [(PLAN_JOB, ())])
    return True


def plan(runtime: Runtime, connection: Any) -> dict[str, int]:
    """Enqueue one collection job per batch of active accounts; returns jobs per platform."""
    batch = max(runtime.settings.reach_batch, 1)
    jobs: dict[str, int] = {}
    with runtime.db.session() as session:
        for platform in platforms():
            ids = list(session.scalars(select(Account.id).where(
                Account.platform == platform, Account.status == "active").order_by(Account.id)))
            chunks = [ids[i:i + batch] for i in range(0, len(ids), batch)]
            enqueue(connection, platform, chunks)
            jobs[platform] = len(chunks)
    return jobs


def enqueue(connection: Any, platform: str, chunks: list[list[str]]) -> None:
    _enqueue(connection, [(JOB, (platform, chunk)) for chunk in chunks if chunk])


def _enqueue(connection: Any, jobs: list[tuple[str, tuple]]) -> None:
    if not jobs:
        return
    from rq import Queue

    from ...fanout.queueing import MAINTENANCE_QUEUE, queue

    queue(connection, MAINTENANCE_QUEUE).enqueue_many([
        Queue.prepare_data(name, args=args, timeout=JOB_TIMEOUT_S, result_ttl=0,
                           failure_ttl=3600) for name, args in jobs])
