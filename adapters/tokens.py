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

TOKEN_PREFIX = "yunchu:tok:"


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

    Reads asked for in the same event-loop turn go to Redis as one MGET, and writes as one
    pipeline: a batch of calls starting together (hundreds per worker) costs a few round
    trips, not one each.
    """

    MAX_PER_TRIP = 1000

    def __init__(self, redis: aioredis.Redis, prefix: str = TOKEN_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix
        self._waiting: deque[tuple[list[str], asyncio.Future[list[str | None]]]] = deque()
        self._reader: asyncio.Task | None = None
        self._writes: deque[tuple[str, str, int, asyncio.Future[None]]] = deque()
        self._writer: asyncio.Task | None = None

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
        """Returns once Redis has it. Writes asked for in the same loop turn share one
        pipeline: a first push fetches a token per account, hundreds at once, and a round
        trip each was most of the Redis traffic of the push."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        # A token with no time left is useless; a zero or negative TTL would be rejected by Redis.
        self._writes.append((key, value, max(int(ttl_s), 1), done))
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write_waiting())
        await done

    async def _write_waiting(self) -> None:
        await asyncio.sleep(0)  # let the rest of this loop turn's writes join the trip
        while self._writes:
            trip = [self._writes.popleft()
                    for _ in range(min(len(self._writes), self.MAX_PER_TRIP))]
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, value, ttl_s, _ in trip:  # in order: the last write of a key wins
                        pipe.set(self._prefix + key, value, ex=ttl_s)
                    await pipe.execute()
            except BaseException as err:  # noqa: BLE001 - every writer hears of the failure
                for *_, done in trip:
                    if not done.done():
                        done.set_exception(_unreachable(err))
                if isinstance(err, asyncio.CancelledError):
                    raise
                continue
            for *_, done in trip:
                if not done.done():
                    done.set_result(None)

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


class TokenRefreshes:
    """Accounts whose own access token this process fetched anew, and when the new token
    expires (epoch seconds). The fan-out takes an account's entry after its delivery and
    records it with the outcome, so the token health seen in the hub follows refreshes made
    by workers without a database write per platform call."""

    LIMIT = 10_000  # entries nobody took (calls outside the fan-out) are dropped past this

    def __init__(self) -> None:
        self._expires: dict[str, float] = {}

    def note(self, account_id: str, expires_at: float) -> None:
        if not account_id:
            return
        if len(self._expires) >= self.LIMIT:
            self._expires.clear()
        self._expires[account_id] = expires_at

    def take(self, account_id: str) -> float | None:
        return self._expires.pop(account_id, None)
