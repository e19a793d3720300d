"""The cluster rig (``bench.rig``) for the tests in this directory: started once per module,
with the test thread inside the rig's bridge namespace while the module runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from bench.rig import Rig, available
from bench.rig.cluster import PG_BIN
from bench.rig.driver import Driver


def _unavailable() -> str | None:
    reason = available()
    if reason:
        return reason
    if not (PG_BIN / "postgres").exists():
        return f"no PostgreSQL server binaries in {PG_BIN} (set YUNCHU_RIG_PG_BIN)"
    if shutil.which("redis-server") is None:
        return "no redis-server on PATH"
    return None


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[Driver]:
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    params = getattr(request.module, "RIG", {})
    rig = Rig(**params).start()
    try:
        with rig.inside():
            driver = Driver(rig)
            try:
                yield driver
            finally:
                driver.close()
    finally:
        rig.stop()
