"""Which workers are alive, from Redis keys they refresh every second or so.

A worker holds two keys, written together by its heartbeat:

- ``yunchu:alive:<worker>``, with a TTL of ``YUNCHU_WORKER_ALIVE_S`` (3 s): gone means the
  process stopped beating (killed, crashed, frozen);
- ``yunchu:known:<worker>``, with a TTL of an hour: this worker beats at all.

A worker is dead when it is known and not alive. One that is not known says nothing: a worker
of an older version that does not beat, or Redis that lost its keys (flushed, failed over,
restarted empty), after which the live workers are known and alive again at their next beat.
Its claims then wait for their lease to run out, as before there were heartbeats.

Each beat also records the worker in ``yunchu:workers`` (a sorted set, scored by the beat's
time), so the reconciler finds the dead from Redis alone, and forgets one once every lease it
held has run out. It used to ask PostgreSQL which workers hold claims, at every sweep: a scan of
the in-flight index, which at 100,000 deliveries holds an entry for every row that passed
through it (30-40 ms a sweep).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis

ALIVE_PREFIX = "yunchu:alive:"
KNOWN_PREFIX = "yunchu:known:"
WORKERS_KEY = "yunchu:workers"
KNOWN_TTL_S = 3600


def beat(connection: redis.Redis, worker: str, alive_s: float) -> None:
    """Say ``worker`` is alive for the next ``alive_s`` seconds."""
    pipe = connection.pipeline(transaction=True)
    pipe.set(ALIVE_PREFIX + worker, 1, px=max(1, int(alive_s * 1000)))
    pipe.set(KNOWN_PREFIX + worker, 1, ex=KNOWN_TTL_S)
    pipe.zadd(WORKERS_KEY, {worker: time.time()})
    pipe.execute()


def stopped(connection: redis.Redis, worker: str) -> None:
    """A worker stopping cleanly: what it still holds is free at the next sweep."""
    connection.delete(ALIVE_PREFIX + worker)


def dead(connection: redis.Redis, workers: Iterable[str]) -> list[str]:
    """The workers among ``workers`` that are known and no longer alive."""
    names = sorted(set(workers))
    if not names:
        return []
    pipe = connection.pipeline(transaction=True)  # both keys of a worker read at one instant
    for name in names:
        pipe.exists(KNOWN_PREFIX + name)
        pipe.exists(ALIVE_PREFIX + name)
    found = pipe.execute()
    return [name for i, name in enumerate(names) if found[2 * i] and not found[2 * i + 1]]


# Forget a worker only if it has not beaten since it was read (then it is alive again).
_FORGET_IF_SILENT = """
local score = redis.call('zscore', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  return redis.call('zrem', KEYS[1], ARGV[1])
end
return 0
"""


def silent(connection: redis.Redis) -> dict[str, float]:
    """The workers that beat at some point and are dead now, with their last beat's time.
    Entries older than ``KNOWN_TTL_S`` are dropped on the way."""
    connection.zremrangebyscore(WORKERS_KEY, "-inf", time.time() - KNOWN_TTL_S)
    beats = {(w.decode() if isinstance(w, bytes) else w): score
             for w, score in connection.zrange(WORKERS_KEY, 0, -1, withscores=True)}
    return {worker: beats[worker] for worker in dead(connection, beats)}


def forget(connection: redis.Redis, workers: dict[str, float]) -> None:
    """Their claims were taken back: leave them out of later sweeps, unless one has beaten
    since its ``workers`` time was read (a frozen process that woke up)."""
    for worker, last_beat in workers.items():
        connection.eval(_FORGET_IF_SILENT, 1, WORKERS_KEY, worker, repr(last_beat))
