"""The cluster rig (``bench.rig``) for the tests in this directory: started once per module,
with the test thread inside the rig's bridge namespace while the module runs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from bench.rig import Rig, available
from bench.rig.cluster import PG_BIN
from bench.rig.driver import Driver


def _unavailable() -> str | None:
    """Why the rig cannot run: no namespaces here is a skip; in CI (``CI`` set) missing
    server binaries fail the tests instead, as the browser tests do without Chromium."""
    reason = available()
    if reason:
        return reason
    missing = None
    if not (PG_BIN / "postgres").exists():
        missing = f"no PostgreSQL server binaries in {PG_BIN} (set YUNCHU_RIG_PG_BIN)"
    elif shutil.which("redis-server") is None:
        missing = "no redis-server on PATH"
    if missing and os.environ.get("CI"):
        pytest.fail(f"the cluster rig needs them in CI: {missing}")
    return missing


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
