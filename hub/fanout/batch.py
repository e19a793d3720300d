"""One running batch's bookkeeping: outcomes buffered and written in small transactions, and,
for a publish batch, the fence that keeps a withdrawn item's posts from going out.

Outcomes are written when ``FLUSH_AT`` are waiting or ``FLUSH_EVERY_S`` after the last write:
a killed worker loses at most a second of answers, and a batch costs a few transactions. Each
claim stays with the worker's ``Heartbeat`` (renewed) until its outcome is written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import redis.asyncio as aioredis

from ..infra.runtime import Runtime
from . import claims
from .claims import Claimed, Outcome
from .fence import RECHECK_S, WATCH_S, Fence
from .heartbeat import Heartbeat
from .vocabulary import Action

log = logging.getLogger("yunchu.fanout")

FLUSH_AT, FLUSH_EVERY_S = 50, 1.0


class Batch:
    def __init__(self, runtime: Runtime, redis: aioredis.Redis, heartbeat: Heartbeat,
                 action: Action, claimed: Sequence[Claimed]):
        self.runtime, self.heartbeat, self.action = runtime, heartbeat, action
        self.pending: list[Outcome] = []
        self.claimed_ids = [c.id for c in claimed]
        self.fence = Fence(redis, runtime.db, (c.item_id for c in claimed))
        self.flipped: list[str] = []
        self.published_accounts: set[str] = set()
        self.account_of = {c.id: c.account_id for c in claimed}
        self._tasks: list[asyncio.Task] = []
        self._flush_lock = asyncio.Lock()
        # Loops end on this event, not on cancel(): a cancel that lands inside a Redis call
        # can be swallowed by the client, which would leave the batch waiting forever.
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        if self.action is Action.PUBLISH:
            await self.fence.check()
        self._tasks = [asyncio.create_task(self._periodic_flush())]
        if self.action is Action.PUBLISH:
            self._tasks += [asyncio.create_task(self._watch_fence()),
                            asyncio.create_task(self._recheck_fence())]

    def add(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        if outcome.state.is_live:
            self.published_accounts.add(self.account_of[outcome.delivery_id])

    async def finish(self) -> list[str]:
        """Write what is left; returns the deliveries published after their item was
        withdrawn (now queued for removal)."""
        self._stopping.set()
        _, stuck = await asyncio.wait(self._tasks, timeout=15)
        for task in stuck:
            task.cancel()
        for _ in range(5):
            await self.flush()
            if not self.pending:
                break
            await asyncio.sleep(1)
        # Whatever is still unwritten is no longer renewed: its lease runs out and the
        # reconciler re-drives it.
        self.heartbeat.release(self.claimed_ids)
        return self.flipped

    async def _pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False once the batch is finishing."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def flush(self) -> None:
        async with self._flush_lock:
            outcomes, self.pending = self.pending, []
            accounts, self.published_accounts = list(self.published_accounts), set()
            if not outcomes:
                return
            try:
                flipped = await asyncio.to_thread(self._write, outcomes, accounts)
            except Exception as err:  # noqa: BLE001 - keep them; the next flush tries again
                log.warning("recording %d outcomes failed (%s); will retry", len(outcomes),
                            type(err).__name__)
                self.pending = outcomes + self.pending
                self.published_accounts.update(accounts)
                return
            self.flipped += flipped
            self.heartbeat.release(o.delivery_id for o in outcomes)

    def _write(self, outcomes: list[Outcome], accounts: list[str]) -> list[str]:
        with self.runtime.db.session() as session:
            flipped = claims.record(session, self.action, self.heartbeat.owner, outcomes)
            claims.mark_published_accounts(session, accounts)
        return flipped

    async def _periodic_flush(self) -> None:
        last = time.monotonic()
        while await self._pause(0.1):
            if len(self.pending) >= FLUSH_AT or (
                    self.pending and time.monotonic() - last >= FLUSH_EVERY_S):
                await self.flush()
                last = time.monotonic()

    async def _watch_fence(self) -> None:
        while await self._pause(WATCH_S):
            await self.fence.check()

    async def _recheck_fence(self) -> None:
        while await self._pause(RECHECK_S):
            await self.fence.recheck()
