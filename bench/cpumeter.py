"""CPU seconds per process group, read from /proc: where a benchmark's cycles went.

On a 2-core machine every part of the path (workers, the sandbox, PostgreSQL, Redis, the API)
competes for the same cores, so a benchmark reports each one's share per phase, the machine's
total busy time, and a fixed pure-Python workload's time (``calibrate``), which tells a slower
machine from a slower build.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    head, _, rest = raw.rpartition(")")
    return [head.partition("(")[2], *rest.split()]


def process_cpu_s(pid: int, *, with_children: bool = False) -> float:
    """User + system seconds of one process (plus its reaped children's, if asked)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # fields[0] is comm; then state=1, ppid=2, ..., utime=12, stime=13, cutime=14, cstime=15.
    ticks = int(fields[12]) + int(fields[13])
    if with_children:
        ticks += int(fields[14]) + int(fields[15])
    return ticks / _TICK


def _pids_named(prefixes: tuple[str, ...]) -> list[tuple[int, int]]:
    """(pid, parent pid) of every process whose command name starts with one of ``prefixes``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0].startswith(prefixes):
            found.append((int(entry.name), int(fields[2])))
    return found


def service_cpu_s(prefixes: tuple[str, ...]) -> float:
    """A server's CPU seconds, its exited children included: PostgreSQL runs a process per
    connection, and a backend's time moves to the postmaster when it exits."""
    procs = _pids_named(prefixes)
    pids = {pid for pid, _ in procs}
    total = 0.0
    for pid, parent in procs:
        total += process_cpu_s(pid, with_children=parent not in pids)
    return total


def _machine_ticks() -> list[int]:
    try:
        return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return []


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine (all cores) since boot, steal not included."""
    values = _machine_ticks()
    if not values:
        return 0.0
    # user nice system idle iowait irq softirq steal
    return (sum(values[:7]) - values[3] - (values[4] if len(values) > 4 else 0)) / _TICK


def machine_steal_s() -> float:
    """CPU seconds the hypervisor gave to other guests while this machine wanted to run: on a
    shared host the same run can take a third longer, and this says when that happened."""
    values = _machine_ticks()
    return values[7] / _TICK if len(values) > 7 else 0.0


SERVICES: Mapping[str, tuple[str, ...]] = {
    "postgres": ("postgres",),
    "redis": ("redis-server", "valkey-server"),
}


class CpuMeter:
    """Snapshots named sources; ``since`` gives each one's seconds used between two snapshots."""

    def __init__(self, processes: Callable[[], Mapping[str, int]]):
        self._processes = processes  # name -> pid, read at every snapshot

    def snapshot(self) -> dict[str, float]:
        values = {name: process_cpu_s(pid) for name, pid in self._processes().items()}
        values["bench_and_api"] = process_cpu_s(os.getpid())
        for name, prefixes in SERVICES.items():
            values[name] = service_cpu_s(prefixes)
        values["machine_busy"] = machine_busy_s()
        values["machine_steal"] = machine_steal_s()
        return values

    @staticmethod
    def since(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
        # A process that died in between reads 0 afterwards: count nothing, not a negative.
        return {name: round(max(0.0, after[name] - before.get(name, 0.0)), 2) for name in after}


def calibrate(rounds: int = 3) -> float:
    """Seconds for a fixed pure-Python workload (best of ``rounds``): a machine-speed yardstick
    for comparing runs made on different machines."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i & 7
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def calibrate_memory(rounds: int = 3, entries: int = 1_000_000) -> float:
    """Seconds for random lookups in a dict far larger than any CPU cache (best of
    ``rounds``). The loop of ``calibrate`` runs in the cache and misses what slows this
    workload most on a shared host: other tenants' memory traffic. Both together place a
    run's ``cpu_s_by_phase`` among runs made on other days."""
    table = {f"k{i}": i for i in range(entries)}
    keys = list(table)
    random.Random(7).shuffle(keys)
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for key in keys:
            total += table[key]
        best = min(best, time.perf_counter() - started)
    return round(best, 3)
