"""A newcomer's day in a real browser, on a hub started by ``yunchu up``: sign in with the
printed login, write an item with a cover, 三审 by three reviewers, preview, confirm with the
typed number and push with the progress bar reaching 100 %; the negative list edited and the
live items rescanned; a county operator pulls the item from 云稿库; the withdrawal confirmed
and counted down to 0, after which the public page answers 410; and the pages at phone width
and in English at 1366 px."""

from __future__ import annotations

import re

import pytest
import requests

from .conftest import CONFIRM_THRESHOLD, Hub, jpeg

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
TITLE = "全省防汛工作会议召开"
BODY = "会议要求各地压实防汛责任，做好强降雨应对，严防山洪地质灾害。"


def test_the_printed_login_signs_a_newcomer_in(people, up: Hub):
    page = people(None)
    page.goto(up.url + "admin/")
    assert "/admin/login" in page.url
    assert "bootstrap-admin" in page.inner_text("main")  # the first-run hint
    page.fill('input[name="name"]', up.admin_name)
    page.fill('input[name="password"]', up.admin_password)
    page.click('form[action$="/admin/login"] button[type="submit"]')
    page.wait_for_url(up.url + "admin/")
    assert page.inner_text("h1") == "概览"
    assert up.admin_name in page.inner_text("header")


def test_write_review_push_pull_screen_and_withdraw(people, newsroom: Hub, tmp_path):
    up = newsroom
    cover = tmp_path / "cover.jpg"
    cover.write_bytes(jpeg())

    # The editor writes the item with a cover, shared to 云稿库, and submits it.
    editor = people("editor")
    editor.goto(up.url + "admin/items/new")
    editor.fill('input[name="org"]', "c1")
    editor.fill('input[name="title"]', TITLE)
    editor.fill('textarea[name="summary"]', "部署强降雨应对")
    editor.fill('textarea[name="body"]', f"<p>{BODY}</p>")
    editor.set_input_files('input[name="cover"]', str(cover))
    editor.check('input[name="shared_to_library"]')
    editor.click('form.compose button[type="submit"]')
    editor.wait_for_url(re.compile(r".*/admin/items/itm_[^/]+$"))
    item = editor.url.rsplit("/", 1)[1]
    editor.click('form[data-action="submit"] button')
    editor.wait_for_selector("text=已送审")

    # 三审: three reviewers, each at their own stage.
    for stage in (1, 2, 3):
        reviewer = people(f"reviewer{stage}")
        reviewer.goto(up.url + f"admin/items/{item}")
        reviewer.fill('form[data-action="review"] textarea[name="comment"]', "同意")
        reviewer.click('form[data-action="review"] button[value="approve"]')
        reviewer.wait_for_selector("text=审核意见已提交")
    assert up.api("GET", f"/items/{item}").json()["status"] == "approved"

    # Preview and confirm: three accounts reach the threshold, so the number is typed.
    editor.goto(up.url + f"admin/items/{item}")
    editor.click('[data-action="push-start"]')
    confirm = editor.wait_for_selector('[data-field="confirm-push"]')
    assert "本次推送共涉及3个账号：推送3个，跳过0个" in confirm.inner_text()
    assert CONFIRM_THRESHOLD == 3
    editor.fill('[data-field="typed-total"]', "2")  # a wrong number: confirm again
    editor.click('[data-action="confirm-push"]')
    editor.wait_for_selector("text=请核对最新数字后重新确认（当前共3个）")
    assert up.api("GET", f"/items/{item}").json()["status"] == "approved"
    editor.fill('[data-field="typed-total"]', "3")
    editor.click('[data-action="confirm-push"]')
    editor.wait_for_url(re.compile(r".*/admin/dispatches/dsp_[^/]+$"))
    editor.wait_for_selector('progress[data-percent="100"]', timeout=45_000)
    editor.wait_for_selector('[data-field="state"].run-done', timeout=15_000)
    assert editor.inner_text('[data-field="remaining"]') == "0"
    assert editor.inner_text('[data-field="failed"]') == "0"
    assert requests.get(up.url + f"p/{item}", timeout=10).status_code == 200

    # The province admin adds a term the live item now hits, and the rescan names it.
    admin = people(up.admin_name)
    admin.goto(up.url + "admin/safety")
    admin.fill('textarea[name="terms"]', "# 灾害类\n严防山洪,rumour,提示\n")
    admin.click('form[action$="/admin/safety"] button[type="submit"]')
    admin.wait_for_selector("text=负面清单已保存为第1版，共1个词条")
    assert "# 灾害类" in admin.input_value('textarea[name="terms"]')
    assert admin.is_visible(f'[data-field="rescan"] tr[data-item="{item}"]')
    admin.click('form[action$="/admin/safety/rescan"] button')
    admin.wait_for_selector(f'[data-field="rescan"] tr[data-item="{item}"]')

    # A county operator pulls it from 云稿库 as a draft of the county.
    operator = people("operator")
    operator.goto(up.url + "admin/library")
    entry = operator.locator(f'section.library-entry[data-item="{item}"]')
    entry.locator("summary").click()
    entry.locator('input[name="title"]').fill("转载：" + TITLE)
    entry.locator('button[type="submit"]').click()
    operator.wait_for_selector("text=已转载为本单位草稿")
    copy = operator.url.rsplit("/", 1)[1]
    assert copy != item and up.api("GET", f"/items/{copy}").json()["origin"]

    # The withdrawal shows what it removes, takes the typed number and counts down to 0.
    admin.goto(up.url + f"admin/items/{item}")
    admin.fill('form[data-action="withdraw"] textarea[name="reason"]', "数据需更正")
    admin.click('[data-action="withdraw-start"]')
    panel = admin.wait_for_selector('[data-field="confirm-withdraw"]')
    assert "本次撤稿共涉及3条投递：撤下已发布的3条" in panel.inner_text()
    assert "含转载稿1篇" in panel.inner_text()
    admin.fill('[data-field="typed-total"]', "3")
    admin.click('[data-action="confirm-withdraw"]')
    admin.wait_for_url(re.compile(r".*/admin/withdrawals/wdr_[^/]+$"))
    admin.wait_for_selector('[data-field="state"].run-done', timeout=45_000)
    assert admin.inner_text('[data-field="remaining"]') == "0"
    assert requests.get(up.url + f"p/{item}", timeout=10).status_code == 410
    # The reprint's own page names the withdrawal that took it down.
    admin.goto(up.url + f"admin/items/{copy}")
    assert "数据需更正" in admin.inner_text("section:has(h3)")


def test_the_pages_fit_a_phone_and_english_fits_a_laptop(people, newsroom: Hub):
    up = newsroom
    phone = people(up.admin_name, viewport={"width": 390, "height": 844})
    phone.goto(up.url + "admin/accounts")
    assert phone.locator("tr[data-account]").count() == 3
    header = phone.locator("header.top").bounding_box()
    assert header is not None and header["height"] < 844 * 0.15, header
    width = phone.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, f"the ledger scrolls sideways: {width}px wide"

    laptop = people(up.admin_name, viewport={"width": 1366, "height": 768})
    laptop.goto(up.url + "admin/?lang=en")
    assert laptop.inner_text("h1") == "Dashboard"
    links = laptop.locator("header nav a")
    tops = {round(links.nth(n).bounding_box()["y"]) for n in range(links.count())}
    assert len(tops) == 1, f"the English nav wraps onto {len(tops)} rows"
