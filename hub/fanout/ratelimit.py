"""Rate budgets in Redis (GCRA), shared by every worker: per platform app and per account.

Every call a worker is about to make asks for its budget. The requests that arrive within one
turn of the event loop go to Redis together, as one script call that settles them in arrival
order: hundreds of calls in flight cost a few round trips instead of one each (one each was a
tenth of a worker's CPU at 10,000 accounts). Each request reserves on all its keys or on
none, and gets back how long it must wait.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from adapters.spec import Rate

from ..platforms import names as platform_names
from ..platforms import spec as platform_spec

# KEYS: every distinct key of the requests. ARGV: now; the number of rate pairs, then each
# pair's four numbers (app interval, app burst, account interval, account burst); then per
# request three numbers: app key index, account key index, rate pair index (all from 1).
GCRA_MANY = """
local now = tonumber(ARGV[1])
local tats = {}
local touched = {}
local answers = {}
local function tat_of(i)
  if tats[i] == nil then
    local tat = tonumber(redis.call('GET', KEYS[i]) or now)
    if tat < now then tat = now end
    tats[i] = tat
  end
  return tats[i]
end
local npairs = tonumber(ARGV[2])
local pairs_of = {}
for p = 0, npairs - 1 do
  local at = 3 + p * 4
  pairs_of[p + 1] = {{tonumber(ARGV[at]), tonumber(ARGV[at + 1])},
                     {tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])}}
end
local first = 3 + npairs * 4
local n = (#ARGV - first + 1) / 3
for r = 0, n - 1 do
  local base = first + r * 3
  local keys = {tonumber(ARGV[base]), tonumber(ARGV[base + 1])}
  local rates = pairs_of[tonumber(ARGV[base + 2])]
  local wait = 0
  for j = 1, 2 do
    local interval, burst = rates[j][1], rates[j][2]
    local allow_at = tat_of(keys[j]) + interval - interval * burst
    if allow_at - now > wait then wait = allow_at - now end
  end
  if wait > 0 then
    answers[r + 1] = tostring(wait)
  else
    for j = 1, 2 do
      tats[keys[j]] = tats[keys[j]] + rates[j][1]
      touched[keys[j]] = true
    end
    answers[r + 1] = '0'
  end
end
for i, _ in pairs(touched) do
  redis.call('SET', KEYS[i], tats[i], 'PX', math.ceil((tats[i] - now) * 1000) + 1000)
end
return answers
"""


def configured(platform: str) -> tuple[Rate, Rate]:
    """The platform's app-wide and per-account budgets: its spec's (adapters/spec.py: generous
    app budgets, since the platforms' own per-app quotas are far above what a province needs per
    second, and a per-account budget that keeps one account from being hammered), unless
    YUNCHU_RATE_<PLATFORM>_APP / _ACCOUNT = "<per_second>/<burst>" override them."""
    declared = platform_spec(platform)
    return (_env(f"YUNCHU_RATE_{platform.upper()}_APP", declared.app_budget),
            _env(f"YUNCHU_RATE_{platform.upper()}_ACCOUNT", declared.account_budget))


def _env(name: str, default: Rate) -> Rate:
    raw = os.environ.get(name)
    if not raw:
        return default
    per_second, _, burst = raw.partition("/")
    return Rate(float(per_second), int(burst or 1))


@dataclass
class _Request:
    platform: str
    app: str
    account: str
    answer: asyncio.Future[float]


class Limiter:
    """Async GCRA limiter over a redis.asyncio client; requests of one loop turn share a trip."""

    MAX_PER_TRIP = 500  # keeps one script call short: Redis runs nothing else meanwhile

    def __init__(self, redis, prefix: str = "yunchu:rl:", clock=time.time,
                 rates: dict[str, tuple[Rate, Rate]] | None = None):
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._script = redis.register_script(GCRA_MANY)
        # Another budget (reach collection's) passes its own rates and prefix.
        self._rates = rates if rates is not None else {p: configured(p) for p in platform_names()}
        self._waiting: list[_Request] = []
        self._sender: asyncio.Task | None = None

    async def reserve(self, platform: str, app: str, account: str) -> float:
        """0 when the call may go now (budget taken); else seconds to wait (nothing taken)."""
        loop = asyncio.get_running_loop()
        request = _Request(platform, app, account, loop.create_future())
        self._waiting.append(request)
        if self._sender is None or self._sender.done():
            self._sender = loop.create_task(self._send())
        return await request.answer

    async def reserve_many(self, wanted: list[tuple[str, str, str]]) -> list[float]:
        """Budgets for many calls about to go, (platform, app, account) each, in one trip per
        ``MAX_PER_TRIP``: a batch asks for all its calls at once instead of each call in
        whatever loop turn it reaches its turn. Same answers as ``reserve``, in order."""
        answers: list[float] = []
        for start in range(0, len(wanted), self.MAX_PER_TRIP):
            answers += await self._ask(wanted[start:start + self.MAX_PER_TRIP])
        return answers

    async def _send(self) -> None:
        await asyncio.sleep(0)  # let the rest of this loop turn's requests join the trip
        while self._waiting:
            trip, self._waiting = (self._waiting[:self.MAX_PER_TRIP],
                                   self._waiting[self.MAX_PER_TRIP:])
            try:
                answers = await self._ask([(r.platform, r.app, r.account) for r in trip])
            except BaseException as err:  # noqa: BLE001 - every waiter hears of the failure
                for request in trip:
                    if not request.answer.done():
                        request.answer.set_exception(err)
                if isinstance(err, asyncio.CancelledError):
                    raise
                continue
            for request, wait in zip(trip, answers, strict=True):
                if not request.answer.done():
                    request.answer.set_result(wait)

    async def _ask(self, trip: list[tuple[str, str, str]]) -> list[float]:
        index: dict[str, int] = {}
        keys: list[str] = []

        def key_index(key: str) -> int:
            if key not in index:
                keys.append(key)
                index[key] = len(keys)  # Lua counts from 1
            return index[key]

        pair_of: dict[str, int] = {}
        table: list[float | int] = []
        wanted: list[int] = []
        for platform, app, account in trip:
            if platform not in pair_of:
                app_rate, account_rate = self._rates[platform]
                table += [app_rate.interval, app_rate.burst,
                          account_rate.interval, account_rate.burst]
                pair_of[platform] = len(pair_of) + 1
            wanted += [key_index(f"{self._prefix}{platform}:app:{app}"),
                       key_index(f"{self._prefix}{platform}:acc:{account}"),
                       pair_of[platform]]
        args: list[float | int] = [self._clock(), len(pair_of), *table, *wanted]
        answers = await self._script(keys=keys, args=args)
        return [float(a) for a in answers]
