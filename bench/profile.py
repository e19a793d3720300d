"""Sampling profiles of one bench phase: py-spy attached to the workers, the sandbox and the
bench process (which serves the API click) from the phase's start to its end.

``yunchu bench --profile DIR`` samples only threads that hold the GIL (the CPU a process
spends in Python and in what it calls without releasing the GIL) and writes, for the withdrawal, one collapsed-stack file per process
(``withdraw-<name>.txt``, the format flame graph tools read) and ``withdraw-summary.json``:
per process, the samples and the functions with the largest share, inclusive (the function
and what it calls) and by itself. py-spy is a bench tool, not a dependency of the hub
(``pip install py-spy``); without it the option says so and the run goes on unprofiled.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from hub.infra.children import die_with_parent

REPO = Path(__file__).resolve().parent.parent
_LIBRARY = re.compile(r"^.*/(site-packages|lib/python3\.\d+)/")
RATE_HZ = 200
TOP = 25


class PhaseProfiler:
    def __init__(self, directory: Path, phase: str, log=print):
        self.directory, self.phase, self.log = directory, phase, log
        # The environment's own copy first: ``.venv/bin/yunchu`` run without activating it.
        self.py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or \
            shutil.which("py-spy")
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, pids: dict[str, int]) -> None:
        if self.py_spy is None:
            self.log("[profile] py-spy not found (pip install py-spy): not profiled")
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            self.procs[name] = subprocess.Popen(
                [self.py_spy, "record", "--pid", str(pid), "--rate", str(RATE_HZ),
                 "--format", "raw", "--gil", "--nonblocking", "--output", str(self._raw(name))],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=die_with_parent)

    def stop(self) -> dict[str, dict]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        summary = {name: summarise(self._raw(name)) for name in self.procs
                   if self._raw(name).exists()}
        if summary:
            (self.directory / f"{self.phase}-summary.json").write_text(
                json.dumps(summary, ensure_ascii=False, indent=1))
            self.log(f"[profile] {self.phase}: {self.directory}")
        return summary

    def _raw(self, name: str) -> Path:
        return self.directory / f"{self.phase}-{name}.txt"


def summarise(path: Path, top: int = TOP) -> dict:
    """Shares of samples per function from a collapsed-stack file (``a;b;c 12`` per line)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(frame) for frame in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return {"samples": total, "inclusive_pct": shares(inclusive) if total else [],
            "self_pct": shares(own) if total else []}


def _short(frame: str) -> str:
    """``deliver (hub/fanout/executor.py:264)`` -> ``deliver (hub/fanout/executor.py)``: one
    entry per function, not per line."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0].rstrip(")")
    path = _LIBRARY.sub("", path.removeprefix(f"{REPO}/"))
    return f"{name} ({path})"
