"""Retry timing: exponential backoff with full jitter, always honouring the platform's Retry-After."""

from __future__ import annotations

import random

# Publish retries: Settings.retry_base_s / retry_cap_s / retry_max_attempts (2 s, 900 s, 8).
# Withdrawals retry twice as eagerly and never wait more than a minute: they never give up.
WITHDRAW_CAP_S = 60.0


def delay(attempt: int, *, base: float, cap: float, at_least: float = 0.0,
          rng: random.Random | None = None) -> float:
    """Full jitter (AWS, Brooker 2015): uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return max(at_least, (rng or random).uniform(0, ceiling))
