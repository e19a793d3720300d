"""Admin reach pages: the rankings (table, sparklines, chart options, export), the printable
monthly report and an item's reach, in Chinese and English, scoped like the API."""

from __future__ import annotations

import io
import json
import re
from html import unescape

from tests.admin.support import PASSWORD, Browser
from tests.hub.reach_helpers import seed
from tests.hub.security.support import make_user


def browser(hub, name: str, org: str | None) -> Browser:
    make_user(hub, name, ["editor"], org=org, password=PASSWORD)
    b = Browser(hub.app)
    b.login(name)
    return b


def first_names(html: str) -> list[str]:
    return re.findall(r'<td class="name">([^<]*)</td>', html)


def chart_options(html: str) -> dict[str, dict]:
    return {name: json.loads(unescape(option)) for name, option in
            re.findall(r'data-chart="([^"]+)" data-option="([^"]*)"', html)}


def test_rankings_page_table_sparklines_and_charts(hub) -> None:
    data = seed(hub)
    b = browser(hub, "prov-editor", "yun")
    html = b.text("/admin/rankings?period=2026-11&platform=wechat")
    assert "传播力排行" in html and "估算" in html
    assert first_names(html) == ["丁", "甲", "丙", "乙"]
    assert html.count('<svg class="spark"') == 4
    options = chart_options(html)
    bars = options["ranking-wechat"]
    assert bars["yAxis"]["data"][-1] == "丁"  # horizontal bars: the first rank on top
    assert "item-cities-1" in options
    assert "vendor/echarts/echarts.min.js" in html
    assert f'/admin/items/{data["item"]}/reach' in html
    en = b.text("/admin/rankings?period=2026-11&platform=wechat&lang=en")
    assert "Reach rankings" in en and first_names(en)[0] == "丁"


def test_rankings_page_of_a_county_user_and_bad_input(hub) -> None:
    seed(hub)
    b = browser(hub, "county-editor", "c1-k1")
    html = b.text("/admin/rankings?period=2026-11&platform=wechat")
    assert first_names(html) == ["甲", "乙"]
    assert b.get("/admin/rankings?org=c2-k1").status_code == 403
    assert b.get("/admin/rankings?period=yesterday").status_code == 422


def test_export_and_report(hub) -> None:
    from openpyxl import load_workbook

    seed(hub)
    b = browser(hub, "prov-editor", "yun")
    r = b.get("/admin/rankings/export?period=2026-11&platform=wechat&format=xlsx")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.data))["排行 ranking"].iter_rows(values_only=True))
    assert rows[2][4] == "丁"
    html = b.text("/admin/rankings/report?period=2026-11")
    assert 'data-report="2026-11"' in html and "新媒体阅评" in html and "月度好稿" in html
    assert first_names(html) == [] and "丁" in html  # the report's tables carry no name class
    assert "report-wechat" in chart_options(html)


def test_item_reach_page(hub) -> None:
    data = seed(hub)
    b = browser(hub, "prov-editor", "yun")
    html = b.text(f"/admin/items/{data['item']}/reach?from=2026-11-01&to=2026-11-30")
    assert "稿件传播" in html and 'data-total="views">6000<' in html
    options = chart_options(html)
    [series] = options["item-over-time"]["series"]
    assert sum(series["data"]) == 6000 and len(series["data"]) == 30
    assert options["item-platforms"]["series"][0]["data"][0]["value"] == 6000
