"""Garbage-collector settings for the long-running fan-out processes (workers, the sandbox).

A fan-out allocates a few hundred short-lived objects per call (requests, answers, futures),
almost none in reference cycles. With the default thresholds the young generation is collected
every 700 allocations, and every collection also walks the modules and objects made at start.
Freezing what exists after start-up and collecting the young generation less often keeps the
collector out of the hot path; memory is bounded all the same (see the 100,000-account bench).
"""

from __future__ import annotations

import gc
import os

WORKER_YOUNG_THRESHOLD = 50_000
# The sandbox keeps every emulated post and account in memory, and its request objects form
# cycles: a smaller step bounds its peak (at 100,000 accounts: 478 MB with Python's defaults,
# 545 MB at 50,000, 505 MB at 10,000), yet spares its CPU the defaults' frequent full walks
# of that state (104 against 68 CPU-seconds of sandbox in the 100,000-account push).
SANDBOX_YOUNG_THRESHOLD = 10_000


def tune_gc(young_threshold: int = WORKER_YOUNG_THRESHOLD) -> None:
    """Call once, after start-up imports; YUNCHU_GC_DEFAULTS=1 keeps Python's defaults."""
    if os.environ.get("YUNCHU_GC_DEFAULTS") == "1":
        return
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
