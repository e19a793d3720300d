"""Denials of unauthenticated requests, counted in Redis and written as one summary per minute.

An anonymous caller can send requests as fast as the network allows; writing one audit entry per
401 would let them grow the audit table and hold the chain's append lock at will. Instead each
denial bumps a counter per (method, route, status, code, client address) in the current minute's
Redis hash, and a closed minute is flushed as one ``access.denied`` entry per counter, with its
``count`` and window, in one transaction. The first denial of a new minute flushes the minutes
before it (once across all hub processes), the reconciler sweeps flush what a quiet period left,
and reading the audit log flushes closed minutes first. A minute holds at most ``MAX_KEYS``
counters; past that, denials land in one overflow counter.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .audit import record

if TYPE_CHECKING:
    import redis

    from ..infra.db import Database
    from ..infra.runtime import Runtime

log = logging.getLogger("yunchu.audit")

WINDOW_S = 60
MAX_KEYS = 1000
_KEEP_S = 7 * 24 * 3600  # a window nobody flushed (no hub running) is kept this long
OVERFLOW = json.dumps(["*", "(other routes and addresses)", 0, None, None])

# KEYS: window hash, windows zset. ARGV: field, max fields, overflow field, ttl, window start.
_COUNT = """
local f = ARGV[1]
if redis.call('HEXISTS', KEYS[1], f) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2])
then f = ARGV[3] end
redis.call('HINCRBY', KEYS[1], f, 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], KEYS[1])
return 1
"""


def denial_counter(runtime: Runtime) -> DenialCounter:
    return DenialCounter(runtime.redis, f"yunchu:audit:{runtime.audit.key.key_id}:denied")


def flush_closed(runtime: Runtime, now: float) -> None:
    """Flush the minutes that have ended; never raises (callers are doing something else)."""
    try:
        denial_counter(runtime).flush(runtime.db, now=now)
    except Exception:  # noqa: BLE001 - the counts stay in Redis for the next flush
        log.exception("could not flush the counted denials")


def _window(now: float) -> int:
    return int(now // WINDOW_S) * WINDOW_S


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class DenialCounter:
    def __init__(self, connection: redis.Redis, prefix: str):
        self._redis = connection
        self._prefix = prefix
        self._windows = f"{prefix}:windows"

    def count(self, *, method: str, route: str, status: int, code: str | None,
              source_ip: str | None, now: float) -> bool:
        """Count one denial; True when this call should flush the closed minutes."""
        window = _window(now)
        key = f"{self._prefix}:{window}"
        field = json.dumps([method, route, status, code, source_ip])
        self._redis.eval(_COUNT, 2, key, self._windows, field, MAX_KEYS, OVERFLOW, _KEEP_S,
                         window)
        return bool(self._redis.set(f"{self._prefix}:flushed:{window}", 1, nx=True,
                                    ex=3 * WINDOW_S))

    def flush(self, db: Database, *, now: float, include_current: bool = False) -> int:
        """Write the summaries of closed minutes (and the current one if asked); the number of
        entries written."""
        upper = "+inf" if include_current else f"({_window(now)}"
        written = 0
        for raw in self._redis.zrangebyscore(self._windows, "-inf", upper, withscores=True):
            name, window = raw[0].decode(), int(raw[1])
            claimed = f"{name}:flushing:{uuid.uuid4().hex}"
            try:
                self._redis.rename(name, claimed)  # only one process gets a window's counts
            except Exception:  # noqa: BLE001 - someone else claimed it, or it expired
                self._redis.zrem(self._windows, name)
                continue
            self._redis.zrem(self._windows, name)
            counts = {tuple(json.loads(f)): int(n)
                      for f, n in self._redis.hgetall(claimed).items()}
            try:
                with db.session() as session:
                    for field, n in counts.items():
                        _summarise(session, field, n, window, now, include_current)
            except Exception:  # noqa: BLE001 - put the counts back for the next flush
                log.exception("could not write the denial summaries of %s", _iso(window))
                self._restore(name, window, counts)
            else:
                written += len(counts)
            self._redis.delete(claimed)
        return written

    def _restore(self, name: str, window: int, counts: dict[Any, int]) -> None:
        pipe = self._redis.pipeline()
        for field, n in counts.items():
            pipe.hincrby(name, json.dumps(list(field)), n)
        pipe.expire(name, _KEEP_S).zadd(self._windows, {name: window})
        pipe.execute()


def _summarise(session: Any, field: tuple, count: int, window: int, now: float,
               partial: bool) -> None:
    method, route, status, code, source_ip = field
    end = min(window + WINDOW_S, int(now) + 1) if partial else window + WINDOW_S
    record(session, "access.denied", outcome="denied", target=route[:200], source_ip=source_ip,
           anonymous=True,
           details={"method": method, "path": route, "status": status, "code": code,
                    "count": count, "window_start": _iso(window), "window_end": _iso(end),
                    "aggregated": True})
