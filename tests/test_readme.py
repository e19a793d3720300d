"""The README is the newcomer's contract: its two commands and its configuration table stay true."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_readme_names_the_two_commands_ci_runs():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert "./scripts/up" in lines and "./scripts/test" in lines
    assert "./scripts/test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_configuration_table_matches_the_settings():
    check = subprocess.run([sys.executable, str(REPO / "docs" / "config_table.py"), "--check"],
                           capture_output=True, text=True, cwd=REPO)
    assert check.returncode == 0, check.stdout + check.stderr
