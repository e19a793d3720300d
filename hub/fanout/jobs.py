"""RQ entry points. The worker process installs its executor here once at start."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .executor import BatchReport, Executor
from .loop import LoopThread

log = logging.getLogger("yunchu.fanout")

_state: dict[str, Any] = {}


def install(executor: Executor, loop: LoopThread) -> None:
    _state["executor"], _state["loop"] = executor, loop


def run_batch(action: str, platform: str, ids: Sequence[str]) -> dict[str, Any]:
    executor: Executor | None = _state.get("executor")
    loop: LoopThread | None = _state.get("loop")
    if executor is None or loop is None:
        raise RuntimeError("run_batch must run inside `yunchu worker`")
    if action == "status":
        from .status import poll

        return loop.run(poll(executor, platform, ids))
    report: BatchReport = loop.run(executor.run_batch(action, platform, ids))
    log.info("%s %s: claimed %d of %d -> %s", action, platform, report.claimed, len(ids),
             report.states)
    return {"claimed": report.claimed, "states": report.states}
