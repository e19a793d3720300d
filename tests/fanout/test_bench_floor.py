"""The bench's floor (bench/floor.py): a bare aiohttp client and server in two processes making
N calls at a given latency and number in flight, and the report that sets a withdrawal
against it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.floor import FloorResult, measure_floor
from bench.run import DesignResult, floor_line, floor_summary


@pytest.mark.timeout(120)
def test_the_floor_makes_every_call_and_takes_at_least_the_latency_waves():
    calls, latency_ms, concurrency = 200, 5.0, 20
    floor = measure_floor(calls, latency_ms, concurrency)

    assert floor.calls == calls and floor.concurrency == concurrency
    # Every call went out, was answered 200 and was counted by the server.
    assert floor.answered == calls and floor.served == calls, floor
    # 200 calls, 20 in flight, 5 ms each: at least 10 waves of 5 ms.
    assert floor.floor_s >= calls * latency_ms / 1000 / concurrency, floor
    assert floor.floor_s < 30, floor
    assert floor.client_cpu_s > 0, floor
    assert floor.client_cpu_per_call_ms == pytest.approx(
        floor.client_cpu_s / calls * 1000, rel=0.01, abs=0.001), floor


@pytest.mark.timeout(120)
def test_more_in_flight_makes_the_floor_shorter_at_a_long_latency():
    """The concurrency given is the one used: 100 calls at 50 ms take 5 waves with 20 in
    flight, one with 100."""
    narrow = measure_floor(100, 50.0, 20)
    wide = measure_floor(100, 50.0, 100)
    assert narrow.floor_s >= 0.25 and wide.floor_s >= 0.05, (narrow, wide)
    assert wide.floor_s < narrow.floor_s, (narrow, wide)


def test_floor_summary_sets_the_withdrawal_against_the_floor():
    withdrawal = DesignResult(design="batched", accounts=10, withdraw_s=4.4, withdraw_calls=8000)
    withdrawal.cpu_s_by_phase["withdraw"] = {"worker0": 1.8, "worker1": 1.6, "sandbox": 2.0,
                                             "postgres": 1.0, "machine_busy": 7.0}
    floor = FloorResult(calls=8000, latency_ms=100.0, concurrency=600, floor_s=2.2,
                        client_cpu_s=1.6, client_cpu_per_call_ms=0.2, answered=8000,
                        served=8000)
    summary = floor_summary(withdrawal, floor)
    assert summary["floor_s"] == 2.2 and summary["withdraw_s"] == 4.4
    assert summary["withdraw_floor_ratio"] == 2.0
    assert summary["worker_cpu_s"] == 3.4  # the workers only, not the sandbox or PostgreSQL
    assert summary["worker_cpu_per_call_ms"] == 0.425
    assert summary["floor_client_cpu_per_call_ms"] == 0.2
    assert summary["worker_client_cpu_ratio"] == pytest.approx(2.12, abs=0.01)
    line = floor_line(summary)
    assert "2.0x the floor" in line and "0.425 ms" in line and "uvloop" not in line

    same_loop = FloorResult(calls=8000, latency_ms=100.0, concurrency=600, floor_s=2.0,
                            client_cpu_s=1.2, client_cpu_per_call_ms=0.15, answered=8000,
                            served=8000)
    both = floor_summary(withdrawal, floor, same_loop)
    assert both["withdraw_floor_ratio"] == 2.0  # the first floor's figures stay as they were
    assert both["uvloop_floor_s"] == 2.0 and both["withdraw_uvloop_floor_ratio"] == 2.2
    assert both["uvloop_client_cpu_per_call_ms"] == 0.15
    assert both["worker_uvloop_client_cpu_ratio"] == pytest.approx(2.83, abs=0.01)
    assert "on uvloop: floor 2.0s (2.2x)" in floor_line(both)


@pytest.mark.timeout(120)
def test_the_floor_runs_on_the_loop_asked_for():
    """``--loop uvloop``: both processes on the loop the workers use, every call answered."""
    floor = measure_floor(200, 5.0, 20, loop="uvloop")
    assert floor.answered == floor.served == 200, floor
    out = subprocess.run([sys.executable, "-c",
                          "import sys; sys.argv = ['floor', '--loop', 'uvloop'];"
                          "from bench.floor import _new_loop; print(type(_new_loop('uvloop')))"],
                         capture_output=True, text=True, cwd=Path(__file__).parents[2],
                         check=True).stdout
    assert "uvloop" in out


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.timeout(60)
def test_the_server_and_client_die_with_the_process_that_started_them():
    """A bench killed mid-floor (SIGKILL: no ``finally`` runs) leaves nothing behind."""
    parent = subprocess.Popen([sys.executable, "-m", "bench.floor", "--calls", "100000",
                               "--latency-ms", "1000", "--concurrency", "10"])
    try:
        deadline = time.monotonic() + 20
        while len(children := _children(parent.pid)) < 2:  # the server, then the client
            assert time.monotonic() < deadline and parent.poll() is None, children
            time.sleep(0.05)
        assert all(_alive(pid) for pid in children)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in children), children
