"""Push and withdrawal in the admin confirm with the numbers; from the threshold on, the number
is typed and checked on the server. The failure list of a push: filtered, paged, exported,
retried, and counted on the dashboard."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import func, select, update

from hub.models import Delivery, Dispatch, Withdrawal


def _count(newsroom, model) -> int:
    with newsroom.hub.runtime.db.session() as db:
        return db.execute(select(func.count()).select_from(model)).scalar_one()


def _threshold(newsroom, n: int) -> None:
    runtime = newsroom.hub.runtime
    runtime.settings = runtime.settings.with_overrides(confirm_threshold=n)


def test_push_confirms_with_the_numbers_and_the_typed_count(newsroom):
    for name in ("市级微信", "县级微信", "县级微信二"):
        newsroom.account("c1-k1" if "县" in name else "c1", name)
    item = newsroom.item("c1", "approved")
    editor = newsroom.browser("editor")
    page = editor.text(f"/admin/items/{item}")
    assert 'data-action="push-start"' in page and 'data-action="confirm-push"' not in page
    response = editor.post(f"/admin/items/{item}/push/preview", {"targets_form": "1",
                                                                  "descendants": "1"})
    page = response.get_data(as_text=True)
    assert "本次推送共涉及3个账号：推送3个，跳过0个" in page and "确认推送（3个账号）" in page
    assert 'name="typed_total"' not in page  # below the threshold: one click confirms

    _threshold(newsroom, 3)
    page = editor.post(f"/admin/items/{item}/push/preview", {
        "targets_form": "1", "descendants": "1"}).get_data(as_text=True)
    assert "请输入账号数 3 以确认" in page and 'name="typed_total"' in page
    for typed in ({}, {"typed_total": "2"}, {"typed_total": "三"}):
        response = editor.post(f"/admin/items/{item}/push", {"targets_form": "1",
                                                              "descendants": "1", **typed})
        assert response.status_code == 409, typed
        assert "请核对最新数字后重新确认（当前共3个）" in response.get_data(as_text=True)
    assert _count(newsroom, Dispatch) == 0
    # The count grows between the confirmation and the click: the old number no longer holds.
    newsroom.account("c1-k1", "新开的县级微信")
    response = editor.post(f"/admin/items/{item}/push", {"targets_form": "1", "descendants": "1",
                                                          "typed_total": "3"})
    assert response.status_code == 409 and "当前共4个" in response.get_data(as_text=True)
    assert _count(newsroom, Dispatch) == 0
    response = editor.post(f"/admin/items/{item}/push", {"targets_form": "1", "descendants": "1",
                                                          "typed_total": "4"})
    assert response.status_code == 303 and "/admin/dispatches/" in response.location
    assert "共4个账号" in editor.follow(response)


def test_withdrawal_confirms_with_the_copies_to_remove(newsroom):
    newsroom.account("c1", "市级微信")
    newsroom.account("c1-k1", "县级微信")
    item = newsroom.item("c1", "approved")
    newsroom.push(item, "c1")
    admin = newsroom.browser("province_admin")
    page = admin.text(f"/admin/items/{item}")
    assert 'data-action="withdraw-start"' in page
    page = admin.post(f"/admin/items/{item}/withdraw/preview",
                      {"reason": "数据有误"}).get_data(as_text=True)
    assert "本次撤稿共涉及2条投递" in page and "取消未发出的2条" in page
    assert "数据有误</textarea>" in page and "确认撤稿（2条）" in page
    _threshold(newsroom, 2)
    response = admin.post(f"/admin/items/{item}/withdraw", {"reason": "数据有误",
                                                            "typed_total": "20"})
    assert response.status_code == 409 and _count(newsroom, Withdrawal) == 0
    assert newsroom.status(item) == "approved"
    response = admin.post(f"/admin/items/{item}/withdraw", {"reason": "数据有误",
                                                            "typed_total": "2"})
    assert response.status_code == 303 and newsroom.status(item) == "withdrawn"


def test_the_failure_list_filters_pages_exports_and_retries(newsroom):
    accounts = [newsroom.account("c1", f"市级微信{n}")["id"] for n in range(55)]
    item = newsroom.item("c1", "approved")
    dispatch = newsroom.push(item, "c1")
    with newsroom.hub.runtime.db.session() as db:
        db.execute(update(Delivery).where(Delivery.dispatch_id == dispatch).values(
            state="failed", error_kind="retryable", error="平台无响应 (platform unreachable)"))
        db.execute(update(Delivery).where(Delivery.account_id == accounts[0]).values(
            error_kind="content_rejected", error="内容被平台拒绝 (content rejected)"))
    board = newsroom.browser("province_admin").text("/admin/")
    assert f'data-stat="failed-{dispatch}">失败55<' in board and 'data-stat="failed">55<' in board

    editor = newsroom.browser("editor")
    page = editor.text(f"/admin/dispatches/{dispatch}")
    assert "需要关注的投递（<span data-field=\"problems-total\">55</span>）" in page

    def listed(html: str) -> int:
        return html.count("平台无响应") + html.count("内容被平台拒绝")

    assert listed(page) == 50 and 'data-action="failures-next"' in page
    following = re.search(r'href="([^"]+)" data-action="failures-next"', page).group(1)
    second = editor.text(following.replace("&amp;", "&"))
    assert listed(second) == 5 and 'data-action="failures-next"' not in second
    assert "重试可重试的失败投递（54条）" in page
    assert "暂无失败的投递" not in page
    page = editor.text(f"/admin/dispatches/{dispatch}?error_kind=content_rejected")
    assert "内容被平台拒绝" in page and "平台无响应" not in page
    fragment = editor.text(f"/admin/dispatches/{dispatch}/failures?error_kind=retryable")
    assert listed(fragment) == 50 and "<html" not in fragment
    exported = editor.get(f"/admin/dispatches/{dispatch}/failures.csv?platform=wechat")
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:5] == ["account", "account_name", "org", "platform", "state"]
    assert len(rows) == 56 and {r[5] for r in rows[1:]} == {"retryable", "content_rejected"}

    response = editor.post(f"/admin/dispatches/{dispatch}/retry")
    assert response.status_code == 303
    assert "已重新排队54条失败的投递" in editor.follow(response)
    with newsroom.hub.runtime.db.session() as db:
        states = dict(db.execute(select(Delivery.state, func.count()).where(
            Delivery.dispatch_id == dispatch).group_by(Delivery.state)).all())
    assert states == {"queued": 54, "failed": 1}
    assert newsroom.browser("reviewer1").post(
        f"/admin/dispatches/{dispatch}/retry").status_code == 403
