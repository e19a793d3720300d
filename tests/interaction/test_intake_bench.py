"""`yunchu bench --intake` end to end at a small size: workers, PostgreSQL, Redis and the
sandbox; every comment taken once, both withdrawals complete, the report adds up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.services import PG_URL

ACCOUNTS = 40


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_intake_bench_reports_a_clean_run(redis_server_url: str, tmp_path: Path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "YUNCHU_DATABASE_URL": PG_URL, "YUNCHU_REDIS_URL": redis_server_url,
           "YUNCHU_BENCH_REDIS_DB": redis_server_url.rsplit("/", 1)[1],
           "YUNCHU_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "bench", "--intake", "--accounts", str(ACCOUNTS),
         "--latency-ms", "0", "--comments-per-day", "30", "--timeout", "200", "--json",
         str(out)], env=env, capture_output=True, text=True, timeout=560)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    intake = report["intake"]
    assert intake["withdraw_alone_s"] > 0 and intake["withdraw_with_intake_s"] > 0
    assert report["withdraw_ratio"] == intake["withdraw_ratio"] > 0
    for phase in ("alone", "with_intake"):
        states = intake["withdraw_states"][phase]
        assert set(states) == {"withdrawn", "timeline"}, (phase, states)
        assert 0 < states["timeline"]["clicks_s"] <= states["timeline"]["p100"], states
        assert intake["withdraw_cpu_s"][phase]["machine_busy"] > 0
    during, alone = intake["intake_during_withdrawal"], intake["intake_alone"]
    assert intake["posts_polled"] > 10
    assert during["comments_taken"] > 10 * intake["posts_polled"]  # ~30 a post: a day's
    assert alone["comments_taken"] > 10 * intake["posts_polled"]  # and the next day's
    assert alone["wall_s"] > 0 and set(alone["calls"]) <= {"wechat", "weibo", "douyin"}
    assert intake["duplicates_taken"] == 0
    assert intake["quotas"]["calls_per_post_per_pass"]
