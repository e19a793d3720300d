"""``TokenCache`` in one process's memory, for unit tests of adapters that need no Redis."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from adapters.tokens import _lock_timeout_error


class MemoryTokenCache:
    """``TokenCache`` in one process's memory, for pure unit tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"MemoryTokenCache({len(self._values)} keys)"

    async def get(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if self._clock() >= expires_at:
            del self._values[key]
            return None
        return value

    async def set(self, key: str, value: str, ttl_s: int) -> None:
        self._values[key] = (value, self._clock() + max(int(ttl_s), 1))

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def get_many(self, keys: list[str]) -> list[str | None]:
        return [await self.get(key) for key in keys]

    async def set_many(self, values: dict[str, str], ttl_s: int) -> None:
        for key, value in values.items():
            await self.set(key, value, ttl_s)

    @contextlib.asynccontextmanager
    async def lock(
        self, key: str, timeout_s: float = 10, *, wait_s: float | None = None
    ) -> AsyncIterator[None]:
        waited = timeout_s if wait_s is None else wait_s
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with asyncio.timeout(waited):
                await lock.acquire()
        except TimeoutError:
            raise _lock_timeout_error(key, waited) from None
        try:
            yield
        finally:
            lock.release()
