"""Choosing what a push reaches, in the browser: some orgs with or without the orgs below them,
some platforms, matrices, a Beijing time to publish at. Nothing chosen is the whole of the
editor's scope. A refused choice comes back on the page as typed, with the API's reason, and
writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from hub.models import Delivery, Dispatch


def _weibo(newsroom, org: str, name: str) -> dict:
    r = newsroom.hub.post("/api/v1/accounts", {"org": org, "platform": "weibo", "name": name,
                                               "credentials": {"access_token": f"2.00{name}"}})
    assert r.status_code == 201, r.json
    return r.json


def _accounts(newsroom) -> dict[str, str]:
    made = {"c1-wechat": newsroom.account("c1", "市级微信")["id"],
            "c1-weibo": _weibo(newsroom, "c1", "市级微博")["id"],
            "k1-wechat": newsroom.account("c1-k1", "县级微信")["id"],
            "k1-weibo": _weibo(newsroom, "c1-k1", "县级微博")["id"],
            "c2-wechat": newsroom.account("c2", "邻市微信")["id"]}
    return made


def _dispatch(newsroom, item: str) -> tuple[Dispatch, dict[str, str]]:
    with newsroom.hub.runtime.db.session() as db:
        dispatch = db.execute(select(Dispatch).where(Dispatch.item_id == item)).scalar_one()
        states = dict(db.execute(select(Delivery.account_id, Delivery.state)
                                 .where(Delivery.item_id == item)).all())
        db.expunge(dispatch)
    return dispatch, states


def _dispatches(newsroom) -> int:
    with newsroom.hub.runtime.db.session() as db:
        return db.execute(select(func.count()).select_from(Dispatch)).scalar_one()


def test_one_org_without_the_orgs_below_on_one_platform(newsroom):
    ids = _accounts(newsroom)
    item = newsroom.item("c1", "approved", title="市级通知")
    editor = newsroom.browser("editor")
    page = editor.text(f"/admin/items/{item}")
    assert 'name="platforms" value="weibo"' in page and "含下级机构" in page
    response = editor.post(f"/admin/items/{item}/push", {
        "targets_form": "1", "orgs": "c1", "platforms": ["weibo"]})  # descendants unticked
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert "共1个账号" in editor.follow(response)
    dispatch, states = _dispatch(newsroom, item)
    assert set(states) == {ids["c1-weibo"]}
    assert (dispatch.targets["orgs"], dispatch.targets["descendants"],
            dispatch.targets["platforms"]) == (["c1"], False, ["weibo"])


def test_nothing_chosen_is_the_whole_scope_and_the_orgs_field_takes_several(newsroom):
    ids = _accounts(newsroom)
    first = newsroom.item("c1", "approved", title="全市通知")
    editor = newsroom.browser("editor")
    response = editor.post(f"/admin/items/{first}/push", {"targets_form": "1",
                                                         "descendants": "1"})
    assert response.status_code == 303
    assert set(_dispatch(newsroom, first)[1]) == {ids[k] for k in ids if k != "c2-wechat"}

    second = newsroom.item("c1", "approved", title="两级通知")
    admin = newsroom.browser("province_admin")
    response = admin.post(f"/admin/items/{second}/push", {
        "targets_form": "1", "orgs": "c1-k1、c2", "descendants": "1",
        "platforms": ["wechat", "bogus"]})
    assert response.status_code == 303
    assert set(_dispatch(newsroom, second)[1]) == {ids["k1-wechat"], ids["c2-wechat"]}


def test_a_matrix_alone_reaches_only_its_accounts(newsroom):
    ids = _accounts(newsroom)
    r = newsroom.hub.post("/api/v1/matrices", {"slug": "county-weibo", "name": "县级微博矩阵",
                                               "accounts": [ids["k1-weibo"]]})
    assert r.status_code == 201, r.json
    item = newsroom.item("c1", "approved")
    editor = newsroom.browser("editor")
    page = editor.text(f"/admin/items/{item}")
    assert 'value="county-weibo"' in page and "县级微博矩阵（1个账号）" in page
    response = editor.post(f"/admin/items/{item}/push", {
        "targets_form": "1", "descendants": "1", "matrices": ["county-weibo"]})
    assert response.status_code == 303
    dispatch, states = _dispatch(newsroom, item)
    assert set(states) == {ids["k1-weibo"]} and dispatch.targets["matrices"] == ["county-weibo"]


def test_a_time_is_read_as_beijing_time_and_holds_the_deliveries(newsroom):
    _accounts(newsroom)
    item = newsroom.item("c1", "approved")
    editor = newsroom.browser("editor")
    response = editor.post(f"/admin/items/{item}/push", {
        "targets_form": "1", "orgs": "c1-k1", "descendants": "1",
        "schedule_at": "2031-01-01T08:30"})
    assert response.status_code == 303
    assert "定时待发" in editor.follow(response)
    dispatch, states = _dispatch(newsroom, item)
    at = dispatch.schedule_at if dispatch.schedule_at.tzinfo else \
        dispatch.schedule_at.replace(tzinfo=UTC)
    assert at == datetime(2031, 1, 1, 0, 30, tzinfo=UTC)  # 08:30 in Beijing
    assert set(states.values()) == {"scheduled"} and len(states) == 2


def test_a_refused_choice_comes_back_as_typed_and_writes_nothing(newsroom):
    _accounts(newsroom)
    item = newsroom.item("c1", "approved")
    editor = newsroom.browser("editor")
    for choice, status, message in (
            ({"orgs": "c1 atlantis"}, 422, "找不到机构：atlantis"),
            ({"orgs": "c2"}, 403, "管辖范围外"),
            ({"orgs": "c1", "schedule_at": "2020-01-01T08:00"}, 422, "定时发布时间必须晚于现在"),
            ({"orgs": "c1", "schedule_at": "下周一"}, 422, "schedule_at"),
            ({"matrices": ["no-such-matrix"]}, 422, "找不到矩阵")):
        response = editor.post(f"/admin/items/{item}/push", {
            "targets_form": "1", "platforms": ["wechat"], **choice})
        page = response.get_data(as_text=True)
        assert response.status_code == status, (choice, page[:600])
        assert message in page, (choice, page[:1500])
        assert "Traceback" not in page
        assert 'name="platforms" value="wechat" checked' in page, choice
        if "orgs" in choice:
            assert f'name="orgs" value="{choice["orgs"]}"' in page, choice
        assert "<details open>" in page  # the choice is shown, not folded away
    assert _dispatches(newsroom) == 0
    assert newsroom.status(item) == "approved"


def test_the_form_speaks_english_on_request(newsroom):
    _accounts(newsroom)
    item = newsroom.item("c1", "approved")
    page = newsroom.browser("editor").text(f"/admin/items/{item}?lang=en")
    assert "Include the orgs below" in page and "Publish at (Beijing time" in page


def test_the_preview_counts_the_reach_and_keeps_the_choice(newsroom):
    _accounts(newsroom)
    item = newsroom.item("c1", "approved")
    editor = newsroom.browser("editor")
    response = editor.post(f"/admin/items/{item}/push/preview", {
        "targets_form": "1", "orgs": "c1-k1", "descendants": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:800]
    assert "将推送到2个账号：微信公众号 1、微博 1" in page
    assert 'name="orgs" value="c1-k1"' in page and _dispatches(newsroom) == 0
    newsroom.push(item, "c1-k1")
    page = editor.post(f"/admin/items/{item}/push/preview", {
        "targets_form": "1", "descendants": "1"}).get_data(as_text=True)
    assert "将推送到2个账号" in page and "2个账号已有本稿" in page  # c1's two; k1 has it
    refused = editor.post(f"/admin/items/{item}/push/preview", {
        "targets_form": "1", "orgs": "atlantis"})
    assert refused.status_code == 422 and "找不到机构" in refused.get_data(as_text=True)



def test_the_preview_names_the_accounts_it_skips_and_why(newsroom):
    _accounts(newsroom)
    r = newsroom.hub.post("/api/v1/accounts", {
        "org": "c1-k1", "platform": "douyin", "name": "县级抖音",
        "credentials": {"client_key": "awk1", "client_secret": "dys1", "open_id": "dy-k1",
                        "access_token": "act.k1", "refresh_token": "rft.k1"}})
    assert r.status_code == 201, r.json
    item = newsroom.item("c1", "approved")
    page = newsroom.browser("editor").post(f"/admin/items/{item}/push/preview", {
        "targets_form": "1", "orgs": "c1-k1", "descendants": "1"}).get_data(as_text=True)
    assert "将推送到2个账号：微信公众号 1、微博 1" in page and "1个账号将跳过" in page
    assert "抖音只接受视频稿件" in page
