"""Fixtures of the security tests: the hub on SQLite only, for the (large) permission matrix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins.hub import HubClient, database_url_for, make_hub


@pytest.fixture
def sqlite_hub(request: pytest.FixtureRequest, redis_server_url: str,
               tmp_path: Path) -> Iterator[HubClient]:
    """The hub on SQLite only (the permission matrix: thousands of requests, one backend)."""
    client = make_hub(database_url_for(request, "sqlite", tmp_path), redis_server_url, tmp_path)
    yield client
    client.runtime.close()
