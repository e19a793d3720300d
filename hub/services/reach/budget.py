"""Reach collection's own rate budget (GCRA in Redis, hub/fanout/ratelimit.py), apart from
fan-out's: a collection never takes the calls a push or a withdrawal needs.

Per platform app and per account, ``YUNCHU_REACH_RATE_<PLATFORM>_APP`` / ``_ACCOUNT`` =
"<per_second>/<burst>" override the defaults below.
"""

from __future__ import annotations

import asyncio
import os

from adapters.base import AccountRef
from adapters.spec import Rate

from ...fanout.ratelimit import Limiter
from ...platforms import names as platform_names
from ...platforms import spec as platform_spec

PREFIX = "yunchu:rl:reach:"
APP_DEFAULT = Rate(200.0, 200)
ACCOUNT_DEFAULT = Rate(5.0, 10)
MAX_WAIT_S = 5.0


def rate(name: str, default: Rate) -> Rate:
    raw = os.environ.get(name)
    if not raw:
        return default
    per_second, _, burst = raw.partition("/")
    return Rate(float(per_second), int(burst or 1))


def reach_rates() -> dict[str, tuple[Rate, Rate]]:
    return {p: (rate(f"YUNCHU_REACH_RATE_{p.upper()}_APP", APP_DEFAULT),
                rate(f"YUNCHU_REACH_RATE_{p.upper()}_ACCOUNT", ACCOUNT_DEFAULT))
            for p in platform_names()}


class ReachBudget:
    """``await budget(ref)`` before each call: returns once the call may go."""

    def __init__(self, redis, platform: str) -> None:
        self.limiter = Limiter(redis, prefix=PREFIX, rates=reach_rates())
        self.platform = platform
        self.spec = platform_spec(platform)

    async def __call__(self, ref: AccountRef) -> None:
        app = self.spec.app_of(ref.credentials)
        while True:
            wait = await self.limiter.reserve(self.platform, app, ref.id)
            if wait <= 0:
                return
            await asyncio.sleep(min(wait, MAX_WAIT_S))
