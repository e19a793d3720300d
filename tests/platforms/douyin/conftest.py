"""Fixtures for the Douyin adapter and sandbox tests."""

from __future__ import annotations

import pytest

from adapters.base import AccountRef
from sandbox.douyin import DouyinSettings, settings_for
from tests.platforms.douyin.support import account_for, make_mp4


@pytest.fixture(scope="session")
def mp4() -> bytes:
    return make_mp4()


@pytest.fixture
def api_base(sandbox) -> str:
    return sandbox.platform_url("douyin")


@pytest.fixture
def account(api_base) -> AccountRef:
    return account_for(api_base)


@pytest.fixture
def douyin_settings(sandbox) -> DouyinSettings:
    """The running sandbox's Douyin knobs (back to defaults at the next reset)."""
    return settings_for(sandbox.state)
