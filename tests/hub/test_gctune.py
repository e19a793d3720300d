"""GC settings of the long-running fan-out processes (checked in a child interpreter: they are
process-wide). What is measured is the effect: how often the young generation is collected
while a fan-out-like loop allocates short-lived containers, and whether start-up objects are
frozen out of every collection."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Build 200,000 container objects after start-up (a batch's requests, answers and futures)
# and count the young-generation collections that causes.
PROBE = """
import gc, json
from hub.infra.gctune import tune_gc
tune_gc({arg})
before = gc.get_stats()[0]["collections"]
made = [[n] for n in range(200_000)]
print(json.dumps([gc.get_stats()[0]["collections"] - before, gc.get_freeze_count()]))
"""


def _probe(arg: str = "", **env: str) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(arg=arg)], capture_output=True,
                          text=True, check=True, env={**os.environ, **env})
    young, frozen = json.loads(done.stdout)
    return young, frozen


def test_a_worker_freezes_start_up_objects_and_collects_young_objects_less_often():
    default_young, default_frozen = _probe(YUNCHU_GC_DEFAULTS="1")
    worker_young, worker_frozen = _probe()
    sandbox_young, sandbox_frozen = _probe("10_000")
    assert default_frozen == 0
    assert worker_frozen > 1000 and sandbox_frozen > 1000  # the imported modules' objects
    # Fewer young collections, and the smaller sandbox step sits in between.
    assert worker_young * 10 < default_young
    assert worker_young < sandbox_young < default_young
