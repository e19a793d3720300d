"""The item actions through the UI: submit, three reviews, push to the user's scope, withdraw
with a reason. Each is the API's own call: refusals come back as readable messages."""

from __future__ import annotations

from sqlalchemy import select

from hub.models import Delivery, Dispatch, Withdrawal


def _forms(page: str) -> set[str]:
    return {name for name in ("submit", "review", "push", "withdraw")
            if f'data-action="{name}"' in page}


def test_submit_review_push_and_withdraw_through_the_ui(newsroom):
    hub = newsroom.hub
    for org, name in (("c1", "市级微信"), ("c1-k1", "县级微信"), ("c2", "邻市微信")):
        newsroom.account(org, name)
    item = newsroom.item("c1", "draft", title="防汛预警发布")
    editor = newsroom.browser("editor")
    assert _forms(editor.text(f"/admin/items/{item}")) == {"submit"}
    response = editor.post(f"/admin/items/{item}/submit")
    assert response.status_code == 303 and response.location == f"/admin/items/{item}"
    assert "已送审" in editor.follow(response)
    assert newsroom.status(item) == "in_review"

    for stage in (1, 2, 3):
        reviewer = newsroom.browser(f"reviewer{stage}")
        assert _forms(reviewer.text(f"/admin/items/{item}")) == {"review"}
        response = reviewer.post(f"/admin/items/{item}/review",
                                 {"decision": "approve", "comment": "同意", "version": "1"})
        assert response.status_code == 303
        assert "审核意见已提交" in reviewer.follow(response)
    assert newsroom.status(item) == "approved"

    page = editor.text(f"/admin/items/{item}")
    assert _forms(page) == {"push"} and "c1" in page
    response = editor.post(f"/admin/items/{item}/push")
    assert response.status_code == 303 and response.location.startswith("/admin/dispatches/")
    progress = editor.follow(response)
    assert "已开始推送，共2个账号" in progress and "防汛预警发布" in progress
    with hub.runtime.db.session() as db:
        dispatch = db.execute(select(Dispatch).where(Dispatch.item_id == item)).scalar_one()
        assert dispatch.total == 2  # c1 and c1-k1, not the neighbouring city
        assert response.location == f"/admin/dispatches/{dispatch.id}"

    admin = newsroom.browser("province_admin")
    page = admin.text(f"/admin/items/{item}")
    assert "withdraw" in _forms(page) and "一键撤稿" in page
    response = admin.post(f"/admin/items/{item}/withdraw", {"reason": "预警级别有误"})
    assert response.status_code == 303 and response.location.startswith("/admin/withdrawals/")
    assert "已开始撤稿" in admin.follow(response)
    with hub.runtime.db.session() as db:
        withdrawal = db.execute(select(Withdrawal).where(Withdrawal.item_id == item)
                                ).scalar_one()
        assert withdrawal.reason == "预警级别有误" and withdrawal.total == 2
        states = set(db.execute(select(Delivery.state).where(Delivery.item_id == item)).scalars())
        assert states <= {"cancelled", "withdraw_queued"}
        assert response.location == f"/admin/withdrawals/{withdrawal.id}"
    assert newsroom.status(item) == "withdrawn"
    assert "预警级别有误" in admin.text(f"/admin/items/{item}")
    audit = hub.get(f"/api/v1/audit?item={item}&action=item.withdraw").json["items"]
    assert [e["actor"]["name"] for e in audit] == ["province_admin"]


def test_refusals_are_shown_as_messages_and_change_nothing(newsroom):
    hub = newsroom.hub
    item = newsroom.item("c1", "in_review")
    second = newsroom.browser("reviewer2")
    assert _forms(second.text(f"/admin/items/{item}")) == set()  # stage 1 comes first
    response = second.post(f"/admin/items/{item}/review", {"decision": "approve"})
    assert "当前需要初审" in second.follow(response)
    first = newsroom.browser("reviewer1")
    response = first.post(f"/admin/items/{item}/review", {"decision": "reject", "comment": ""})
    assert "退回必须写明理由" in first.follow(response)
    assert newsroom.status(item) == "in_review"
    response = first.post(f"/admin/items/{item}/review", {"decision": "reject",
                                                          "comment": "标题不准确"})
    assert response.status_code == 303
    assert newsroom.status(item) == "draft"

    editor = newsroom.browser("editor")
    response = editor.post(f"/admin/items/{item}/push")
    assert response.status_code == 303
    assert "稿件未通过三审，不能推送" in editor.follow(response)
    admin = newsroom.browser("province_admin")
    response = admin.post(f"/admin/items/{item}/withdraw", {"reason": "测试"})
    assert "稿件尚未发布，无需撤回" in admin.follow(response)
    with hub.runtime.db.session() as db:
        assert db.execute(select(Dispatch)).first() is None
        assert db.execute(select(Withdrawal)).first() is None


def test_county_operator_withdraws_from_its_own_accounts_only(newsroom):
    own = newsroom.account("c1-k1", "县级微信")
    newsroom.account("c1", "市级微信")
    item = newsroom.item("c1", "approved", title="市里的稿件")
    newsroom.push(item, "c1")
    operator = newsroom.browser("operator")
    assert operator.get(f"/admin/items/{item}").status_code == 403  # a c1 item: not its scope
    county_item = newsroom.item("c1-k1", "approved", title="县里的稿件")
    newsroom.push(county_item, "c1-k1")
    page = operator.text(f"/admin/items/{county_item}")
    assert "撤回本机构账号上的发布" in page
    response = operator.post(f"/admin/items/{county_item}/withdraw", {"reason": "县里要求"})
    assert response.status_code == 303 and "/admin/withdrawals/" in response.location
    with newsroom.hub.runtime.db.session() as db:
        rows = db.execute(select(Delivery.account_id, Delivery.state)
                          .where(Delivery.item_id == county_item)).all()
    assert rows == [(own["id"], "withdraw_queued")] or rows == [(own["id"], "cancelled")]
