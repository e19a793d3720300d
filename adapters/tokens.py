"""Access-token caches shared by all workers, plus a lock so one worker refreshes an app's token.

Values are tokens: they never appear in reprs, messages or logs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.exceptions import LockError, RedisError

from adapters.base import Retryable


def _lock_timeout_error(key: str, waited_s: float) -> Retryable:
    return Retryable(
        f"等待令牌刷新锁超时 (waited {waited_s:g}s for the token refresh lock of {key})"
    )


def _unreachable(err: BaseException) -> BaseException:
    """Redis away (restarting, cut off) is a transient failure of the call, in the adapters'
    taxonomy, not an engine crash."""
    if isinstance(err, RedisError | OSError):
        return Retryable(f"令牌缓存暂不可用 (the token cache is unreachable: {type(err).__name__})")
    return err


@contextlib.asynccontextmanager
async def _redis_trip() -> AsyncIterator[None]:
    try:
        yield
    except (RedisError, OSError) as err:
        raise _unreachable(err) from None


class RedisTokenCache:
    """``TokenCache`` on Redis; keys live under ``prefix``, locks under ``prefix + "lock:"``.

    Reads asked for in the same event-loop turn go to Redis as one MGET: a batch of calls
    starting together (hundreds per worker) costs a few round trips, not one each.
    """

    MAX_PER_TRIP = 1000

    def __init__(self, redis: aioredis.Redis, prefix: str = "yunchu:tok:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._waiting: deque[tuple[list[str], asyncio.Future[list[str | None]]]] = deque()
        self._reader: asyncio.Task | None = None

    def __repr__(self) -> str:
        return f"RedisTokenCache(prefix={self._prefix!r})"

    async def get(self, key: str) -> str | None:
        return (await self._read([key]))[0]

    async def get_many(self, keys: list[str]) -> list[str | None]:
        """One round trip for several keys (shared with this loop turn's other reads)."""
        if not keys:
            return []
        return await self._read(keys)

    async def _read(self, keys: list[str]) -> list[str | None]:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[str | None]] = loop.create_future()
        self._waiting.append((keys, answer))
        if self._reader is None or self._reader.done() or self._reader.get_loop() is not loop:
            self._reader = loop.create_task(self._read_waiting())
        return await answer

    async def _read_waiting(self) -> None:
        await asyncio.sleep(0)  # let the rest of this loop turn's reads join the trip
        while self._waiting:
            trip: list[tuple[list[str], asyncio.Future[list[str | None]]]] = []
            wanted: dict[str, None] = {}
            while self._waiting and (not trip or len(wanted) < self.MAX_PER_TRIP):
                keys, answer = self._waiting.popleft()
                trip.append((keys, answer))
                wanted.update(dict.fromkeys(keys))
            try:
                names = list(wanted)
                values = await self._redis.mget([self._prefix + key for key in names])
            except BaseException as err:  # noqa: BLE001 - every reader hears of the failure
                for _, answer in trip:
                    if not answer.done():
                        answer.set_exception(_unreachable(err))
                if isinstance(err, asyncio.CancelledError):
                    raise
                continue
            found = {name: _text(value) for name, value in zip(names, values, strict=True)}
            for keys, answer in trip:
                if not answer.done():
                    answer.set_result([found[key] for key in keys])

    async def set(self, key: str, value: str, ttl_s: int) -> None:
        # A token with no time left is useless; a zero or negative TTL would be rejected by Redis.
        async with _redis_trip():
            await self._redis.set(self._prefix + key, value, ex=max(int(ttl_s), 1))

    async def delete(self, key: str) -> None:
        async with _redis_trip():
            await self._redis.delete(self._prefix + key)

    async def set_many(self, values: dict[str, str], ttl_s: int) -> None:
        """One round trip for several keys with the same TTL."""
        async with _redis_trip(), self._redis.pipeline(transaction=False) as pipe:
            for key, value in values.items():
                pipe.set(self._prefix + key, value, ex=max(int(ttl_s), 1))
            await pipe.execute()

    @contextlib.asynccontextmanager
    async def lock(
        self, key: str, timeout_s: float = 10, *, wait_s: float | None = None
    ) -> AsyncIterator[None]:
        """Hold the refresh lock of ``key``; it expires after ``timeout_s`` if the holder dies.

        Waits at most ``wait_s`` (default ``timeout_s``: by then a crashed holder's lock has
        expired) and raises ``Retryable`` when the lock could not be taken.
        """
        waited = timeout_s if wait_s is None else wait_s
        lock = self._redis.lock(
            self._prefix + "lock:" + key,
            timeout=timeout_s,
            sleep=0.05,
            blocking_timeout=waited,
            raise_on_release_error=False,
        )
        async with _redis_trip():
            acquired = await lock.acquire()
        if not acquired:
            raise _lock_timeout_error(key, waited)
        try:
            yield
        finally:
            # Redis away at release: the lock runs out on its own timeout.
            with contextlib.suppress(LockError, RedisError, OSError):
                await lock.release()


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
