"""The benchmark's CPU accounting reads /proc correctly."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.cpumeter import CpuMeter, machine_busy_s, process_cpu_s


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_process_cpu_seconds_grow_with_the_work_it_does():
    before = process_cpu_s(os.getpid())
    _burn(0.3)
    used = process_cpu_s(os.getpid()) - before
    assert 0.2 <= used <= 1.0


def test_reaped_children_count_only_when_asked():
    before = process_cpu_s(os.getpid(), with_children=True)
    subprocess.run([sys.executable, "-c",
                    "import time\nend = time.process_time() + 0.3\n"
                    "while time.process_time() < end: pass"], check=True)
    assert process_cpu_s(os.getpid(), with_children=True) - before >= 0.2


def test_the_meter_reports_each_source_and_the_machine():
    meter = CpuMeter(lambda: {"me": os.getpid()})
    started = time.monotonic()
    first = meter.snapshot()
    _burn(0.2)
    used = CpuMeter.since(first, meter.snapshot())
    elapsed = time.monotonic() - started
    assert used["me"] >= 0.1 and used["bench_and_api"] >= 0.1
    assert used["machine_busy"] >= used["me"] - 0.05
    assert {"postgres", "redis"} <= used.keys()
    # Steal is CPU time the hypervisor took: never more than every core for the whole interval
    # (a wrong field, e.g. idle since boot, would be far more).
    assert used["machine_steal"] <= elapsed * (os.cpu_count() or 1) + 0.05
    assert machine_busy_s() > 0


def test_steal_is_read_from_the_eighth_field_and_not_counted_as_busy(monkeypatch):
    from bench import cpumeter

    ticks = [100, 0, 50, 1000, 20, 5, 5, 300, 0, 0]  # user nice system idle iowait irq softirq steal
    monkeypatch.setattr(cpumeter, "_machine_ticks", lambda: ticks)
    assert cpumeter.machine_steal_s() == 300 / cpumeter._TICK
    assert cpumeter.machine_busy_s() == (100 + 50 + 5 + 5) / cpumeter._TICK
