"""Which workers are alive, from Redis keys they refresh every second or so.

A worker holds two keys, written together by its heartbeat:

- ``yunchu:alive:<worker>``, with a TTL of ``YUNCHU_WORKER_ALIVE_S`` (3 s): gone means the
  process stopped beating (killed, crashed, frozen);
- ``yunchu:known:<worker>``, with a TTL of an hour: this worker beats at all.

A worker is dead when it is known and not alive. One that is not known says nothing: a worker
of an older version that does not beat, or Redis that lost its keys (flushed, failed over,
restarted empty), after which the live workers are known and alive again at their next beat.
Its claims then wait for their lease to run out, as before there were heartbeats.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

ALIVE_PREFIX = "yunchu:alive:"
KNOWN_PREFIX = "yunchu:known:"
KNOWN_TTL_S = 3600


def beat(connection: redis.Redis, worker: str, alive_s: float) -> None:
    """Say ``worker`` is alive for the next ``alive_s`` seconds."""
    pipe = connection.pipeline(transaction=True)
    pipe.set(ALIVE_PREFIX + worker, 1, px=max(1, int(alive_s * 1000)))
    pipe.set(KNOWN_PREFIX + worker, 1, ex=KNOWN_TTL_S)
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
