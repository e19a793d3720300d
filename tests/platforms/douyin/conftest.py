"""Fixtures for the Douyin adapter and sandbox tests."""

from __future__ import annotations

import pytest

from adapters.base import AccountRef
from sandbox.douyin import DouyinSettings, settings_for
from tests.platforms.douyin.support import account_for
from tests.storage import samples


@pytest.fixture(scope="session")
def mp4() -> bytes:
    return samples.video()  # a real 2 s H.264 MP4, a few KB


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
