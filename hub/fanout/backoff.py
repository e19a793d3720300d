"""Retry timing: exponential backoff with full jitter, always honouring the platform's Retry-After."""

from __future__ import annotations

import random

PUBLISH_BASE_S, PUBLISH_CAP_S, PUBLISH_MAX_ATTEMPTS = 2.0, 900.0, 8
WITHDRAW_BASE_S, WITHDRAW_CAP_S = 1.0, 60.0
RATE_LIMITED_MAX_ATTEMPTS = 30


def delay(attempt: int, *, base: float, cap: float, at_least: float = 0.0,
          rng: random.Random | None = None) -> float:
    """Full jitter (AWS, Brooker 2015): uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return max(at_least, (rng or random).uniform(0, ceiling))
