"""Token caches: RedisTokenCache against the real Redis, MemoryTokenCache on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from adapters.base import Retryable
from adapters.tokens import RedisTokenCache
from tests.platform_core.scaffold import remove_prefixed
from tests.support.token_cache import MemoryTokenCache

Scenario = Callable[[RedisTokenCache, RedisTokenCache, aioredis.Redis], Awaitable[Any]]


def with_two_clients(redis_url: str, prefix: str, scenario: Scenario) -> Any:
    """Two independent Redis connections (two workers) sharing one prefix; keys removed after."""

    async def run() -> Any:
        first = aioredis.Redis.from_url(redis_url)
        second = aioredis.Redis.from_url(redis_url)
        try:
            return await scenario(
                RedisTokenCache(first, prefix=prefix), RedisTokenCache(second, prefix=prefix), first
            )
        finally:
            await remove_prefixed(first, prefix)
            await first.aclose()
            await second.aclose()

    return asyncio.run(run())


@pytest.fixture
def prefix(unique_name: str) -> str:
    return f"yunchu:test:{unique_name}:tok:"


def test_values_round_trip_between_workers_with_ttl(redis_url: str, prefix: str) -> None:
    async def scenario(a: RedisTokenCache, b: RedisTokenCache, raw: aioredis.Redis) -> None:
        assert await b.get("wechat:wx1") is None
        await a.set("wechat:wx1", "tok-1", ttl_s=7000)
        assert await b.get("wechat:wx1") == "tok-1"
        assert 6990 <= await raw.ttl(prefix + "wechat:wx1") <= 7000
        await a.set("wechat:wx1", "tok-2", ttl_s=0)  # clamped: Redis refuses a zero expiry
        assert await b.get("wechat:wx1") == "tok-2"
        await b.delete("wechat:wx1")
        assert await a.get("wechat:wx1") is None
        await b.delete("never-set")

    with_two_clients(redis_url, prefix, scenario)


def test_keys_stay_under_the_prefix(redis_url: str, prefix: str) -> None:
    async def scenario(a: RedisTokenCache, b: RedisTokenCache, raw: aioredis.Redis) -> None:
        await a.set("weibo:u1", "TOKEN-XYZ", ttl_s=60)
        other = RedisTokenCache(raw, prefix=prefix + "other:")
        assert await other.get("weibo:u1") is None
        assert await raw.exists(prefix + "weibo:u1") == 1
        assert "TOKEN-XYZ" not in repr(a)

    with_two_clients(redis_url, prefix, scenario)


def test_reads_of_one_loop_turn_share_one_mget(redis_url: str, prefix: str) -> None:
    async def scenario(a: RedisTokenCache, b: RedisTokenCache, raw: aioredis.Redis) -> Any:
        await b.set_many({f"k{i}": f"v{i}" for i in range(0, 300, 2)}, ttl_s=60)
        trips: list[int] = []
        mget = raw.mget

        async def counted(keys, *more):
            trips.append(len(keys))
            return await mget(keys, *more)

        raw.mget = counted  # type: ignore[method-assign]
        singles = [a.get(f"k{i}") for i in range(300)]
        pairs = [a.get_many([f"k{i}", "k0"]) for i in range(0, 300, 3)]
        answers = await asyncio.gather(*singles, *pairs)
        return trips, answers[:300], answers[300:]

    trips, singles, pairs = with_two_clients(redis_url, prefix, scenario)
    assert singles == [f"v{i}" if i % 2 == 0 else None for i in range(300)]
    assert pairs == [[f"v{i}" if i % 2 == 0 else None, "v0"] for i in range(0, 300, 3)]
    assert trips == [300]  # 400 reads, one round trip, each key asked once


def test_a_failed_trip_reaches_every_reader_and_the_next_turn_reads_again(
    redis_url: str, prefix: str
) -> None:
    async def scenario(a: RedisTokenCache, b: RedisTokenCache, raw: aioredis.Redis) -> Any:
        await b.set("k", "v", ttl_s=60)
        mget = raw.mget
        failures = [ConnectionError("redis went away")]

        async def flaky(keys, *more):
            if failures:
                raise failures.pop()
            return await mget(keys, *more)

        raw.mget = flaky  # type: ignore[method-assign]
        results = await asyncio.gather(*(a.get("k") for _ in range(5)), return_exceptions=True)
        return results, await a.get("k")

    results, after = with_two_clients(redis_url, prefix, scenario)
    # Redis away is a transient failure of the call (the adapters' taxonomy), not a crash.
    assert all(isinstance(r, Retryable) for r in results) and len(results) == 5
    assert after == "v"


def test_writes_of_one_loop_turn_share_one_pipeline(redis_url: str, prefix: str) -> None:
    async def scenario(a: RedisTokenCache, b: RedisTokenCache, raw: aioredis.Redis) -> Any:
        trips: list[int] = []
        pipeline = raw.pipeline

        def counted(*args, **kwargs):
            pipe = pipeline(*args, **kwargs)
            execute = pipe.execute

            async def execute_counted(*more, **kw):
                trips.append(len(pipe.command_stack))
                return await execute(*more, **kw)

            pipe.execute = execute_counted  # type: ignore[method-assign]
            return pipe

        raw.pipeline = counted  # type: ignore[method-assign]
        await asyncio.gather(*(a.set(f"k{i}", f"v{i}", ttl_s=60) for i in range(250)),
                             a.set("k0", "last", ttl_s=60))
        values = await b.get_many([f"k{i}" for i in range(250)])
        return trips, values, await raw.ttl(prefix + "k7")

    trips, values, ttl = with_two_clients(redis_url, prefix, scenario)
    assert trips == [251]  # 251 writes, one round trip
    assert values == ["last"] + [f"v{i}" for i in range(1, 250)]  # in order: the last one wins
    assert 50 <= ttl <= 60


def test_a_failed_write_trip_reaches_every_writer(redis_url: str, prefix: str) -> None:
    async def scenario(a: RedisTokenCache, b: RedisTokenCache, raw: aioredis.Redis) -> Any:
        pipeline = raw.pipeline
        failures = [ConnectionError("redis went away")]

        def flaky(*args, **kwargs):
            pipe = pipeline(*args, **kwargs)
            execute = pipe.execute

            async def execute_flaky(*more, **kw):
                if failures:
                    raise failures.pop()
                return await execute(*more, **kw)

            pipe.execute = execute_flaky  # type: ignore[method-assign]
            return pipe

        raw.pipeline = flaky  # type: ignore[method-assign]
        results = await asyncio.gather(*(a.set(f"k{i}", "v", ttl_s=60) for i in range(5)),
                                       return_exceptions=True)
        await a.set("k0", "again", ttl_s=60)
        return results, await b.get("k0")

    results, after = with_two_clients(redis_url, prefix, scenario)
    assert all(isinstance(r, Retryable) for r in results) and len(results) == 5
    assert after == "again"


def test_an_unreachable_redis_is_retryable_for_every_operation() -> None:
    from tests.plugins.services import free_port

    async def scenario() -> list[BaseException]:
        client = aioredis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
        cache = RedisTokenCache(client, prefix="t:")
        errors = []
        for operation in (lambda: cache.get("k"), lambda: cache.set("k", "v", 60),
                          lambda: cache.delete("k"), lambda: cache.set_many({"k": "v"}, 60)):
            try:
                await operation()
            except BaseException as err:  # noqa: BLE001 - collected for the assertion
                errors.append(err)
        try:
            async with cache.lock("k", timeout_s=1):
                pass
        except BaseException as err:  # noqa: BLE001
            errors.append(err)
        await client.aclose()
        return errors

    errors = asyncio.run(scenario())
    assert len(errors) == 5 and all(isinstance(e, Retryable) for e in errors), errors


def test_lock_is_exclusive_between_two_clients(redis_url: str, prefix: str) -> None:
    async def scenario(a: RedisTokenCache, b: RedisTokenCache, raw: aioredis.Redis) -> list[str]:
        events: list[str] = []
        a_holds = asyncio.Event()
        release_a = asyncio.Event()

        async def worker_a() -> None:
            async with a.lock("wechat:wx1"):
                events.append("a in")
                a_holds.set()
                await release_a.wait()
                events.append("a out")

        async def worker_b() -> None:
            await a_holds.wait()
            async with b.lock("wechat:wx1", wait_s=5):
                events.append("b in")

        task_a = asyncio.create_task(worker_a())
        task_b = asyncio.create_task(worker_b())
        await a_holds.wait()
        await asyncio.sleep(0.3)  # b is polling for the lock meanwhile
        events.append("releasing a")
        release_a.set()
        await asyncio.gather(task_a, task_b)
        return events

    events = with_two_clients(redis_url, prefix, scenario)
    assert events == ["a in", "releasing a", "a out", "b in"]


def test_waiting_too_long_for_the_lock_is_retryable(redis_url: str, prefix: str) -> None:
    async def scenario(a: RedisTokenCache, b: RedisTokenCache, raw: aioredis.Redis) -> None:
        async with a.lock("weibo:u1"):
            with pytest.raises(Retryable, match="令牌刷新锁"):
                async with b.lock("weibo:u1", wait_s=0.2):
                    pytest.fail("b must not get the lock while a holds it")
            async with b.lock("weibo:u2", wait_s=0.2):  # other keys are independent
                pass

    with_two_clients(redis_url, prefix, scenario)


def test_a_crashed_holders_lock_expires(redis_url: str, prefix: str) -> None:
    async def scenario(a: RedisTokenCache, b: RedisTokenCache, raw: aioredis.Redis) -> None:
        abandoned = a.lock("douyin:o1", timeout_s=0.5)
        await abandoned.__aenter__()  # taken and never released: the worker died
        async with b.lock("douyin:o1", wait_s=5):
            assert await raw.exists(prefix + "lock:douyin:o1") == 1

    with_two_clients(redis_url, prefix, scenario)


def test_a_lock_that_expired_while_held_exits_quietly(redis_url: str, prefix: str) -> None:
    async def scenario(a: RedisTokenCache, b: RedisTokenCache, raw: aioredis.Redis) -> None:
        async with a.lock("douyin:o2", timeout_s=0.2):
            await asyncio.sleep(0.4)
            async with b.lock("douyin:o2", wait_s=0.1, timeout_s=5):
                pass  # b took and released it meanwhile
        # a's release did not delete someone else's lock, and did not raise
        assert await raw.exists(prefix + "lock:douyin:o2") == 0

    with_two_clients(redis_url, prefix, scenario)


# ---------------------------------------------------------------- memory cache


def test_memory_cache_expires_on_its_clock() -> None:
    now = [1000.0]
    cache = MemoryTokenCache(clock=lambda: now[0])

    async def scenario() -> None:
        await cache.set("k", "v", ttl_s=60)
        assert await cache.get("k") == "v"
        now[0] += 59.9
        assert await cache.get("k") == "v"
        now[0] += 0.1
        assert await cache.get("k") is None
        await cache.set("k", "v2", ttl_s=60)
        await cache.delete("k")
        assert await cache.get("k") is None
        assert "v2" not in repr(cache)

    asyncio.run(scenario())


def test_memory_cache_lock_is_exclusive_and_times_out() -> None:
    cache = MemoryTokenCache()

    async def scenario() -> None:
        async with cache.lock("k"):
            with pytest.raises(Retryable):
                async with cache.lock("k", wait_s=0.05):
                    pytest.fail("second holder")
            async with cache.lock("other", wait_s=0.05):
                pass
        async with cache.lock("k", wait_s=0.05):
            pass

    asyncio.run(scenario())
