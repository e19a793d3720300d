"""A request that finds PostgreSQL or Redis unreachable answers 503 in the error shape (send
it again), not a 500: the API and the admin pages, on a real server that went away."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from hub.infra.db import Database
from tests.hub.helpers import error_of, make_org
from tests.plugins.services import free_port, wait_for_port


def _dead_database_url() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"


def test_an_unreachable_database_is_a_503_with_retry_after(hub):
    make_org(hub, "yun", "province")
    live = hub.runtime.db
    hub.runtime.db = Database(_dead_database_url())
    try:
        response = hub.get("/api/v1/orgs")
    finally:
        hub.runtime.db.dispose()
        hub.runtime.db = live
    assert response.status_code == 503, response.json
    assert error_of(response)["code"] == "unavailable"
    assert response.headers["Retry-After"] == "1"
    assert hub.get("/api/v1/orgs").status_code == 200  # and it answers again once it is back


@pytest.mark.skipif(shutil.which("redis-server") is None,
                    reason="no redis-server binary to stop (bare machine); CI has one")
def test_a_redis_that_went_away_is_a_503(hub, tmp_path):
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port)
        import redis

        hub.runtime.__dict__["redis"] = redis.Redis(port=port, socket_connect_timeout=1)
        server.terminate()
        server.wait(10)
        time.sleep(0.1)
        with pytest.raises(redis.exceptions.ConnectionError):
            hub.runtime.redis.ping()
        response = hub.get("/readyz")
        assert response.status_code == 503
        # An API route that needs Redis: the login throttle counts attempts there.
        login = hub.client.post("/api/v1/session", json={"name": "x", "password": "y" * 12})
        assert login.status_code == 503, login.json
        assert error_of(login)["code"] == "unavailable"
    finally:
        hub.runtime.__dict__.pop("redis", None)
        if server.poll() is None:
            server.kill()
