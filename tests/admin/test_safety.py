"""负面清单 in the browser: a province administrator types the list line by line and saves it
as the next version; the rescan that follows lists the live items that now hit it, each a link
to the page where one click withdraws it. Mistakes name their line, keep what was typed and
save nothing; only a province-wide administrator edits."""

from __future__ import annotations

from admin import safety_form

LIST = """# 第一版
谣传某地地震,rumour,禁止
限时抢购,commercial

虚假捐款，散布谣言，扰乱社会秩序，warn
"""


def _version(newsroom) -> int:
    return newsroom.hub.get("/api/v1/safety/terms").json["version"]


def test_an_admin_saves_the_list_and_sees_the_live_items_it_now_hits(newsroom):
    newsroom.account("c1", "市级微信")
    hit = newsroom.item("c1", "approved", title="网传消息",
                        body="<p>有人谣传某地地震，请勿轻信。</p>")
    newsroom.push(hit, "c1")
    clean = newsroom.item("c1", "approved", title="防汛通知")
    admin = newsroom.browser("province_admin")
    page = admin.text("/admin/safety")
    assert 'href="/admin/safety"' in page and "第0版" in page and "保存为第1版" in page
    response = admin.post("/admin/safety", {"version": "1", "terms": LIST,
                                            "canonical_names": "云省\n"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:800]
    assert "负面清单已保存为第1版，共3个词条" in page
    stored = newsroom.hub.get("/api/v1/safety/terms").json
    assert stored["version"] == 1 and stored["canonical_names"] == ["云省"]
    assert {(t["term"], t["category"], t["action"]) for t in stored["terms"]} == {
        ("谣传某地地震", "rumour", "block"), ("限时抢购", "commercial", "warn"),
        ("虚假捐款", "rumour", "warn")}
    assert "限时抢购,commercial,warn" in page  # the default action, written out
    assert f'data-item="{hit}"' in page and f'href="/admin/items/{hit}"' in page
    assert f'data-item="{clean}"' not in page
    assert "1篇命中负面清单" in page

    rescanned = admin.post("/admin/safety/rescan")
    assert rescanned.status_code == 200 and f'data-item="{hit}"' in rescanned.get_data(
        as_text=True)


def test_a_wrong_line_is_named_kept_and_nothing_is_saved(newsroom):
    admin = newsroom.browser("province_admin")
    for text, message in (("谣传\n", "第1行：格式应为"),
                          ("# 注释\n\n谣传,no_such_category\n", "第3行：没有类别“no_such_category”"),
                          ("谣传,rumour,也许\n", "第1行：动作“也许”应为"),
                          ("谣传,rumour\n# x\n谣 传,rumour\n", "第3行：词条")):  # the API's check
        response = admin.post("/admin/safety", {"version": "1", "terms": text})
        page = response.get_data(as_text=True)
        assert response.status_code == 422, (text, page[:600])
        assert message in page and text.strip().splitlines()[-1] in page, (text, page[:2000])
        assert "Traceback" not in page
    assert _version(newsroom) == 0
    assert admin.post("/admin/safety", {"version": "1", "terms": "谣传,rumour"}).status_code \
        == 200
    stale = admin.post("/admin/safety", {"version": "1", "terms": "谣言,rumour"})
    assert stale.status_code == 409 and "负面清单已是第1版" in stale.get_data(as_text=True)
    assert _version(newsroom) == 1


def test_only_a_province_admin_edits_and_readers_see_the_list(newsroom):
    hub = newsroom.hub
    assert hub.put("/api/v1/safety/terms", {"version": 1, "terms": [
        {"term": "谣传", "category": "rumour", "action": "block"}]}).status_code == 200
    city_admin = newsroom.browser("admin")  # an admin, but of c1 only
    page = city_admin.text("/admin/safety")
    assert "谣传,rumour,block" in page and "保存为第2版" not in page and "readonly" in page
    assert city_admin.post("/admin/safety", {"version": "2", "terms": "x,rumour"}
                           ).status_code == 403
    editor = newsroom.browser("editor")
    assert "谣传,rumour,block" in editor.text("/admin/safety")
    assert editor.post("/admin/safety/rescan").status_code == 403
    operator = newsroom.browser("operator")
    assert 'href="/admin/safety"' not in operator.text("/admin/")
    assert operator.get("/admin/safety").status_code == 403
    assert _version(newsroom) == 1


def test_the_page_speaks_english_on_request(newsroom):
    page = newsroom.browser("province_admin").text("/admin/safety?lang=en")
    assert "Negative list" in page and "Save as version 1" in page


def test_lines_and_the_stored_list_round_trip():
    terms, lines = safety_form.parse(LIST)
    assert lines == [2, 3, 5]
    again, _ = safety_form.parse(safety_form.unparse(
        [{"action": "warn", **t} if "action" not in t else t for t in terms]))
    assert [t["term"] for t in again] == ["谣传某地地震", "限时抢购", "虚假捐款"]
    assert safety_form.line_of("terms[2].term", lines) == 5
    assert safety_form.line_of("version", lines) is None


def test_an_approved_item_hitting_the_new_list_shows_it_and_loses_its_push_button(newsroom):
    newsroom.account("c1-k1", "县级微信")
    item = newsroom.item("c1", "approved", title="全省防汛工作会议召开")
    editor = newsroom.browser("editor")
    assert 'data-action="push"' in editor.text(f"/admin/items/{item}")
    r = newsroom.hub.put("/api/v1/safety/terms", {"version": _version(newsroom) + 1, "terms": [
        {"term": "防汛准备", "category": "rumour", "action": "block"}]})
    assert r.status_code == 200, r.json
    page = editor.text(f"/admin/items/{item}")
    assert 'data-field="safety-push-blocked"' in page and "防汛准备" in page
    assert 'data-action="push"' not in page
    # The province admin still has the button; the push asks for a recorded override.
    province = newsroom.browser("province_admin").text(f"/admin/items/{item}")
    assert 'data-action="push"' in province and "省级管理员" in province
    r = newsroom.browser("province_admin").post(f"/admin/items/{item}/push", {
        "targets_form": "1", "orgs": "c1-k1", "descendants": "1",
        "safety_override_reason": "经核实无误"})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    entries = newsroom.hub.get("/api/v1/audit", query_string={"item": item}).json["items"]
    pushed = [e for e in entries if e["action"] == "item.push"]
    assert pushed[0]["details"]["safety_override"]["reason"] == "经核实无误", pushed


def test_comments_are_kept_and_every_wrong_line_is_named(newsroom):
    admin = newsroom.browser("province_admin")
    typed = "# 地震类谣言\n谣传某地地震,rumour,禁止\n\n# 商业广告\n# 第二行注释\n限时抢购,commercial\n# 结尾\n"
    assert admin.post("/admin/safety", {"version": "1", "terms": typed}).status_code == 200
    stored = newsroom.hub.get("/api/v1/safety/terms").json["terms"]
    assert [t.get("comments") for t in stored] == [["# 地震类谣言"], ["# 商业广告", "# 第二行注释"]]
    assert stored[-1]["comments_after"] == ["# 结尾"]
    page = admin.text("/admin/safety")
    assert ("# 地震类谣言\n谣传某地地震,rumour,block\n# 商业广告\n# 第二行注释\n"
            "限时抢购,commercial,warn\n# 结尾</textarea>") in page
    response = admin.post("/admin/safety", {"version": "2",
                                            "terms": "谣传\n好词,rumour\n坏词,nope\n又,rumour,也许\n"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for said in ("第1行：格式应为", "第3行：没有类别“nope”", "第4行：动作“也许”应为"):
        assert said in page, said
    r = newsroom.hub.put("/api/v1/safety/terms", {"version": 2, "terms": [
        {"term": "x词", "category": "rumour", "comments": "not a list"}]})
    assert r.status_code == 422 and r.json["error"]["details"]["field"] == "terms[0].comments"
