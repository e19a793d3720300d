"""授权接入 in the admin: an operator starts it for their org, sees the QR code and the link,
the holder consents in the sandbox, and the account is in the ledger with its token health;
重新授权 from the ledger and the account page; the dashboard lists access about to stop."""

from __future__ import annotations

import re

from hub.models import Account, utcnow
from tests.hub.onboarding.support import connect_to_sandbox, consent


def _attempt_page(browser, org: str, platform: str, **extra: str) -> tuple[str, str]:
    started = browser.post(f"/admin/orgs/{org}/authorize", {"platform": platform, **extra})
    assert started.status_code == 303, started.get_data(as_text=True)[:500]
    page = browser.follow(started)
    attempt_id = started.location.rsplit("/", 1)[1]
    return attempt_id, page


def test_an_operator_connects_a_douyin_account_and_sees_it_in_the_ledger(newsroom, sandbox):
    hub = newsroom.hub
    connect_to_sandbox(hub, sandbox)
    browser = newsroom.browser("operator")
    ledger = browser.text("/admin/accounts")
    assert "/admin/orgs/c1-k1/authorize" in ledger  # the operator's own org
    choose = browser.text("/admin/orgs/c1-k1/authorize")
    assert 'data-platform="douyin"' in choose and 'data-platform="weibo"' in choose
    attempt_id, page = _attempt_page(browser, "c1-k1", "douyin")
    assert f"/api/v1/authorizations/{attempt_id}/qr.png" in page
    assert 'target="_blank"' in page and "等待扫码授权" in page
    qr = browser.get(f"/api/v1/authorizations/{attempt_id}/qr.png")
    assert qr.status_code == 200 and qr.data.startswith(b"\x89PNG")  # the session cookie will do
    url = re.search(r'href="([^"]+)" target="_blank"', page).group(1).replace("&amp;", "&")
    assert hub.client.get(consent(url, account="ou_dy_culture")).status_code == 200
    polled = browser.get(f"/api/v1/authorizations/{attempt_id}").json
    assert polled["status"] == "completed"
    done = browser.text(f"/admin/authorizations/{attempt_id}")
    assert "授权完成" in done and "/admin/accounts?org=c1-k1" in done
    ledger = browser.text("/admin/accounts?org=c1-k1")
    assert "云城文旅" in ledger and "授权状态" in ledger and "已授权" in ledger
    # Another org's operator neither sees the attempt nor starts one here.
    other = newsroom.browser("other_operator")
    assert other.get(f"/admin/authorizations/{attempt_id}").status_code == 403
    assert other.post("/admin/orgs/c1-k1/authorize", {"platform": "douyin"}).status_code == 403


def test_reauthorise_from_the_ledger_and_the_account_page_and_the_dashboard(newsroom, sandbox):
    hub = newsroom.hub
    connect_to_sandbox(hub, sandbox)
    admin = newsroom.browser("admin")
    attempt_id, page = _attempt_page(admin, "c1", "weibo")
    url = re.search(r'href="([^"]+)" target="_blank"', page).group(1).replace("&amp;", "&")
    hub.client.get(consent(url, account="1404376561"))
    account_id = admin.get(f"/api/v1/authorizations/{attempt_id}").json["account_id"]
    with hub.runtime.db.session() as session:
        row = session.get(Account, account_id)
        row.auth_state = "revoked"
        row.auth_error = "微博授权已被撤销 (Weibo 21332)"
    ledger = admin.text("/admin/accounts?auth=revoked")
    assert "云城公安" in ledger and 'data-action="reauthorize"' in ledger
    assert "云城公安" not in admin.text("/admin/accounts?auth=expiring")
    edit = admin.text(f"/admin/accounts/{account_id}/edit")
    assert "授权状态" in edit and "已撤销" in edit and "21332" in edit
    dash = admin.text("/admin/")
    assert 'data-stat="auth-revoked">1<' in dash and "云城公安" in dash
    again_id, again = _attempt_page(admin, "c1", "weibo", account_id=account_id)
    assert again_id != attempt_id and "/qr.png" in again
    with hub.runtime.db.session() as session:
        row = session.get(Account, account_id)
        row.auth_state = "authorized"
        row.auth_expires_at = utcnow()
    assert 'data-stat="auth-expiring">1<' in admin.text("/admin/")


def test_the_admin_offers_whatever_the_registry_holds(newsroom, monkeypatch):
    from hub.services.onboarding import registry
    from hub.services.onboarding.base import Begun

    monkeypatch.setitem(registry.STARTERS, "wechat", lambda runtime, *, callback_url, account:
                        Begun("pac-" + "y" * 24, "https://hub.test/wechat/go?pac=1", 600))
    browser = newsroom.browser("operator")
    choose = browser.text("/admin/orgs/c1-k1/authorize")
    assert 'data-platform="wechat"' in choose and "微信公众号" in choose
    attempt_id, page = _attempt_page(browser, "c1-k1", "wechat")
    assert "https://hub.test/wechat/go?pac=1" in page
