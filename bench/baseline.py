"""The idiomatic design the benchmark compares against: one RQ job per delivery on a forking
worker, one synchronous HTTP exchange at a time (Redash/Superdesk shape). Same rows, same
claims, same adapters; only the shape of the work differs. Used by `yunchu bench --baseline`.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from hub.fanout.executor import Executor
from hub.fanout.vocabulary import Action
from hub.infra.config import load_settings
from hub.infra.runtime import Runtime

BASELINE_QUEUE = "yunchu-baseline"
_runtime: dict[str, Any] = {}


def _executor() -> Executor:
    if "runtime" not in _runtime:
        _runtime["runtime"] = Runtime(load_settings())
    runtime = _runtime["runtime"]
    runtime.db.engine.dispose(close=False)  # a forked job must not share the parent's sockets
    return Executor(runtime, f"{socket.gethostname()}:{os.getpid()}:baseline", concurrency=1)


def deliver_one(action: str, platform: str, delivery_id: str) -> str:
    """One delivery per job: a fresh client, one call after another, then exit."""
    return asyncio.run(_one(action, platform, delivery_id))


async def _one(action: str, platform: str, delivery_id: str) -> str:
    executor = _executor()
    await executor.start()
    try:
        report = await executor.run_batch(Action(action), platform, [delivery_id])
        return ",".join(report.states) or "none"
    finally:
        await executor.close()


def run_baseline_worker() -> None:
    from rq import Worker
    from rq.serializers import JSONSerializer

    from hub.fanout.queueing import queue

    runtime = Runtime(load_settings())
    _runtime["runtime"] = runtime
    worker = Worker([queue(runtime.redis, BASELINE_QUEUE)], connection=runtime.redis,
                    serializer=JSONSerializer)
    worker.work(burst=False, logging_level="WARNING", with_scheduler=False)


if __name__ == "__main__":
    run_baseline_worker()
