"""The ``sandbox`` fixture: one emulated-platform server per test session, reset before each test.

Platforms whose ``sandbox/<p>.py`` module does not exist are simply not mounted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.sandbox_thread import RunningSandbox, running_sandbox


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningSandbox]:
    with running_sandbox() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox) -> RunningSandbox:
    """The shared sandbox, emptied: no posts, no accounts, default config, real time."""
    sandbox_server.reset()
    return sandbox_server
