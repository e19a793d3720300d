"""A private Redis server for one test process (a pytest-xdist worker).

The test areas keep their queues in fixed db numbers of one server and flush them when they
start; two workers sharing a server would flush and drain each other's RQ jobs. Each worker
therefore gets a server of its own: no persistence, loopback only, and killed by the kernel
when the worker dies, so an aborted run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator

import redis

from hub.infra.children import die_with_parent
from tests.plugins.services import free_port


def _serves(proc: subprocess.Popen, port: int, timeout: float) -> bool:
    """Whether ``proc`` itself answers on ``port`` (not some other server that took the port
    between ``free_port`` and the bind: then ours exits and this says False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.3)
        try:
            return client.info("server")["process_id"] == proc.pid
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
        finally:
            client.close()
    return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def private_redis(binary: str, attempts: int = 5) -> Iterator[str]:
    """Start ``binary`` (redis-server) on a free loopback port; yields its db-0 URL."""
    for _ in range(attempts):
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", "/tmp", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        if _serves(proc, port, timeout=15.0):
            break
        _stop(proc)
    else:
        raise RuntimeError(f"{binary} did not start on a free port in {attempts} attempts")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)
