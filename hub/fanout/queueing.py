"""RQ queues and how work is put on them: batches of delivery ids of one platform."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import redis
from rq import Queue
from rq.serializers import JSONSerializer

WITHDRAW_QUEUE, PUSH_QUEUE, MAINTENANCE_QUEUE = "yunchu-withdraw", "yunchu-push", "yunchu-maint"
# A worker always drains withdrawals first, then pushes, then maintenance.
QUEUE_ORDER = (WITHDRAW_QUEUE, PUSH_QUEUE, MAINTENANCE_QUEUE)
JOB_TIMEOUT_S = 600
# A finished job's hash expires after this instead of being deleted at once: RQ's immediate
# delete (result_ttl=0) walks the job's registries and queue, 3-4 % of a worker's CPU.
JOB_RESULT_TTL_S = 60
BATCH_JOB = "hub.fanout.jobs.run_batch"
# The reconciler's mark on a row it has just enqueued (so that sweeps do not pile up jobs for
# it); a worker removes it when it claims the row, so a retry that falls due right after is
# enqueued again at once rather than when the mark runs out.
MARK_PREFIX = "yunchu:enq:"


def queue(connection: redis.Redis, name: str) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def enqueue_batches(connection: redis.Redis, action: str, rows: Iterable[tuple[str, str]],
                    batch_size: int) -> int:
    """Enqueue (delivery id, platform) pairs as per-platform batch jobs; returns the job count."""
    by_platform: dict[str, list[str]] = defaultdict(list)
    for delivery_id, platform in rows:
        by_platform[platform].append(delivery_id)
    name = WITHDRAW_QUEUE if action == "withdraw" else PUSH_QUEUE
    q = queue(connection, name)
    jobs = []
    # Interleave platforms so one slow platform never holds the others back.
    chunks = {p: [ids[i:i + batch_size] for i in range(0, len(ids), batch_size)]
              for p, ids in by_platform.items()}
    while any(chunks.values()):
        for platform in list(chunks):
            if chunks[platform]:
                jobs.append(Queue.prepare_data(BATCH_JOB, args=(action, platform,
                                                                chunks[platform].pop(0)),
                                               timeout=JOB_TIMEOUT_S, result_ttl=JOB_RESULT_TTL_S,
                                               failure_ttl=86400))
    if not jobs:
        return 0
    if action == "withdraw" and len(jobs) < q.count:
        # Smaller than what is already waiting: it goes first. A withdrawal from one county is
        # not held behind a province-wide one, and the big one loses only the small one's time.
        jobs = [job._replace(at_front=True) for job in reversed(jobs)]  # LPUSH reverses
    q.enqueue_many(jobs)
    return len(jobs)


def pending_jobs(connection: redis.Redis) -> int:
    """Jobs waiting or running on the fan-out queues (0 after Redis lost everything)."""
    total = 0
    for name in (WITHDRAW_QUEUE, PUSH_QUEUE):
        q = queue(connection, name)
        total += q.count + q.started_job_registry.count
    return total
