"""Fixtures of the fan-out API tests: ``rig`` is the hub on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.plugins.hub import database_url_for, make_hub

from .support import ApiRig

API_REDIS_DB = 6  # private: the burst worker drains these queues and nothing else
PUBLIC_URL = "http://127.0.0.1:8000"  # a host the sandbox's Weibo accepts in links


@pytest.fixture(params=["sqlite", "postgres"])
def rig(request: pytest.FixtureRequest, redis_server_url: str, sandbox,
        tmp_path: Path) -> Iterator[ApiRig]:
    redis_url = redis_server_url.rsplit("/", 1)[0] + f"/{API_REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    hub = make_hub(database_url_for(request, request.param, tmp_path), redis_url, tmp_path,
                   public_url=PUBLIC_URL, outbound_allow=sandbox.allow_entry)
    built = ApiRig(hub=hub, sandbox=sandbox)
    built.build_tree()
    try:
        yield built
    finally:
        hub.runtime.close()
