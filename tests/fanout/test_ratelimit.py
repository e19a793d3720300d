"""The shared rate budgets, on a real Redis: per app and per account, across workers, with the
requests of one event-loop turn settled in one script call."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from hub.fanout.ratelimit import Limiter


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rates(monkeypatch: pytest.MonkeyPatch) -> None:
    """cityapp: the app allows 10 at once then 10/s; one account 3 at once then 1/s."""
    monkeypatch.setenv("YUNCHU_RATE_CITYAPP_APP", "10/10")
    monkeypatch.setenv("YUNCHU_RATE_CITYAPP_ACCOUNT", "1/3")


def run(redis_url: str, body):
    async def main():
        client = aioredis.Redis.from_url(redis_url)
        try:
            return await body(client, f"test-rl-{uuid.uuid4().hex}:")
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_an_account_gets_its_burst_then_waits_for_its_rate(redis_url, rates):
    clock = Clock()

    async def body(client, prefix):
        limiter = Limiter(client, prefix, clock=clock)
        first = [await limiter.reserve("cityapp", "app", "acc-1") for _ in range(4)]
        clock.now += 1.0  # one interval later, one more call is allowed
        later = [await limiter.reserve("cityapp", "app", "acc-1") for _ in range(2)]
        return first, later

    first, later = run(redis_url, body)
    assert first[:3] == [0.0, 0.0, 0.0]
    assert first[3] == pytest.approx(1.0)
    assert later[0] == 0.0
    assert later[1] == pytest.approx(1.0)


def test_requests_of_one_loop_turn_share_a_trip_and_are_settled_in_order(redis_url, rates):
    clock = Clock()
    trips = []

    async def body(client, prefix):
        limiter = Limiter(client, prefix, clock=clock)
        ask = limiter._ask

        async def counted(trip):
            trips.append(len(trip))
            return await ask(trip)

        limiter._ask = counted
        # 15 accounts at once: the app's burst of 10 goes to the first 10, in arrival order.
        return await asyncio.gather(*(limiter.reserve("cityapp", "app", f"acc-{i}")
                                      for i in range(15)))

    waits = run(redis_url, body)
    assert trips == [15]
    assert waits[:10] == [0.0] * 10
    assert all(w == pytest.approx(0.1) for w in waits[10:])


def test_platforms_in_one_trip_each_keep_their_own_rates(redis_url, rates, monkeypatch):
    monkeypatch.setenv("YUNCHU_RATE_WEIBO_APP", "10/10")
    monkeypatch.setenv("YUNCHU_RATE_WEIBO_ACCOUNT", "1/1")
    clock = Clock()

    async def body(client, prefix):
        limiter = Limiter(client, prefix, clock=clock)
        calls = [limiter.reserve(platform, "app", "acc-1")
                 for _ in range(4) for platform in ("weibo", "cityapp")]
        return await asyncio.gather(*calls)

    answers = run(redis_url, body)
    weibo, cityapp = answers[0::2], answers[1::2]
    assert weibo == [0, 1.0, 1.0, 1.0]  # burst 1: one now, the next a second later
    assert cityapp[:3] == [0, 0, 0] and cityapp[3] == pytest.approx(1.0)  # burst 3


def test_two_workers_share_the_app_budget(redis_url, rates):
    clock = Clock()

    async def body(client, prefix):
        one, two = Limiter(client, prefix, clock=clock), Limiter(client, prefix, clock=clock)
        a = await asyncio.gather(*(one.reserve("cityapp", "app", f"a{i}") for i in range(6)))
        b = await asyncio.gather(*(two.reserve("cityapp", "app", f"b{i}") for i in range(6)))
        other_app = await two.reserve("cityapp", "other-app", "c0")
        return a, b, other_app

    a, b, other_app = run(redis_url, body)
    granted = [w for w in a + b if w == 0.0]
    assert len(granted) == 10  # the burst, shared
    assert b[-2:] == [pytest.approx(0.1), pytest.approx(0.1)]
    assert other_app == 0.0  # budgets are per app


def test_a_refused_request_takes_nothing(redis_url, rates):
    clock = Clock()

    async def body(client, prefix):
        limiter = Limiter(client, prefix, clock=clock)
        for _ in range(3):
            assert await limiter.reserve("cityapp", "app", "busy") == 0.0
        refused = await limiter.reserve("cityapp", "app", "busy")  # the account is out
        # The app budget was not charged for the refused call: 7 more accounts get through.
        others = await asyncio.gather(*(limiter.reserve("cityapp", "app", f"o{i}")
                                        for i in range(8)))
        return refused, others

    refused, others = run(redis_url, body)
    assert refused > 0
    assert others[:7] == [0.0] * 7
    assert others[7] > 0


def test_a_redis_failure_reaches_every_waiter(redis_url, rates):
    async def body(client, prefix):
        broken = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
        limiter = Limiter(broken, prefix)
        results = await asyncio.gather(*(limiter.reserve("cityapp", "app", f"x{i}")
                                         for i in range(3)), return_exceptions=True)
        await broken.aclose()
        return results

    results = run(redis_url, body)
    assert all(isinstance(r, Exception) for r in results)


def test_reserve_many_answers_what_one_by_one_would_in_one_trip_per_five_hundred(
        redis_url, rates):
    wanted = [("cityapp", "app", f"acc-{i % 4}") for i in range(12)] + \
        [("cityapp", "app", f"other-{i}") for i in range(990)]

    async def body(client, prefix):
        one_by_one = Limiter(client, prefix + "a:", clock=Clock())
        singly = [await one_by_one.reserve(*w) for w in wanted]
        many = Limiter(client, prefix + "b:", clock=Clock())
        trips = []
        ask = many._ask

        async def counted(trip):
            trips.append(len(trip))
            return await ask(trip)

        many._ask = counted
        return singly, await many.reserve_many(wanted), trips

    singly, together, trips = run(redis_url, body)
    assert together == pytest.approx(singly)
    assert singly[:10] == [0.0] * 10 and singly[10] > 0  # the app's burst, then its rate
    assert trips == [500, 500, 2]
