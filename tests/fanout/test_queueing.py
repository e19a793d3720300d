"""How batches go on the RQ queues, on a real Redis (a private database, flushed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from hub.fanout.queueing import PUSH_QUEUE, WITHDRAW_QUEUE, enqueue_batches, queue
from tests.plugins.services import private_redis_db

QUEUE_REDIS_DB = 8  # private to this file


@pytest.fixture
def connection(redis_server_url: str) -> Iterator[redis.Redis]:
    yield from private_redis_db(redis_server_url, QUEUE_REDIS_DB)


def waiting(connection: redis.Redis) -> list[tuple[str, str]]:
    """(platform, first delivery id) of every waiting withdraw job, in the order workers take."""
    return [(job.args[1], job.args[2][0]) for job in queue(connection, WITHDRAW_QUEUE).jobs]


def rows(prefix: str, n: int, platform: str) -> list[tuple[str, str]]:
    return [(f"{prefix}{i:03d}", platform) for i in range(n)]


def test_batches_interleave_platforms_and_keep_their_order(connection):
    enqueue_batches(connection, "withdraw", rows("a", 5, "wechat") + rows("b", 3, "weibo"), 2)
    assert waiting(connection) == [("wechat", "a000"), ("weibo", "b000"), ("wechat", "a002"),
                                   ("weibo", "b002"), ("wechat", "a004")]


def test_a_smaller_withdrawal_goes_ahead_of_a_bigger_one_already_waiting(connection):
    enqueue_batches(connection, "withdraw", rows("big", 10, "wechat"), 2)  # 5 jobs
    enqueue_batches(connection, "withdraw", rows("small", 3, "douyin"), 2)  # 2 jobs: ahead
    enqueue_batches(connection, "withdraw", rows("huge", 20, "weibo"), 2)  # 10 jobs: behind
    order = waiting(connection)
    assert order[:2] == [("douyin", "small000"), ("douyin", "small002")]
    assert [first for _, first in order[2:7]] == [f"big{i:03d}" for i in range(0, 10, 2)]
    assert [first for _, first in order[7:]] == [f"huge{i:03d}" for i in range(0, 20, 2)]


def test_pushes_keep_arrival_order(connection):
    enqueue_batches(connection, "publish", rows("big", 10, "wechat"), 2)
    enqueue_batches(connection, "publish", rows("small", 2, "douyin"), 2)
    jobs = queue(connection, PUSH_QUEUE).jobs
    assert [job.args[2][0] for job in jobs][-1] == "small000"
