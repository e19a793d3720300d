"""授权接入 in a real browser: a county operator connects a Douyin account. The hub shows the QR
code and a link; the consent page (the sandbox's) opens in a new tab, 同意授权 is clicked there,
and the operator's page, polling, shows the attempt completed and the account in the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_up import start_up, stop_up

from .conftest import Hub, _chromium, hub_of, seed_county, signed_in

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory, redis_server_url: str,
       sandbox_server) -> Iterator[Hub]:
    """``yunchu up`` whose Douyin app is the sandbox's (no worker: nothing is pushed)."""
    _chromium()
    data = tmp_path_factory.mktemp("up-oauth") / "var"
    redis_url = redis_server_url.rsplit("/", 1)[0] + "/10"
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    process, lines = start_up(data, redis_url, YUNCHU_OUTBOUND_ALLOW=sandbox_server.allow_entry,
                              YUNCHU_DOUYIN_API_BASE=sandbox_server.platform_url("douyin"),
                              YUNCHU_DOUYIN_CLIENT_KEY="yc_browser_app",
                              YUNCHU_DOUYIN_CLIENT_SECRET="yc-browser-secret")
    try:
        hub = hub_of(process, lines)
        seed_county(hub, "operator", ["operator"])
        yield hub
    finally:
        stop_up(process)


@pytest.fixture
def operator_page(chromium, up: Hub) -> Iterator[Any]:
    with signed_in(chromium, up, "operator", timeout_ms=15000) as page:
        yield page


def test_an_operator_connects_a_douyin_account_by_consent(operator_page, up: Hub):
    page = operator_page
    page.goto(up.url + "admin/accounts")
    page.click('a[data-action="authorize"]')
    page.click('button[data-platform="douyin"]')
    page.wait_for_selector('img[data-field="qr"]')
    assert page.inner_text('[data-field="status"]') == "等待扫码授权"
    # The hub draws the QR code itself; the page's session may fetch it.
    qr = page.context.request.get(up.url.rstrip("/") + page.get_attribute(
        'img[data-field="qr"]', "src"))
    assert qr.status == 200 and qr.body().startswith(b"\x89PNG")
    with page.expect_popup() as opened:
        page.click('a[data-field="open"]')
    consent = opened.value
    consent.wait_for_load_state()
    assert "抖音授权" in consent.inner_text("h1")
    consent.check('input[name="account"][value="ou_dy_police"]')
    consent.click("button[value='approve']")
    consent.wait_for_selector("#oauth-outcome[data-status='completed']")
    assert "云城警方" in consent.inner_text("#oauth-outcome")
    # The operator's page learns it by polling.
    page.wait_for_selector('#authorization[data-status="completed"]')
    assert page.inner_text('[data-field="status"]') == "授权完成"
    page.click('a[data-field="ledger"]')
    row = page.wait_for_selector('tr:has-text("云城警方")')
    assert "已授权" in row.inner_text() and "扫码授权" in row.inner_text()
