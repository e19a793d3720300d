"""`yunchu bench` end to end at a small size: the whole path (API, PostgreSQL, Redis, worker
processes, the sandbox) in both designs, and a report that adds up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.services import PG_URL, pg_available

ACCOUNTS = 40


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bench_runs_both_designs_and_reports_a_clean_run(redis_server_url: str, tmp_path: Path):
    database = PG_URL if pg_available() else f"sqlite:///{tmp_path / 'base.db'}"
    out = tmp_path / "bench.json"
    env = {**os.environ, "YUNCHU_DATABASE_URL": database, "YUNCHU_REDIS_URL": redis_server_url,
           "YUNCHU_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "bench", "--accounts", str(ACCOUNTS), "--latency-ms",
         "0", "--baseline", "--baseline-timeout", "240", "--timeout", "240", "--json", str(out)],
        env=env, capture_output=True, text=True, timeout=560)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())

    assert report["scenario"]["accounts"] == ACCOUNTS
    assert report["machine"]["calibration_s"] > 0
    assert report["machine"]["calibration_memory_s"] > 0
    for design in ("batched", "baseline"):
        result = report[design]
        assert result["timed_out"] == [], design
        assert result["lost"] == 0 and result["duplicates"] == 0, design
        assert result["live_after_withdraw"] == 0, design
        assert sum(result["states_after_push"].values()) == ACCOUNTS, design
        assert 0 < result["push_s"] < 240 and 0 < result["withdraw_s"] < 240, design
        created = sum(p["created"] for p in result["sandbox"].values())
        deleted = sum(p["deleted"] for p in result["sandbox"].values())
        assert created == deleted == ACCOUNTS, design
        for phase in ("push", "withdraw"):
            cpu = result["cpu_s_by_phase"][phase]
            assert {"worker0", "worker1", "sandbox", "postgres", "redis",
                    "machine_busy"} <= cpu.keys(), (design, phase)
            assert cpu["machine_busy"] > 0, (design, phase)
            timeline = result["timeline"][phase]
            shares = [timeline[k] for k in ("p10", "p50", "p90", "p99", "p100")]
            assert shares == sorted(shares), (design, phase, timeline)
            assert 0 < timeline["clicks_s"] <= timeline["p100"], (design, phase, timeline)
            assert timeline["last_by_platform"].keys() == set(result["sandbox"]), timeline
            assert max(timeline["last_by_platform"].values()) == pytest.approx(
                timeline["p100"], abs=0.011), timeline
        assert result["timeline"]["withdraw"]["p100"] == pytest.approx(
            result["withdraw_s"], abs=0.011), result["timeline"]
    # The floor: a bare aiohttp pair making as many calls as the batched withdrawal made.
    floor, batched = report["floor"], report["batched"]
    assert batched["withdraw_calls"] >= ACCOUNTS, batched["sandbox"]  # a take-down per post
    assert floor["calls"] == floor["answered"] == floor["served"] == batched["withdraw_calls"]
    assert floor["concurrency"] == (report["scenario"]["workers"]
                                    * report["scenario"]["concurrency"])
    assert 0 < floor["floor_s"] < 60 and floor["withdraw_s"] == batched["withdraw_s"], floor
    assert floor["withdraw_floor_ratio"] == pytest.approx(
        batched["withdraw_s"] / floor["floor_s"], abs=0.006), floor
    withdraw_cpu = batched["cpu_s_by_phase"]["withdraw"]
    assert floor["worker_cpu_per_call_ms"] == pytest.approx(
        (withdraw_cpu["worker0"] + withdraw_cpu["worker1"]) / floor["calls"] * 1000,
        abs=0.001), floor
    assert floor["floor_client_cpu_per_call_ms"] == pytest.approx(
        floor["client_cpu_s"] / floor["calls"] * 1000, abs=0.01), floor
    assert floor["client_cpu_s"] > 0, floor
    # The ratio is the two designs' measured push times, not a constant.
    assert report["ratios"]["push_speedup"] == pytest.approx(
        report["baseline"]["push_s"] / report["batched"]["push_s"], abs=0.051), report["ratios"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bench_kill_worker_at_reports_the_seconds_a_killed_worker_adds(redis_server_url: str,
                                                                       tmp_path: Path):
    """--kill-worker-at 0.5: the same withdrawal undisturbed and with a worker SIGKILLed half
    way, default settings; the killed worker's claims come back within seconds."""
    if not pg_available():
        pytest.fail("this test needs PostgreSQL")
    out = tmp_path / "bench.json"
    env = {**os.environ, "YUNCHU_DATABASE_URL": PG_URL, "YUNCHU_REDIS_URL": redis_server_url,
           "YUNCHU_DATA_DIR": str(tmp_path / "data")}
    for name in ("YUNCHU_LEASE_S", "YUNCHU_WORKER_ALIVE_S", "YUNCHU_RECONCILE_INTERVAL_S"):
        env.pop(name, None)
    # 600 accounts at 1 s a call, 50 in flight a worker: the withdrawal takes several rounds
    # of calls, so a worker killed half way holds claims (with 300 in flight a worker, one
    # round could finish before the kill and leave the killed worker empty-handed).
    env["YUNCHU_CONCURRENCY"] = "50"
    done = subprocess.run(
        [sys.executable, "-m", "cli", "bench", "--accounts", "600", "--latency-ms", "1000",
         "--kill-worker-at", "0.5", "--timeout", "240", "--json", str(out)],
        env=env, capture_output=True, text=True, timeout=560)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    kill = report["kill"]
    assert report["scenario"]["lease_s"] == 15 and report["scenario"]["kill_worker_at"] == 0.5
    assert kill["killed"] and kill["claims_held"] > 0, kill
    assert kill["claims_redriven"] > 0 and kill["redriven_after_s"] < 8, kill
    assert kill["kill_added_s"] is not None and kill["kill_added_s"] <= 10, kill
    assert kill["duplicates"] == 0 and kill["live_after_withdraw"] == 0 and kill["lost"] == 0
    for run in ("batched", "batched_worker_killed"):
        assert report[run]["timed_out"] == [] and report[run]["duplicates"] == 0, run


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bench_withdraw_at_reports_the_emergency_and_leaves_nothing_live(redis_server_url: str,
                                                                         tmp_path: Path):
    """--withdraw-at 0.3: the withdrawal clicked while a 600-account push is 30 % live, against
    a standalone withdrawal of the same posts; what had not gone out is cancelled."""
    if not pg_available():
        pytest.fail("this test needs PostgreSQL")
    out = tmp_path / "bench.json"
    env = {**os.environ, "YUNCHU_DATABASE_URL": PG_URL, "YUNCHU_REDIS_URL": redis_server_url,
           "YUNCHU_DATA_DIR": str(tmp_path / "data")}
    # 20 calls in flight a worker at 200 ms a call: the push takes many rounds, so most of it
    # is still waiting (queued or claimed, not sent) when the click lands.
    env["YUNCHU_CONCURRENCY"] = "20"
    done = subprocess.run(
        [sys.executable, "-m", "cli", "bench", "--accounts", "600", "--latency-ms", "200",
         "--withdraw-at", "0.3", "--timeout", "240", "--json", str(out)],
        env=env, capture_output=True, text=True, timeout=560)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["scenario"]["withdraw_at"] == 0.3
    em = report["emergency"]
    assert report["emergency_ratio"] == em["emergency_ratio"] == pytest.approx(
        em["emergency"]["withdraw_s"] / em["standalone"]["withdraw_s"], abs=0.001), em
    total = em["push_total"]
    assert total == 600
    assert em["published_before_click"] >= 0.3 * total, em
    # Every row of the push ended cancelled (never sent) or withdrawn (sent, then removed).
    assert em["cancelled"] > 0 and em["cancelled"] + em["withdrawn"] + em["failed"] == total, em
    assert em["withdrawn"] == em["published_before_click"] + em["published_after_click"], em
    assert em["published_after_click"] < total - em["published_before_click"], em
    assert em["lost"] == 0 and em["duplicates"] == 0 and em["live_after_withdraw"] == 0, em
    for phase in ("emergency", "standalone"):
        assert em[phase]["withdraw_s"] > 0 and em[phase]["open_after"] == 0, (phase, em)
        assert em[phase]["live_after"] == 0, (phase, em)
    # The standalone withdrawal removed the same number of live posts.
    assert em["standalone"]["live_at_click"] == em["withdrawn"], em
    assert em["standalone"]["states"] == {"withdrawn": em["withdrawn"]}, em


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_reach_bench_collects_every_account_twice_and_reports_calls(redis_server_url: str,
                                                                    pg_server_url: str,
                                                                    tmp_path: Path):
    """bench/reach.py at a small size: a month of posts, the first and the daily collection,
    calls per platform and interface, and nothing failed."""
    out = tmp_path / "reach.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.reach", "--accounts", "12", "--days", "3", "--per-day",
         "2", "--workers", "1", "--concurrency", "4", "--database-url", pg_server_url,
         "--redis-url", redis_server_url, "--json", str(out)],
        capture_output=True, text=True, timeout=280, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["seed"]["posts"] > 0
    for run in ("first_run", "daily_run"):
        platforms = report[run]["platforms"]
        assert sum(p["accounts"] for p in platforms.values()) == 12, run
        assert all(p["failed"] == 0 for p in platforms.values()), (run, platforms)
        assert report[run]["calls_total"] > 0
    assert report["first_run"]["rows_after"]["reach_external_posts"] > 0
    wechat = report["first_run"]["platforms"].get("wechat")
    if wechat:
        assert wechat["calls_per_account"]["freepublish/batchget"] >= 1
