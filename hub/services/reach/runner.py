"""Reach collection inside ``yunchu worker``: the executor's HTTP session, token cache,
credentials and 第三方平台 client, with the reach budget and the withdrawal check."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from adapters.reach import ReachClient
from adapters.tokens import RedisTokenCache

from ...fanout.executor import Executor
from ...fanout.vocabulary import Action
from ...fanout.withdrawal_gate import Gate
from ...platforms import load, specs
from .budget import ReachBudget
from .collector import Context, Report, collect

# By the executor itself, weakly: keyed by ``id(executor)``, a second executor born at the
# address of a closed one (the reach bench makes one per run) was handed its clients, whose
# HTTP session was closed.
_clients: WeakKeyDictionary[Executor, dict[str, ReachClient]] = WeakKeyDictionary()


def clients(executor: Executor) -> dict[str, ReachClient]:
    """One reach client per platform for this executor, built like its adapters."""
    found = _clients.get(executor)
    if found is not None:
        return found
    tokens = RedisTokenCache(executor.redis)
    found = {}
    for name, spec in specs().items():
        if not spec.reach:
            continue
        client = load(spec.reach)(executor.http, tokens)
        publisher = executor.adapters.get(name)
        if publisher is not None:
            client.timeout = publisher.timeout
            if hasattr(publisher, "component"):
                client.component = publisher.component
        found[name] = client
    _clients[executor] = found
    return found


async def run(executor: Executor, platform: str, ids: list[str], *,
              now: datetime | None = None) -> Report:
    """Collect ``ids``; ``now`` stands in for the clock (tests on an advanced sandbox)."""
    client = clients(executor).get(platform)
    if client is None:
        return Report(platform)

    # A withdrawal waiting on the queue takes the worker back; one running anywhere pauses
    # the collection between accounts (hub/fanout/withdrawal_gate.py).
    gate = Gate(executor.redis, lambda: executor._load.get(Action.WITHDRAW, 0))  # noqa: SLF001
    ctx = Context(runtime=executor.runtime, client=client, ref_of=executor.ref_of,
                  budget=ReachBudget(executor.redis, platform), yield_now=gate.now,
                  concurrency=executor.settings.reach_concurrency)
    return await collect(ctx, platform, ids, now=now)


def summary(report: Report) -> dict[str, Any]:
    data = report.as_dict()
    data["deferred"] = len(report.deferred)
    return data
