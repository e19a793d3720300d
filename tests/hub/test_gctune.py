"""GC settings of the long-running fan-out processes (checked in a child interpreter: they are
process-wide)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = ("import gc, json; from hub.gctune import tune_gc; tune_gc({arg}); "
         "print(json.dumps([gc.get_threshold()[0], gc.get_freeze_count() > 0]))")


def _probe(arg: str = "", **env: str) -> list:
    done = subprocess.run([sys.executable, "-c", PROBE.format(arg=arg)], capture_output=True,
                          text=True, check=True, env={**os.environ, **env})
    return json.loads(done.stdout)


def test_a_worker_freezes_start_up_objects_and_collects_young_objects_less_often():
    assert _probe() == [50_000, True]
    assert _probe("10_000") == [10_000, True]


def test_the_defaults_can_be_kept():
    assert _probe(YUNCHU_GC_DEFAULTS="1") == [700, False]
