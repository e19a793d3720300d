"""A running hub app (Flask test client) on SQLite and on PostgreSQL, with real Redis.

PostgreSQL: one private database per test session, migrated once, tables truncated
between tests. SQLite: one migrated template file copied per test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.plugins.services import PG_URL, pg_available

BOOT_TOKEN = "yc_test_bootstrap_token_0123456789abcdef"


@dataclass
class HubClient:
    """The Flask test client with the bootstrap admin's token and JSON helpers."""

    app: Any
    client: Any
    runtime: Any
    token: str = BOOT_TOKEN
    backend: str = "sqlite"

    def _headers(self, token: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        headers.update(extra or {})
        return headers

    def get(self, path: str, *, token: str | None = None, **kw: Any):
        return self.client.get(path, headers=self._headers(token, kw.pop("headers", None)), **kw)

    def post(self, path: str, json: Any = None, *, token: str | None = None, **kw: Any):
        return self.client.post(path, json=json, headers=self._headers(token, kw.pop("headers", None)),
                                **kw)

    def patch(self, path: str, json: Any = None, *, token: str | None = None, **kw: Any):
        return self.client.patch(path, json=json,
                                 headers=self._headers(token, kw.pop("headers", None)), **kw)

    def put(self, path: str, json: Any = None, *, token: str | None = None, **kw: Any):
        return self.client.put(path, json=json, headers=self._headers(token, kw.pop("headers", None)),
                               **kw)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    if not pg_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (bare machine); CI runs these")
    from hub.infra import migrate
    from hub.infra.db import make_engine

    name = f"yunchu_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hub.infra import migrate
    from hub.infra.db import make_engine

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _truncate_all(url: str) -> None:
    from hub.infra.db import make_engine
    from hub.models import Base

    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def database_url_for(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    if backend == "postgres":
        url = request.getfixturevalue("pg_database_url")
        _truncate_all(url)
        return url
    template: Path = request.getfixturevalue("sqlite_template")
    target = tmp_path / "yunchu.db"
    shutil.copy(template, target)
    return f"sqlite:///{target}"


def make_hub(database_url: str, redis_url: str, tmp_path: Path, **overrides: Any) -> HubClient:
    from hub.app import create_app
    from hub.infra.bootstrap import prepare
    from hub.infra.config import load_settings
    from hub.infra.runtime import Runtime

    options = {"data_dir": tmp_path / "data", "database_url": database_url,
               "redis_url": redis_url, "bootstrap_token": BOOT_TOKEN,
               "public_url": "http://hub.test", "secret_key": "test-secret-" + uuid.uuid4().hex,
               # No reach collection on the sweeps: its platform calls would count in the
               # tests that count calls (tests/fanout/test_reach_schedule.py turns it on).
               "reach_interval_s": 0,
               **overrides}
    settings = load_settings(env={}, **options)
    runtime = Runtime(settings)
    prepare(runtime)
    app = create_app(runtime=runtime)
    app.testing = True
    return HubClient(app=app, client=app.test_client(), runtime=runtime,
                     backend="postgres" if "postgres" in database_url else "sqlite")


def sandbox_allowed(request: pytest.FixtureRequest) -> dict[str, str]:
    """A test that uses the sandbox gets a hub whose outbound policy names it, as `yunchu demo`
    does (loopback is refused otherwise)."""
    if "sandbox" not in request.fixturenames:
        return {}
    return {"outbound_allow": request.getfixturevalue("sandbox_server").allow_entry}


@pytest.fixture(params=["sqlite", "postgres"])
def hub(request: pytest.FixtureRequest, redis_server_url: str, tmp_path: Path) -> Iterator[HubClient]:
    """The hub on each database backend."""
    url = database_url_for(request, request.param, tmp_path)
    client = make_hub(url, redis_server_url, tmp_path, **sandbox_allowed(request))
    yield client
    client.runtime.close()


@pytest.fixture
def pg_hub(request: pytest.FixtureRequest, redis_server_url: str,
           tmp_path: Path) -> Iterator[HubClient]:
    """The hub on PostgreSQL only (fan-out, concurrency)."""
    url = database_url_for(request, "postgres", tmp_path)
    client = make_hub(url, redis_server_url, tmp_path, **sandbox_allowed(request))
    yield client
    client.runtime.close()
