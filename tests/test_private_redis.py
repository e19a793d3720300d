"""The private Redis server a pytest-xdist worker runs its tests against."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.plugins.private_redis import private_redis
from tests.plugins.services import port_open

BINARY = shutil.which("redis-server")
needs_binary = pytest.mark.skipif(BINARY is None, reason="no redis-server binary: workers use "
                                                         "an embedded valkey each instead")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@needs_binary
def test_two_private_servers_share_nothing_and_stop_with_the_block():
    with private_redis(BINARY) as first, private_redis(BINARY) as second:
        assert first != second
        one, two = redis.Redis.from_url(first), redis.Redis.from_url(second)
        one.set("queue", "mine")
        two.flushdb()  # what a test area does at its start
        assert one.get("queue") == b"mine" and two.get("queue") is None
        assert one.config_get("save")["save"] == "" and one.config_get("appendonly") == {
            "appendonly": "no"}
        port = one.connection_pool.connection_kwargs["port"]
        one.close()
        two.close()
    assert not port_open("127.0.0.1", port)


@needs_binary
@pytest.mark.timeout(60)
def test_the_server_dies_with_the_process_that_started_it():
    """A worker SIGKILLed mid-run (no ``finally`` runs) leaves no server behind."""
    code = ("import sys, time\n"
            "from tests.plugins.private_redis import private_redis\n"
            f"with private_redis({BINARY!r}) as url:\n"
            "    print(url, flush=True)\n"
            "    time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    try:
        url = parent.stdout.readline().strip()  # type: ignore[union-attr]
        assert url.startswith("redis://127.0.0.1:"), url
        client = redis.Redis.from_url(url)
        pid = client.info("server")["process_id"]
        client.close()
        assert _alive(pid)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)
