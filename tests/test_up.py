"""`yunchu up` as a newcomer meets it: the first start prints the url, the API token and a
sign-in for the admin UI, and that sign-in reaches the dashboard over real HTTP. The password
is shown by the first start only, and only its hash is kept."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def start_up(data: Path, redis_url: str, **settings: str
             ) -> tuple[subprocess.Popen, dict[str, str]]:
    """``yunchu up`` on a free port, without workers unless ``settings`` (``YUNCHU_*``
    variables) say otherwise (signing in needs none); returns the process and the
    ``name: value`` lines it printed up to the token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUNCHU_")}
    env.update({"YUNCHU_REDIS_URL": redis_url, "YUNCHU_WORKERS": "0", **settings})
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "up", "--port", "0", "--data-dir", str(data)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: dict[str, str] = {}
    assert process.stdout is not None
    while "token" not in lines:
        line = process.stdout.readline()
        assert line, "yunchu up stopped before printing its token"
        name, _, value = line.rstrip("\n").partition(": ")
        lines[name] = value
    return process, lines


def stop_up(process: subprocess.Popen) -> str:
    """Stop the hub; the rest of what it printed."""
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=30)
    return rest


def _sign_in(url: str, name: str, password: str) -> requests.Response:
    browser = requests.Session()
    form = browser.get(url + "admin/login", timeout=10)
    assert form.status_code == 200 and "bootstrap-admin" in form.text
    csrf = CSRF_FIELD.search(form.text)
    assert csrf
    return browser.post(url + "admin/login", timeout=10, data={
        "name": name, "password": password, "csrf_token": csrf.group(1), "next": ""})


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_fresh_up_prints_a_sign_in_that_reaches_the_dashboard_once(tmp_path: Path,
                                                                     redis_server_url: str):
    data = tmp_path / "var"
    process, lines = start_up(data, redis_server_url)
    try:
        assert lines["url"].startswith("http://127.0.0.1:") and lines["url"].endswith("/")
        assert lines["token"] == (data / "bootstrap.token").read_text().strip()
        login = process.stdout.readline().rstrip("\n")  # type: ignore[union-attr]
        name, _, password = login.removeprefix("login: ").partition(" / ")
        assert login.startswith("login: ") and name == "bootstrap-admin" and len(password) >= 10
        dashboard = _sign_in(lines["url"], name, password)
        assert dashboard.status_code == 200 and dashboard.url == lines["url"] + "admin/"
        assert "概览" in dashboard.text and "bootstrap-admin" in dashboard.text
    finally:
        stop_up(process)
    for path in data.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path

    process, lines = start_up(data, redis_server_url)
    try:
        assert _sign_in(lines["url"], name, password).url == lines["url"] + "admin/"
    finally:
        rest = stop_up(process)
    assert "login:" not in rest and password not in rest


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_workers_die_with_a_killed_up(tmp_path: Path, redis_url: str):
    """SIGKILL gives ``yunchu up`` no chance to stop its workers: the kernel must."""
    process, _ = start_up(tmp_path / "var", redis_url, YUNCHU_WORKERS="2")
    try:
        deadline = time.monotonic() + 30
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = {pid for pid in _children(process.pid)
                       if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()}
            time.sleep(0.1)
        assert len(workers) == 2, workers
        process.kill()
        process.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers), workers
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_an_idle_worker_stops_on_sigterm(tmp_path: Path, redis_url: str):
    """RQ leaves an idle worker's loop on SIGTERM without flagging it busy-stopped; the loop
    must not take that for Redis going away and start again."""
    # Idle means idle: no reach or intake planning job at start, which a warm stop waits for
    # on a slow machine.
    process, _ = start_up(tmp_path / "var", redis_url, YUNCHU_WORKERS="1",
                          YUNCHU_REACH_INTERVAL_S="0", YUNCHU_INTAKE_INTERVAL_S="86400")
    try:
        deadline = time.monotonic() + 30
        workers: set[int] = set()
        while not workers and time.monotonic() < deadline:
            workers = {pid for pid in _children(process.pid)
                       if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()}
            time.sleep(0.1)
        time.sleep(3)  # listening
        (pid,) = workers
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 9  # up's own stop gives a worker 10 s, then SIGKILL
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid)
    finally:
        stop_up(process)
