"""RQ entry points. The worker process installs its executor here once at start."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .executor import BatchReport, Executor
from .loop import LoopThread
from .vocabulary import Action

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
    # Returns once the batch is claimed and running and the worker has room for the next one.
    report: BatchReport = loop.run(executor.admit(Action(action), platform, ids))
    log.debug("%s %s: claimed %d of %d", action, platform, report.claimed, len(ids))
    return {"claimed": report.claimed}


def refresh_authorizations() -> dict[str, Any]:
    """The OAuth refresher (hub/services/onboarding/refresher.py), on the maintenance queue."""
    executor: Executor | None = _state.get("executor")
    if executor is None:
        raise RuntimeError("refresh_authorizations must run inside `yunchu worker`")
    from ..services.onboarding import refresher

    report = refresher.run(executor.runtime)
    if report.ran and (report.refreshed or report.renewed or report.expired or report.revoked):
        log.info("authorisations: %s", report.as_dict())
    return report.as_dict()


def plan_reach() -> dict[str, Any]:
    """Split reach collection into jobs (hub/services/reach/schedule.py), maintenance queue."""
    executor: Executor | None = _state.get("executor")
    if executor is None:
        raise RuntimeError("plan_reach must run inside `yunchu worker`")
    from ..services.reach import schedule

    return schedule.plan(executor.runtime, executor.runtime.redis)


def refresh_reach_rollup(kind: str, start: str) -> dict[str, Any]:
    """Rebuild one ranking period's rollups (hub/services/reach/rollup.py), maintenance
    queue: enqueued by a ranking that found them stale."""
    executor: Executor | None = _state.get("executor")
    if executor is None:
        raise RuntimeError("refresh_reach_rollup must run inside `yunchu worker`")
    from ..models import utcnow
    from ..services.reach import rollup

    period = rollup.period_of(kind, start)
    with executor.runtime.db.session() as session:
        rollup.refresh(session, period, utcnow())
    return {"period": period.id}


def collect_reach(platform: str, ids: Sequence[str]) -> dict[str, Any]:
    """One reach collection job (hub/services/reach/collector.py), maintenance queue. The
    accounts it handed back because a withdrawal was waiting go back on the queue."""
    executor: Executor | None = _state.get("executor")
    loop: LoopThread | None = _state.get("loop")
    if executor is None or loop is None:
        raise RuntimeError("collect_reach must run inside `yunchu worker`")
    from ..services.reach import runner, schedule

    report = loop.run(runner.run(executor, platform, list(ids)))
    if report.deferred:
        schedule.enqueue(executor.runtime.redis, platform, [report.deferred])
    if report.collected or report.failed:
        log.info("reach %s: %s", platform, runner.summary(report))
    return runner.summary(report)
def plan_intake() -> dict[str, Any]:
    """Plan the comment polls that are due (hub/services/interaction/planner.py)."""
    executor: Executor | None = _state.get("executor")
    if executor is None:
        raise RuntimeError("plan_intake must run inside `yunchu worker`")
    from ..services.interaction import planner

    report = planner.plan(executor.runtime, executor.runtime.redis)
    if report.jobs:
        log.info("intake: %s", report.as_dict())
    return report.as_dict()


def intake_comments(platform: str, ids: Sequence[str]) -> dict[str, Any]:
    """Read new comments under a batch of posts (hub/services/interaction/poller.py)."""
    executor: Executor | None = _state.get("executor")
    loop: LoopThread | None = _state.get("loop")
    if executor is None or loop is None:
        raise RuntimeError("intake_comments must run inside `yunchu worker`")
    from ..services.interaction import poller

    return loop.run(poller.poll(executor, platform, ids))


def send_reply(reply_id: str) -> dict[str, Any]:
    """Send one approved reply (hub/services/interaction/sending.py)."""
    executor: Executor | None = _state.get("executor")
    loop: LoopThread | None = _state.get("loop")
    if executor is None or loop is None:
        raise RuntimeError("send_reply must run inside `yunchu worker`")
    from ..services.interaction import sending

    return loop.run(sending.send(executor, reply_id))


def moderate_comment(conversation_id: str, action: str) -> dict[str, Any]:
    """精选 on/off or hide a conversation's comment (hub/services/interaction/sending.py)."""
    executor: Executor | None = _state.get("executor")
    loop: LoopThread | None = _state.get("loop")
    if executor is None or loop is None:
        raise RuntimeError("moderate_comment must run inside `yunchu worker`")
    from ..services.interaction import sending

    return loop.run(sending.moderate(executor, conversation_id, action))
