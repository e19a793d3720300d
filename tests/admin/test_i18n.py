"""Chinese first; ?lang=en switches to English and the choice is remembered."""

from __future__ import annotations

import re

from admin import i18n

from .support import Browser


def test_chinese_by_default_english_on_request_and_remembered(newsroom):
    browser = newsroom.browser("editor")
    page = browser.text("/admin/")
    assert '<html lang="zh-CN">' in page and "概览" in page and "稿件（按状态）" in page
    response = browser.get("/admin/?lang=en")
    assert response.status_code == 200
    assert any(c.startswith("yunchu_lang=en") for c in response.headers.getlist("Set-Cookie"))
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page and "Dashboard" in page and "Items by status" in page
    assert "概览" not in page
    assert "Items" in browser.text("/admin/items")  # remembered without the parameter
    assert "Unified account ledger" in browser.text("/admin/accounts")
    assert "稿件" in browser.text("/admin/items?lang=zh")
    assert "概览" in browser.text("/admin/")


def test_login_page_and_api_messages_follow_the_language(newsroom):
    anonymous = Browser(newsroom.hub.app)
    assert "Log in" in anonymous.text("/admin/login?lang=en")
    newsroom.account("c1", "c1-weixin")
    item = newsroom.item("c1", "approved")
    newsroom.push(item, "c1")
    admin = newsroom.browser("province_admin")
    response = admin.post(f"/admin/items/{item}/withdraw", {"reason": "  "})
    assert response.status_code == 303
    assert "撤稿必须写明原因" in admin.follow(response)
    admin.get("/admin/?lang=en")
    response = admin.post(f"/admin/items/{item}/withdraw", {"reason": ""})
    page = admin.follow(response)
    assert "a withdrawal needs a reason" in page and "撤稿必须写明原因" not in page


def test_every_text_key_has_both_languages():
    for key, pair in i18n.TEXT.items():
        assert len(pair) == 2 and all(pair), key
    for group, values in i18n.LABELS.items():
        for value, pair in values.items():
            assert len(pair) == 2 and all(pair), (group, value)


def test_bilingual_api_messages_split(app_context_lang):
    app_context_lang("zh")
    message = "当前需要初审（第1审），你的审级是第2审 (this item needs stage 1)"
    assert i18n.localise(message) == "当前需要初审（第1审），你的审级是第2审"
    assert i18n.localise("找不到稿件 itm_1 (稿件 not found)") == "找不到稿件 itm_1"
    assert i18n.localise("纯中文") == "纯中文"
    app_context_lang("en")
    assert i18n.localise(message) == "this item needs stage 1"
    assert i18n.localise("找不到稿件 itm_1 (稿件 not found)") == "找不到稿件 itm_1 (稿件 not found)"


def test_every_text_key_a_template_names_exists():
    from pathlib import Path

    templates = Path(i18n.__file__).parent / "templates"
    named = {key for path in templates.rglob("*.html")
             for key in re.findall(r"\bt\('([a-z_]+\.[a-z_]+)'", path.read_text())}
    assert len(named) > 100
    assert sorted(named - set(i18n.TEXT)) == []


def test_the_writing_library_users_and_account_pages_speak_english_on_request(newsroom):
    account = newsroom.account("c1-k1", "交通微信")
    newsroom.item("c1", "approved", shared_to_library=True)
    admin = newsroom.browser("admin")
    admin.get("/admin/?lang=en")
    for path, english in (("/admin/items/new", "New article"), ("/admin/library", "Shared library"),
                          ("/admin/users", "New user"),
                          (f"/admin/accounts/{account['id']}/edit", "Edit account")):
        page = admin.text(path)
        assert english in page and '<html lang="en">' in page, path
