"""A reprint's page lists the withdrawal that took it down with its origin; the public page
shows Beijing time with its zone; every page has a favicon."""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.models import Item


def test_a_reprint_shows_the_cascade_withdrawal_as_its_own_record(newsroom):
    origin = newsroom.item("c1", "approved", title="原稿", shared_to_library=True)
    r = newsroom.hub.post(f"/api/v1/library/{origin}/pull", {"org": "c1-k1"})
    assert r.status_code == 201, r.json
    copy = r.json["id"]
    withdrawal = newsroom.withdraw(origin, "原稿有误")
    page = newsroom.browser("province_admin").text(f"/admin/items/{copy}")
    runs = page.split("撤稿记录", 1)[1].split("</ul>", 1)[0]
    assert f'href="/admin/withdrawals/{withdrawal}"' in runs and "原稿有误" in runs
    other = newsroom.item("c1", "approved", title="无关稿件")
    runs = newsroom.browser("province_admin").text(f"/admin/items/{other}").split(
        "撤稿记录", 1)[1].split("</ul>", 1)[0]
    assert withdrawal not in runs


def test_the_public_page_shows_beijing_time_with_its_zone(newsroom):
    item = newsroom.item("c1", "approved", title="公开稿件")
    with newsroom.hub.runtime.db.session() as db:
        approved_at = db.execute(select(Item.approved_at).where(Item.id == item)).scalar_one()
    page = newsroom.hub.client.get(f"/p/{item}").get_data(as_text=True)
    shown = re.search(r"<time [^>]*>([^<]+)</time>", page).group(1)
    hour = (approved_at.hour + 8) % 24
    assert shown.endswith(" 北京时间") and f" {hour:02d}:{approved_at.minute:02d} " in shown


def test_every_page_has_a_favicon(newsroom):
    icon = newsroom.hub.client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.get_data()
    assert 'rel="icon"' in newsroom.browser().text("/admin/login")
