"""A worker's heartbeat: its Redis alive key, and the leases of every claim it holds.

While the worker lives, ``Heartbeat`` refreshes its alive key every ``YUNCHU_WORKER_ALIVE_S``/3
and renews every claim it holds every ``YUNCHU_LEASE_S``/3, each from its own thread, so
neither a slow platform nor a busy thread pool lets a live worker's claims go. When it dies,
the alive key runs out within seconds and the reconciler re-drives the claims (see
``liveness`` and ``reconciler``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from ..infra.runtime import Runtime
from . import claims, liveness

log = logging.getLogger("yunchu.fanout")


class Heartbeat:
    def __init__(self, runtime: Runtime, owner: str):
        self.runtime, self.owner = runtime, owner
        self.settings = runtime.settings
        # Claimed deliveries whose outcome is not written yet: renewed until released.
        self.held: set[str] = set()
        self._alive_until = 0.0  # monotonic time until which this worker's alive key exists
        # Times the alive key may have run out while this process lived (stopped, cut off
        # from Redis): the reconciler may have re-driven every claim made before.
        self.lapses = 0
        self._beats: list[asyncio.Task] = []
        self._stopping: asyncio.Event | None = None
        self._redis: redis.Redis | None = None
        # One thread each: a beat never waits behind a renewal, a flush or a claim.
        self._pulse_thread = ThreadPoolExecutor(1, thread_name_prefix="yunchu-pulse")
        self._lease_thread = ThreadPoolExecutor(1, thread_name_prefix="yunchu-lease")

    async def start(self) -> None:
        self._stopping = asyncio.Event()
        alive_s = self.settings.worker_alive_s
        self._redis = redis.Redis.from_url(
            self.settings.redis_url, socket_timeout=max(alive_s, 1.0),
            socket_connect_timeout=max(alive_s, 1.0))
        await self._beat()  # alive before the first claim
        self._beats = [asyncio.create_task(self._pulse()),
                       asyncio.create_task(self._keep_leases())]

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
            await asyncio.gather(*self._beats, return_exceptions=True)
        if self._redis is not None:
            try:  # what this worker still holds is re-driven at the next sweep
                await self._in(self._pulse_thread, liveness.stopped, self._redis, self.owner)
            except Exception as err:  # noqa: BLE001 - then the key simply runs out
                log.warning("could not clear the alive key (%s)", type(err).__name__)
            self._redis.close()
        self._pulse_thread.shutdown(wait=False)
        self._lease_thread.shutdown(wait=False)

    def hold(self, ids: Iterable[str]) -> None:
        self.held.update(ids)

    def release(self, ids: Iterable[str]) -> None:
        """Not renewed any more: written, or left for its lease to run out (then the
        reconciler re-drives it)."""
        self.held.difference_update(ids)

    def holds(self, lapses: int) -> bool:
        """Whether claims made while ``lapses`` was current may still be this worker's: its
        alive key exists and has not run out since. A key that beats again after a gap does
        not give back what the gap may have lost."""
        return self.alive() and self.lapses == lapses

    def alive(self) -> bool:
        """Whether this worker's alive key still exists. Once it may have run out, the
        reconciler may have handed the claims to another worker: no new post goes out."""
        return time.monotonic() < self._alive_until

    async def _in(self, thread: ThreadPoolExecutor, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(thread, call, *args)

    async def _beat(self) -> None:
        assert self._redis is not None
        alive_s = self.settings.worker_alive_s
        sent = time.monotonic()  # the key lives at least alive_s from here
        await self._in(self._pulse_thread, liveness.beat, self._redis, self.owner, alive_s)
        if self._alive_until and sent >= self._alive_until:
            self.lapses += 1
        self._alive_until = sent + alive_s

    async def _pulse(self) -> None:
        every = self.settings.worker_alive_s / 3
        while await self._rest(every):
            try:
                await self._beat()
            except Exception as err:  # noqa: BLE001 - Redis away: beat again in a moment
                log.warning("heartbeat failed (%s)", type(err).__name__)

    async def _keep_leases(self) -> None:
        """Renew every claim this worker holds in one statement, every third of the lease."""
        lease = self.settings.lease_s
        while await self._rest(lease / 3):
            ids = list(self.held)
            if not ids:
                continue
            try:
                await self._in(self._lease_thread, self._renew, ids, lease)
            except Exception as err:  # noqa: BLE001 - the next renewal tries again
                log.warning("renewing %d leases failed (%s)", len(ids), type(err).__name__)

    def _renew(self, ids: list[str], lease: int) -> None:
        with self.runtime.db.session() as session:
            claims.renew(session, self.owner, ids, lease)

    async def _rest(self, seconds: float) -> bool:
        """Sleep ``seconds``; False once stopping."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return True
        return False
