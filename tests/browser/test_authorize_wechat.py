"""授权接入 of a WeChat official account in a real browser, the hub as a 第三方平台: an org admin
opens the authorisation link from the hub's page (the sandbox's consent page checks that the
Referer is on the registered 授权发起页域名, as WeChat's does), presses 同意授权, the sandbox
pushes the ``authorized`` event to the hub and sends the browser back to the callback; the
hub's page shows the attempt completed and the ledger the account. Then 重新授权 from the
account page (the link names the account), and a cancellation the account's admin makes,
which the ledger and the dashboard show."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.wechat_component import FIXTURES
from tests.test_up import start_up, stop_up

from .conftest import Hub, _chromium, hub_of, seed_county, signed_in

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

APPID = "wxc0mp0nentbrowser"
SECRET = "component-browser-secret-0123456789"
TOKEN = "BrowserComponentToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
ACCOUNT = FIXTURES[0]


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory, redis_server_url: str,
       sandbox_server) -> Iterator[Hub]:
    """``yunchu up`` as a 第三方平台 whose open platform is the sandbox's; the sandbox knows
    the component with the hub's host as 授权发起页域名 and the hub's event URL, as an
    operator registers them at WeChat."""
    _chromium()
    data = tmp_path_factory.mktemp("up-wechat") / "var"
    redis_url = redis_server_url.rsplit("/", 1)[0] + "/11"
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    wechat = sandbox_server.platform_url("wechat")
    process, lines = start_up(data, redis_url, YUNCHU_OUTBOUND_ALLOW=sandbox_server.allow_entry,
                              YUNCHU_WECHAT_API_BASE=wechat,
                              YUNCHU_WECHAT_COMPONENT_APPID=APPID,
                              YUNCHU_WECHAT_COMPONENT_SECRET=SECRET,
                              YUNCHU_WECHAT_COMPONENT_TOKEN=TOKEN,
                              YUNCHU_WECHAT_COMPONENT_AES_KEY=AES_KEY,
                              YUNCHU_WECHAT_COMPONENT_LOGIN_BASE=wechat)
    try:
        hub = hub_of(process, lines)
        registered = requests.post(f"{wechat}/_component/apps/{APPID}", timeout=30, json={
            "secret": SECRET, "token": TOKEN, "aes_key": AES_KEY,
            "event_url": hub.url + "wechat/component/events",
            "domain": urlsplit(hub.url).hostname})
        assert registered.status_code == 200, registered.text
        assert registered.json()["pushes"][-1]["ok"], registered.json()  # the ticket landed
        seed_county(hub, "orgadmin", ["admin"])
        hub.data["wechat"] = wechat
        yield hub
    finally:
        stop_up(process)


@pytest.fixture
def admin_page(chromium, up: Hub) -> Iterator[Any]:
    with signed_in(chromium, up, "orgadmin", timeout_ms=20000) as page:
        yield page


def consent(page: Any) -> Any:
    """Open the attempt page's link in a new tab and press 同意授权; the tab, back at the hub."""
    with page.expect_popup() as opened:
        page.click('a[data-field="open"]')
    tab = opened.value
    tab.wait_for_load_state()
    refusal = tab.query_selector("p.error")  # e.g. the Referer is not on the 授权发起页域名
    assert refusal is None, refusal.inner_text()
    assert "授权给第三方平台" in tab.inner_text("h1")
    tab.check(f'input[name="authorizer_appid"][value="{ACCOUNT.appid}"]')
    tab.click("button[value='approve']")
    tab.wait_for_url("**/oauth/wechat/callback?**")
    return tab


def eventually(check: Callable[[], Any], what: str, limit_s: float = 20) -> Any:
    """The cancellation push travels on its own: wait for what it brings (not a speed check)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def test_an_org_admin_connects_reauthorizes_and_sees_a_cancellation(admin_page, up: Hub):
    page = admin_page
    page.goto(up.url + "admin/accounts")
    page.click('a[data-action="authorize"]')
    page.click('button[data-platform="wechat"]')
    page.wait_for_selector('img[data-field="qr"]')
    assert page.inner_text('[data-field="status"]') == "等待扫码授权"
    link = page.get_attribute('a[data-field="open"]', "href")
    query = parse_qs(urlsplit(link).query)
    assert query["component_appid"] == [APPID] and "biz_appid" not in query

    tab = consent(page)
    assert "授权成功" in tab.inner_text("h1")
    assert ACCOUNT.nick_name in tab.inner_text("main")
    tab.close()
    page.wait_for_selector('#authorization[data-status="completed"]')
    assert page.inner_text('[data-field="status"]') == "授权完成"
    pushes = requests.get(f"{up.data['wechat']}/_component/apps/{APPID}", timeout=10).json()
    assert any(p["info_type"] == "authorized" and p["ok"] for p in pushes["pushes"]), pushes

    page.click('a[data-field="ledger"]')
    row = page.wait_for_selector(f'tr:has-text("{ACCOUNT.nick_name}")')
    assert "已授权" in row.inner_text() and "第三方平台授权" in row.inner_text()

    # 重新授权 from the account page: the link names the account (biz_appid).
    row.query_selector('a[data-action="edit"]').click()
    page.wait_for_selector('[data-field="auth-health"]')
    assert "第三方平台授权" in page.inner_text('[data-field="auth-health"]')
    page.click('[data-field="auth-health"] button[data-action="reauthorize"]')
    page.wait_for_selector('img[data-field="qr"]')
    link = page.get_attribute('a[data-field="open"]', "href")
    query = parse_qs(urlsplit(link).query)
    assert query["biz_appid"] == [ACCOUNT.appid] and "auth_type" not in query
    tab = consent(page)
    assert "授权成功" in tab.inner_text("h1")
    tab.close()
    page.wait_for_selector('#authorization[data-status="completed"]')
    pushes = requests.get(f"{up.data['wechat']}/_component/apps/{APPID}", timeout=10).json()
    assert any(p["info_type"] == "updateauthorized" and p["ok"] for p in pushes["pushes"])

    # The account's admin cancels at WeChat: the ``unauthorized`` push reaches the hub.
    cancel = requests.post(f"{up.data['wechat']}/_component/apps/{APPID}/revoke/{ACCOUNT.appid}",
                           timeout=30)
    assert cancel.json() == {"ok": True}

    def ledger_row() -> str:
        page.goto(up.url + "admin/accounts")
        return page.inner_text(f'tr:has-text("{ACCOUNT.nick_name}") [data-field="auth"]')

    assert "授权已撤销" in eventually(lambda: "授权已撤销" in ledger_row() and ledger_row(),
                                       "the ledger shows the cancellation")
    page.goto(up.url + "admin/")
    assert page.inner_text('[data-stat="auth-revoked"]') == "1"
    assert ACCOUNT.nick_name in page.inner_text('[data-stat="auth-health"]')
