"""`yunchu worker`: an RQ worker that runs batch jobs on a persistent event loop, plus the
reconciler thread (one active across all workers, by a Redis lock).

The worker's name (host:pid:random) is the ``lease_owner`` of every delivery it claims and the
``<worker>`` of its Redis alive key: the executor's heartbeat keeps both alive while the
process runs, and the reconciler re-drives the claims of a worker whose key is gone."""

from __future__ import annotations

import itertools
import logging
import os
import socket
import time
import uuid

import redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from .fanout import jobs
from .fanout.executor import Executor
from .fanout.loop import LoopThread
from .fanout.queueing import QUEUE_ORDER, queue
from .fanout.reconciler import Reconciler
from .infra.gctune import tune_gc
from .infra.runtime import Runtime

log = logging.getLogger("yunchu.worker")
RESUME_AFTER_S = 1.0


def _dump_tasks_on_sigusr1(loop: LoopThread) -> None:
    """`kill -USR1 <pid>` prints every pending asyncio task's stack (diagnosing a stuck batch)."""
    import asyncio
    import signal
    import sys

    def dump() -> None:
        for task in asyncio.all_tasks(loop.loop):
            task.print_stack(limit=12, file=sys.stderr)

    signal.signal(signal.SIGUSR1, lambda *_: loop.loop.call_soon_threadsafe(dump))


class FanoutWorker(SimpleWorker):
    # RQ backs off 1, 2, 4 ... 60 s between attempts when Redis does not answer its dequeue:
    # after a Redis restart the rig saw every worker idle for a minute with work queued.
    # The claims and the reconciler do not depend on it, so it simply tries again soon.
    max_connection_wait_time = 2.0


def _work(connection: redis.Redis, owner: str, burst: bool) -> None:
    """The RQ loop. RQ quits it on any Redis error (a timeout, a server still loading its
    append-only file after a restart): a long-running worker starts it again instead of
    exiting with its executor and heartbeat still fine. A resumed loop registers under a new
    RQ name (the old registration may not have been removed); the lease owner stays."""
    for run in itertools.count():
        worker = FanoutWorker([queue(connection, name) for name in QUEUE_ORDER],
                              connection=connection, serializer=JSONSerializer,
                              name=owner if run == 0 else f"{owner}.{run}")
        try:
            worker.work(burst=burst, logging_level="WARNING", with_scheduler=False)
        except redis.RedisError as err:  # raised from RQ's own teardown
            log.warning("the RQ loop failed (%s)", type(err).__name__)
        if burst or _asked_to_stop(worker):
            return
        log.warning("the RQ loop stopped (Redis away?); resuming in %.0f s", RESUME_AFTER_S)
        time.sleep(RESUME_AFTER_S)
        if _asked_to_stop(worker):  # a signal during the pause
            return


def _asked_to_stop(worker: FanoutWorker) -> bool:
    """SIGTERM or SIGINT reached the loop: RQ marks a busy worker ``_stop_requested`` but
    only dates the request of an idle one (and leaves its loop by StopRequested)."""
    return worker._stop_requested or worker._shutdown_requested_date is not None


def run_worker(runtime: Runtime, *, burst: bool = False) -> None:
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    loop = LoopThread()
    executor = Executor(runtime, owner)
    loop.run(executor.start())
    jobs.install(executor, loop)
    if not burst:  # a long-running worker process, not a drain inside another program
        tune_gc()
    _dump_tasks_on_sigusr1(loop)
    reconciler = None
    if not burst:
        reconciler = Reconciler(runtime, owner, runtime.settings.reconcile_interval_s)
        reconciler.start()
    log.info("worker %s listening on %s", owner, ", ".join(QUEUE_ORDER))
    try:
        _work(runtime.redis, owner, burst)
    finally:
        if reconciler:
            reconciler.stopping.set()
        try:  # batches still running in the background finish (bounded by their lease)
            loop.run(executor.drain(), timeout=runtime.settings.lease_s)
        except TimeoutError:
            log.warning("stopping with batches still running; their leases will expire")
        loop.run(executor.close(), timeout=10)
        loop.stop()
