"""Every page renders for every role that may see it, and says no (403, in words) to the rest."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.infra.ids import new_id
from hub.models import Org, Task
from hub.security.permissions import ACTIONS

from .support import ALL_ROLES, PEOPLE


@pytest.fixture
def scene(newsroom):
    """An account, a pushed item and a withdrawn one in c1-k1 (inside every test user's
    scope), and an open manual task there."""
    newsroom.account("c1-k1", "县融媒微信", responsible_person="张三")
    pushed = newsroom.item("c1-k1", "approved", title="已推送的稿件")
    dispatch = newsroom.push(pushed, "c1-k1")
    gone = newsroom.item("c1-k1", "approved", title="已撤回的稿件")
    newsroom.push(gone, "c1-k1")
    withdrawal = newsroom.withdraw(gone)
    draft = newsroom.item("c1-k1", "draft", title="<b>草稿</b>")
    with newsroom.hub.runtime.db.session() as db:
        org_id = db.execute(select(Org.id).where(Org.slug == "c1-k1")).scalar_one()
        task = Task(id=new_id("tsk"), kind="manual_withdraw", org_id=org_id,
                    title="请人工删除抖音视频", item_id=gone)
        db.add(task)
    return {"pushed": pushed, "dispatch": dispatch, "gone": gone, "withdrawal": withdrawal,
            "draft": draft, "task": task.id}


def _allowed(who: str, action: str) -> bool:
    roles, _org, _stage = PEOPLE[who]
    return any(role in ACTIONS[action] for role in roles)


@pytest.mark.parametrize("who", ALL_ROLES)
def test_each_page_renders_for_each_role_that_may_see_it(newsroom, scene, who):
    browser = newsroom.browser(who)
    pages = {
        "/admin/": ("item.read", "稿件（按状态）"),
        "/admin/items": ("item.read", "已推送的稿件"),
        "/admin/items?status=withdrawn": ("item.read", "已撤回的稿件"),
        f"/admin/items/{scene['pushed']}": ("item.read", "审核记录"),
        f"/admin/items/{scene['draft']}": ("item.read", "&lt;b&gt;草稿&lt;/b&gt;"),
        f"/admin/dispatches/{scene['dispatch']}": ("item.read", "推送进度"),
        f"/admin/withdrawals/{scene['withdrawal']}": ("item.read", "撤稿进度"),
        "/admin/accounts": ("account.read", "县融媒微信"),
        "/admin/tasks": ("task.read", "请人工删除抖音视频"),
        "/admin/audit": ("audit.read", 'data-action="login" title="login">登录<'),
    }
    for path, (action, marker) in pages.items():
        response = browser.get(path)
        page = response.get_data(as_text=True)
        assert "Traceback" not in page
        if _allowed(who, action):
            assert response.status_code == 200, (who, path, response.status_code)
            assert marker in page, (who, path, marker)
            assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
            assert response.headers["Cache-Control"] == "no-store"
        else:
            assert response.status_code == 403, (who, path, response.status_code)
            assert "当前角色无权执行此操作" in page
    dashboard = browser.text("/admin/")
    assert ('href="/admin/audit"' in dashboard) == _allowed(who, "audit.read")


def test_progress_pages_poll_the_api_with_the_session_cookie(newsroom, scene):
    browser = newsroom.browser("operator")
    for kind, run_id, api in (("dispatches", scene["dispatch"], "dispatches"),
                              ("withdrawals", scene["withdrawal"], "withdrawals")):
        page = browser.text(f"/admin/{kind}/{run_id}")
        assert f'data-source="/api/v1/{api}/{run_id}"' in page
        assert "/admin/static/progress.js" in page
        answer = browser.client.get(f"/api/v1/{api}/{run_id}")
        assert answer.status_code == 200 and answer.json["id"] == run_id
        assert set(answer.json["counts"]) >= {"queued", "published", "withdrawn"}
    assert browser.get("/admin/static/progress.js").status_code == 200


def test_a_dispatch_page_says_how_many_rows_a_later_push_took_over(newsroom, scene):
    from sqlalchemy import update

    from hub.models import Dispatch

    browser = newsroom.browser("operator")
    path = f"/admin/dispatches/{scene['dispatch']}"
    assert "已转入后续推送" not in browser.text(path)
    with newsroom.hub.runtime.db.session() as session:
        session.execute(update(Dispatch).where(Dispatch.id == scene["dispatch"])
                        .values(repushed=3))
    page = browser.text(path)
    assert "已转入后续推送" in page and '<dd data-field="repushed">3</dd>' in page


def test_item_page_shows_versions_reviews_safety_and_deliveries(newsroom, scene):
    hub = newsroom.hub
    r = hub.put("/api/v1/safety/terms", {"version": 1, "terms": [
        {"term": "小道消息", "category": "rumour", "action": "warn"}]})
    assert r.status_code == 200, r.json
    item = newsroom.item("c1", "draft", title="初稿标题")
    r = hub.patch(f"/api/v1/items/{item}", {"title": "二稿标题", "body": "<p>据小道消息称</p>"},
                  token=newsroom.token("editor"))
    assert r.status_code == 200
    page = newsroom.browser("editor").text(f"/admin/items/{item}")
    assert "v2" in page and "初稿标题" in page and "二稿标题" in page
    assert "小道消息" in page and "终审须填写放行理由" in page
    page = newsroom.browser("auditor").text(f"/admin/items/{scene['gone']}")
    assert "已撤回" in page and "内容有误" in page
    assert f'/admin/withdrawals/{scene["withdrawal"]}' in page
    assert "同意" in page and "终审" in page  # the review trail
