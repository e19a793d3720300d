"""Rate budgets in Redis (GCRA), shared by every worker: per platform app and per account.

One round trip per call: the script checks all the keys a call needs and reserves on all of
them, or on none, and answers how long to wait.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

GCRA = """
local now = tonumber(ARGV[1])
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[1 + 2 * i - 1])
  local burst = tonumber(ARGV[1 + 2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local allow_at = tat + interval - interval * burst
  if allow_at > now and allow_at - now > wait then wait = allow_at - now end
  tats[i] = tat + interval
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[1 + 2 * i - 1])
  redis.call('SET', key, tats[i], 'PX', math.ceil((tats[i] - now) * 1000) + 1000)
end
return '0'
"""


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second


# Defaults: generous app-wide budgets (the platforms' own per-app quotas are far higher than a
# province needs per second) and a per-account budget that keeps one account from being
# hammered. Override with YUNCHU_RATE_<PLATFORM>_APP / _ACCOUNT = "<per_second>/<burst>".
DEFAULTS: dict[str, tuple[Rate, Rate]] = {
    "wechat": (Rate(5000, 5000), Rate(20, 20)),
    "weibo": (Rate(3000, 3000), Rate(5, 10)),
    "douyin": (Rate(2000, 2000), Rate(10, 10)),
    "cityapp": (Rate(5000, 5000), Rate(50, 50)),
}


def configured(platform: str) -> tuple[Rate, Rate]:
    app, account = DEFAULTS[platform]
    return (_env(f"YUNCHU_RATE_{platform.upper()}_APP", app),
            _env(f"YUNCHU_RATE_{platform.upper()}_ACCOUNT", account))


def _env(name: str, default: Rate) -> Rate:
    raw = os.environ.get(name)
    if not raw:
        return default
    per_second, _, burst = raw.partition("/")
    return Rate(float(per_second), int(burst or 1))


class Limiter:
    """Async GCRA limiter over a redis.asyncio client."""

    def __init__(self, redis, prefix: str = "yunchu:rl:"):
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(GCRA)
        self._rates = {p: configured(p) for p in DEFAULTS}

    async def reserve(self, platform: str, app: str, account: str, now: float) -> float:
        """0 when the call may go now (budget taken); else seconds to wait (nothing taken)."""
        app_rate, account_rate = self._rates[platform]
        keys = [f"{self._prefix}{platform}:app:{app}", f"{self._prefix}{platform}:acc:{account}"]
        args = [now, app_rate.interval, app_rate.burst, account_rate.interval, account_rate.burst]
        return float(await self._script(keys=keys, args=args))
