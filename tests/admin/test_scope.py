"""A county operator sees only its own county: items, accounts, pushes, counts. Unknown ids
and addresses answer a readable 404 page."""

from __future__ import annotations

import re

import pytest

from tests.hub.helpers import wechat_account


@pytest.fixture
def two_counties(newsroom):
    hub = newsroom.hub
    own_account = newsroom.account("c1-k1", "本县政务微信", responsible_person="张三")
    other_account = newsroom.account("c2-k1", "邻县政务微信", responsible_person="李四")
    own_item = newsroom.item("c1-k1", "approved", title="本县防汛通知")
    other_item = newsroom.item("c2-k1", "in_review", title="邻县旅游推介")
    own_dispatch = newsroom.push(own_item, "c1-k1")
    r = hub.post("/api/v1/items", {"org": "c2-k1", "kind": "article", "title": "邻县草稿",
                                   "body": "<p>正文</p>"})
    assert r.status_code == 201
    return {"own_account": own_account, "other_account": other_account, "own_item": own_item,
            "other_item": other_item, "other_draft": r.json["id"],
            "own_dispatch": own_dispatch}


def test_county_operator_sees_only_its_county(newsroom, two_counties):
    s = two_counties
    operator = newsroom.browser("operator")
    items = operator.text("/admin/items")
    assert "本县防汛通知" in items
    assert "邻县旅游推介" not in items and "邻县草稿" not in items
    ledger = operator.text("/admin/accounts")
    assert "本县政务微信" in ledger and "张三" in ledger
    assert "邻县政务微信" not in ledger and "李四" not in ledger
    dashboard = operator.text("/admin/")
    assert 'data-stat="items-approved">1<' in dashboard
    assert 'data-stat="items-in_review">0<' in dashboard
    assert 'data-stat="accounts-wechat">1<' in dashboard

    for path in (f"/admin/items/{s['other_item']}", "/admin/items?org=c2-k1",
                 "/admin/accounts?org=c2-k1"):
        response = operator.get(path)
        assert response.status_code == 403, path
        page = response.get_data(as_text=True)
        assert "超出本机构管辖范围" in page and "Traceback" not in page
    # Its own county, by filter, works.
    assert "本县政务微信" in operator.text("/admin/accounts?org=c1-k1")


def test_other_county_cannot_watch_or_act_on_our_push(newsroom, two_counties):
    s = two_counties
    other = newsroom.browser("other_operator")
    assert other.get(f"/admin/dispatches/{s['own_dispatch']}").status_code == 403
    assert other.client.get(f"/api/v1/dispatches/{s['own_dispatch']}").status_code == 403
    assert other.get(f"/admin/items/{s['own_item']}").status_code == 403
    response = other.post(f"/admin/items/{s['own_item']}/push")
    assert response.status_code == 403
    assert newsroom.status(s["own_item"]) == "approved"
    items = other.text("/admin/items")
    assert "邻县旅游推介" in items and "本县防汛通知" not in items


def test_province_admin_sees_everything(newsroom, two_counties):
    admin = newsroom.browser("province_admin")
    items = admin.text("/admin/items")
    assert "本县防汛通知" in items and "邻县旅游推介" in items and "邻县草稿" in items
    ledger = admin.text("/admin/accounts")
    assert "本县政务微信" in ledger and "邻县政务微信" in ledger
    assert "邻县政务微信" not in admin.text("/admin/accounts?org=c1")


def test_unknown_ids_and_addresses_are_404_pages(newsroom):
    browser = newsroom.browser("province_admin")
    for path in ("/admin/items/itm_nope", "/admin/dispatches/dsp_nope",
                 "/admin/withdrawals/wdr_nope", "/admin/no/such/page", "/admin/items/itm%3Fx%23y",
                 "/admin/items?org=no-such-org"):
        response = browser.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "找不到" in page and "Traceback" not in page
    response = browser.post("/admin/items/itm_nope/withdraw", {"reason": "测试"})
    assert response.status_code == 404


def test_ledger_never_shows_credentials(newsroom):
    hub = newsroom.hub
    body = wechat_account("c1", "省厅公众号", responsible_person="王五", chief_editor="赵六",
                          managing_department="宣传处", filing_number="云备-2024-001",
                          filing_date="2024-03-01")
    r = hub.post("/api/v1/accounts", body)
    assert r.status_code == 201
    secret = body["credentials"]["secret"]
    for who in ("province_admin", "auditor", "operator"):
        page = newsroom.browser(who).text("/admin/accounts")
        assert secret not in page and "credentials" not in page
        if who != "operator":  # c1-k1 cannot see a c1 account
            for value in ("省厅公众号", "王五", "赵六", "宣传处", "云备-2024-001", "2024-03-01"):
                assert value in page, (who, value)
        else:
            assert "省厅公众号" not in page


def test_item_list_filters_and_pages(newsroom, two_counties, monkeypatch):
    from hub.services import item_overview

    admin = newsroom.browser("province_admin")
    page = admin.text("/admin/items?q=旅游")
    assert "邻县旅游推介" in page and "本县防汛通知" not in page
    page = admin.text("/admin/items?status=draft")
    assert "邻县草稿" in page and "邻县旅游推介" not in page
    monkeypatch.setattr(item_overview, "ITEMS_PAGE", 2)
    first = admin.text("/admin/items")
    assert first.count("data-item=") == 2
    cursor = re.search(r'class="pager"><a href="([^"]+)"', first).group(1)
    second = admin.text(cursor.replace("&amp;", "&"))
    assert second.count("data-item=") == 1 and 'class="pager"' not in second
    titles = {"本县防汛通知", "邻县旅游推介", "邻县草稿"}
    assert all(t in first + second for t in titles)
