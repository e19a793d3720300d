"""The tests that must not run beside each other under pytest-xdist are grouped by path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.plugins.xdist_groups import group_of

REPO = Path(__file__).resolve().parents[1]


def test_heavy_and_browser_tests_are_grouped_by_path():
    assert group_of("tests/fanout/test_faults.py::test_x") == "heavy"
    assert group_of("tests/rig/test_cluster_faults.py::test_x") == "heavy"
    assert group_of("tests/browser/test_newcomer.py::test_x") == "browser"
    assert group_of("tests/fanout/test_push_api.py::test_x[sqlite]") is None


def test_collected_items_carry_the_group_mark():
    """``-m xdist_group`` selects the marked items: the fault file's, not the light file's."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", "-m",
         "xdist_group", "tests/fanout/test_dead_worker.py", "tests/hub/test_ids.py"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    selected = [line for line in done.stdout.splitlines() if "::" in line]
    assert selected and all(n.startswith("tests/fanout/test_dead_worker.py::") for n in selected)
    assert "deselected" in done.stdout
