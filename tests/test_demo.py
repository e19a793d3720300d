"""`yunchu demo` on embedded defaults, end to end at a small size."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_pushes_withdraws_and_never_prints_the_admin_credential(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUNCHU_")}
    data = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "cli", "demo", "--accounts", "60", "--exit",
         "--data-dir", str(data)],
        env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "剩余 0" in out, out  # the withdrawal reached zero remaining
    assert "票据" not in out, out  # its hub took the sandbox's 第三方平台 ticket: 微信 授权接入 works
    assert "/admin/" in out and str(data / "bootstrap.token") in out
    token = (data / "bootstrap.token").read_text().strip()
    assert token and token not in out and token not in done.stderr
    assert oct((data / "bootstrap.token").stat().st_mode & 0o777) == "0o600"
    # The admin-UI sign-in is shown once, and kept only as the bootstrap admin's argon2 hash.
    login = re.search(r"^login: bootstrap-admin / (\S+)$", out, re.M)
    assert login, out
    password = login.group(1)
    with sqlite3.connect(data / "yunchu.db") as db:
        [(stored,)] = db.execute("SELECT password_hash FROM users WHERE name = 'bootstrap-admin'")
    assert PasswordHasher().verify(stored, password)
    for path in data.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
