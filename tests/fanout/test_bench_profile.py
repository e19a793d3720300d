"""The bench's profile summary (bench/profile.py): shares of samples per function, inclusive
and by itself, from py-spy's collapsed stacks."""

from __future__ import annotations

from pathlib import Path

from bench.profile import REPO, PhaseProfiler, summarise


def test_shares_count_a_function_once_per_stack_and_its_own_time_at_the_leaf(tmp_path: Path):
    raw = tmp_path / "withdraw-worker0.txt"
    raw.write_text(
        f"run ({REPO}/hub/fanout/loop.py:20);deliver ({REPO}/hub/fanout/executor.py:264);"
        "request (/x/lib/python3.11/site-packages/aiohttp/client.py:700) 6\n"
        f"run ({REPO}/hub/fanout/loop.py:20);deliver ({REPO}/hub/fanout/executor.py:270) 2\n"
        # recursion: still counted once for the stack
        f"run ({REPO}/hub/fanout/loop.py:20);run ({REPO}/hub/fanout/loop.py:21) 2\n"
        "not a stack line\n")
    summary = summarise(raw)
    assert summary["samples"] == 10
    inclusive = dict(summary["inclusive_pct"])
    assert inclusive["run (hub/fanout/loop.py)"] == 100.0
    assert inclusive["deliver (hub/fanout/executor.py)"] == 80.0
    own = dict(summary["self_pct"])
    assert own == {"request (aiohttp/client.py)": 60.0,
                   "deliver (hub/fanout/executor.py)": 20.0,
                   "run (hub/fanout/loop.py)": 20.0}


def test_an_empty_profile_has_no_shares(tmp_path: Path):
    raw = tmp_path / "empty.txt"
    raw.write_text("")
    assert summarise(raw) == {"samples": 0, "inclusive_pct": [], "self_pct": []}


def test_without_py_spy_the_phase_runs_unprofiled(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no py-spy on it ...
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))  # ... nor beside Python
    said: list[str] = []
    profiler = PhaseProfiler(tmp_path / "profiles", "withdraw", said.append)
    profiler.start({"worker0": 1})
    assert profiler.stop() == {}
    assert "py-spy" in said[0]
    assert not (tmp_path / "profiles").exists()


def test_py_spy_beside_the_running_python_is_found_without_path(tmp_path: Path, monkeypatch):
    """``.venv/bin/yunchu bench`` run without activating the environment."""
    spy = tmp_path / "py-spy"
    spy.write_text("#!/bin/sh\n")
    spy.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    assert PhaseProfiler(tmp_path / "profiles", "withdraw").py_spy == str(spy)
