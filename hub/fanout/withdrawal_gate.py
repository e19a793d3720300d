"""Background work gives way to a withdrawal running anywhere in the deployment.

Comment intake (and other maintenance work) shares the workers' two cores and PostgreSQL
with the withdrawal. Waiting for a withdrawal *job on the queue* is not enough to keep out of
its way: a sliced withdrawal's queue is empty between slices, and the job may run on another
worker. So a withdrawal marks itself in Redis (``ACTIVE_KEY``, living ``HOLD_S``): the click
marks it before it touches the database, and every worker holding withdrawal batches renews
it (``Marker``) until HOLD_S after its last batch ends. Background jobs ask ``Gate``: stop
(a withdrawal job waits for this worker), pause (a withdrawal runs somewhere), or go.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from rq import Queue

from .queueing import WITHDRAW_QUEUE

ACTIVE_KEY = "yunchu:withdrawal:active"
WITHDRAW_QUEUE_KEY = Queue.redis_queue_namespace_prefix + WITHDRAW_QUEUE
HOLD_S = 5  # the mark outlives the last withdrawal batch by this much
RENEW_S = 1.0  # a worker renews the mark at most this often
CHECK_S = 0.05  # a gate asks Redis at most this often
PAUSE_S = 0.05
MAX_PAUSE_S = 60.0  # a paused job hands its work back after this long


def mark(connection: Any) -> None:
    """A withdrawal starts (synchronous Redis: the click)."""
    connection.set(ACTIVE_KEY, 1, ex=HOLD_S)


def active(connection: Any) -> bool:
    """Whether a withdrawal runs somewhere (synchronous Redis: planners)."""
    try:
        return bool(connection.exists(ACTIVE_KEY))
    except Exception:  # noqa: BLE001 - a courtesy: background work goes on without Redis
        return False


class Marker:
    """A worker's side: renews the mark while it holds withdrawal batches."""

    def __init__(self) -> None:
        self.renewed = 0.0

    async def renew(self, redis: Any, *, force: bool = False) -> None:
        if not force and time.monotonic() - self.renewed < RENEW_S:
            return
        self.renewed = time.monotonic()
        # The withdrawal itself never waits on its mark.
        with contextlib.suppress(Exception):
            await redis.set(ACTIVE_KEY, 1, ex=HOLD_S)


class Gate:
    """A background job's side. ``now()``: True when the job should stop and hand its work
    back (a withdrawal job waits on the queue: the worker's RQ loop must take it); False when
    it may go on. While a withdrawal runs elsewhere, or on this worker's own loop
    (``local_load``), it pauses, starting nothing (handing back and taking the next job
    would only churn), for at most MAX_PAUSE_S."""

    def __init__(self, redis: Any, local_load: Any = lambda: 0) -> None:
        self.redis = redis
        self.local_load = local_load
        self.checked = 0.0
        self.waiting = False
        self.running = False

    async def _ask(self) -> None:
        if time.monotonic() - self.checked < CHECK_S:
            return
        self.checked = time.monotonic()
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.llen(WITHDRAW_QUEUE_KEY)
            pipe.exists(ACTIVE_KEY)
            queued, marked = await pipe.execute()
            self.waiting, self.running = bool(queued), bool(marked)
        except Exception:  # noqa: BLE001 - only a courtesy: the job goes on
            self.waiting = self.running = False

    async def waiting_now(self) -> bool:
        """A withdrawal job waits on its queue."""
        await self._ask()
        return self.waiting

    async def busy_now(self) -> bool:
        """A withdrawal waits or runs anywhere (reads in flight are worth cancelling)."""
        await self._ask()
        return self.waiting or self.running or self.local_load() > 0

    async def now(self) -> bool:
        started = time.monotonic()
        while True:
            await self._ask()
            if self.waiting:
                return True
            if not self.running and self.local_load() <= 0:
                return False
            if time.monotonic() - started >= MAX_PAUSE_S:
                return True
            await asyncio.sleep(PAUSE_S)
