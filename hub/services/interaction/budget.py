"""Intake's own rate budgets: comment polls never spend what publishing and withdrawing need.

Same GCRA limiter as the fan-out (hub/fanout/ratelimit.py), under its own Redis keys and with
its own rates per platform: a share of each platform's quota (docs/platforms/interaction.md).
``YUNCHU_INTAKE_RATE_<PLATFORM>_APP`` / ``_ACCOUNT`` = "<per_second>/<burst>" override them.
"""

from __future__ import annotations

from adapters.spec import Rate

from ...fanout.ratelimit import Limiter, _env
from ...platforms import names as platform_names

PREFIX = "yunchu:rl:intake:"

# (per platform app, per account). Weibo counts every call of a user against 150 an hour
# (publishing included): intake takes at most 60 of them, and 10,000 an hour per app of the
# IP limit. WeChat documents no quota for comment/list: half a call a second per account.
# Douyin: 100 a second per account for content calls; intake takes one.
DEFAULTS: dict[str, tuple[Rate, Rate]] = {
    "wechat": (Rate(50, 50), Rate(0.5, 5)),
    "weibo": (Rate(10_000 / 3600, 20), Rate(60 / 3600, 5)),
    "douyin": (Rate(20, 20), Rate(1, 5)),
}
OTHER = (Rate(10, 10), Rate(0.5, 5))


def intake_rates(platform: str) -> tuple[Rate, Rate]:
    app, account = DEFAULTS.get(platform, OTHER)
    key = f"YUNCHU_INTAKE_RATE_{platform.upper()}"
    return _env(f"{key}_APP", app), _env(f"{key}_ACCOUNT", account)


def intake_limiter(redis) -> Limiter:
    limiter = Limiter(redis, prefix=PREFIX)
    limiter._rates = {p: intake_rates(p) for p in platform_names()}
    return limiter
