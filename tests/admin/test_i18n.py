"""Chinese first; ?lang=en switches to English and the choice is remembered."""

from __future__ import annotations

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


def test_bilingual_api_messages_split(app_context_lang):
    app_context_lang("zh")
    message = "当前需要初审（第1审），你的审级是第2审 (this item needs stage 1)"
    assert i18n.localise(message) == "当前需要初审（第1审），你的审级是第2审"
    assert i18n.localise("找不到稿件 itm_1 (稿件 not found)") == "找不到稿件 itm_1"
    assert i18n.localise("纯中文") == "纯中文"
    app_context_lang("en")
    assert i18n.localise(message) == "this item needs stage 1"
    assert i18n.localise("找不到稿件 itm_1 (稿件 not found)") == "找不到稿件 itm_1 (稿件 not found)"


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


def test_negative_list_categories_fields_and_actions_speak_the_page_language(newsroom):
    hub = newsroom.hub
    r = hub.put("/api/v1/safety/terms", {"version": 1, "terms": [
        {"term": "赌博网站", "category": "obscenity_violence", "action": "block"},
        {"term": "小道消息", "category": "rumour", "action": "warn"}]})
    assert r.status_code == 200, r.json
    item = newsroom.item("c1", "draft", title="小道消息汇总",
                         body="<p>某赌博网站被查处</p>")
    admin = newsroom.browser("province_admin")
    page = admin.text(f"/admin/items/{item}")
    assert "散布淫秽、色情、赌博、暴力、凶杀、恐怖内容" in page and "散布谣言，扰乱社会秩序" in page
    assert "正文" in page and "禁止" in page and "提示" in page
    for leak in ("obscenity_violence", ">body<", ">block<", ">warn<", ">title<"):
        assert leak not in page, leak
    page = admin.text(f"/admin/items/{item}?lang=en")
    assert "Obscenity, pornography, gambling, violence, murder or terror" in page
    assert "Spreading rumours that disturb social order" in page
    assert "散布" not in page and "正文" not in page and "标题" not in page

    page = admin.text("/admin/safety")
    assert "Inciting ethnic hatred or discrimination" in page  # the table, still in English
    assert "煽动民族仇恨" not in page and "严重错别字" not in page
    # the English name typed into the list is understood
    response = admin.post("/admin/safety", {
        "version": "2", "terms": "虚假捐款,Spreading rumours that disturb social order,warn\n"})
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    assert hub.get("/api/v1/safety/terms").json["terms"] == [
        {"term": "虚假捐款", "category": "rumour", "action": "warn"}]
    page = admin.text("/admin/safety?lang=zh")
    assert "煽动民族仇恨、民族歧视" in page and "Inciting ethnic hatred" not in page


def test_audit_actions_are_named_not_coded(newsroom):
    newsroom.account("c1", "c1-weixin")
    item = newsroom.item("c1", "approved")
    r = newsroom.browser("admin").post(f"/admin/items/{item}/push", {
        "targets_form": "1", "orgs": "c1", "descendants": "1"})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    auditor = newsroom.browser("auditor")
    page = auditor.text("/admin/audit?action=item.push")
    assert 'data-action="item.push" title="item.push">推送稿件<' in page
    assert ">item.push<" not in page
    page = auditor.text("/admin/audit?action=item.push&lang=en")
    assert 'data-action="item.push" title="item.push">item pushed<' in page


def test_api_messages_come_from_the_catalog_and_read_in_one_language(newsroom):
    """The API's text is unchanged for clients; the UI shows one language from the catalog,
    field names and nouns included."""
    hub = newsroom.hub
    r = hub.get("/api/v1/items/itm_nope")
    assert r.status_code == 404
    assert r.json["error"]["message"] == "找不到稿件 itm_nope (稿件 not found)"
    r = hub.post("/api/v1/items", {"org": "c1", "kind": "article", "title": "标题",
                                   "body": 5})
    assert r.status_code == 422 and r.json["error"]["details"]["field"] == "body"
    editor = newsroom.browser("editor")
    page = editor.text("/admin/items/itm_nope", 404)
    assert "找不到稿件 itm_nope" in page and "not found" not in page
    page = editor.text("/admin/items/itm_nope?lang=en", 404)
    assert "item not found" in page and "稿件" not in page


def test_a_catalog_message_is_the_old_bilingual_text_and_speaks_either_half(app_context_lang):
    from hub.errors import ApiError, not_found
    from hub.validation import text

    err = not_found("稿件", "itm_1")
    assert err.message == "找不到稿件 itm_1 (稿件 not found)"
    try:
        text({"body": " "}, "body", max_len=10)
    except ApiError as caught:
        err = caught
    assert err.message == "body 不能为空 (body must not be empty)"  # what clients always got
    app_context_lang("zh")
    assert i18n.localise(err.message) == "正文 不能为空"
    app_context_lang("en")
    assert i18n.localise(err.message) == "body must not be empty"
    assert i18n.localise(not_found("稿件", "itm_1").message) == "item not found"
