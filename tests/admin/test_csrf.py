"""Every state-changing form needs the session's CSRF token: without it, or with a wrong one,
the answer is 403 and nothing changes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.models import AuditEntry, Dispatch, Task, Withdrawal


def _count(hub, model) -> int:
    with hub.runtime.db.session() as db:
        return db.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize("token", [False, "", "forged-token"])
def test_actions_without_the_right_token_change_nothing(newsroom, token):
    hub = newsroom.hub
    newsroom.account("c1", "c1-weixin")
    draft = newsroom.item("c1", "draft", title="草稿一篇")
    approved = newsroom.item("c1", "approved", title="已通过一篇")
    live = newsroom.item("c1", "approved", title="已发布一篇")
    newsroom.push(live, "c1")
    editor = newsroom.browser("editor")
    admin = newsroom.browser("province_admin")

    posts = [
        (editor, f"/admin/items/{draft}/submit", {}),
        (editor, f"/admin/items/{approved}/push", {}),
        (admin, f"/admin/items/{live}/withdraw", {"reason": "内容有误"}),
        (editor, "/admin/logout", {}),
    ]
    for browser, path, data in posts:
        response = browser.post(path, data, csrf=token)
        assert response.status_code == 403, path
        page = response.get_data(as_text=True)
        assert "请刷新页面后重试" in page and "Traceback" not in page

    assert newsroom.status(draft) == "draft"
    assert newsroom.status(approved) == "approved"
    assert newsroom.status(live) == "approved"
    assert _count(hub, Dispatch) == 1  # only the API push above
    assert _count(hub, Withdrawal) == 0
    assert editor.get("/admin/").status_code == 200  # logout did not happen either
    with hub.runtime.db.session() as db:
        denied = db.execute(select(AuditEntry).where(AuditEntry.action == "access.denied")
                            ).scalars().all()
    assert len(denied) == len(posts)
    assert all(e.details.get("code") == "csrf_failed" for e in denied)


def test_a_token_from_another_session_is_refused(newsroom):
    task_org = "c1-k1"
    from hub.infra.ids import new_id
    from hub.models import Org

    with newsroom.hub.runtime.db.session() as db:
        org_id = db.execute(select(Org.id).where(Org.slug == task_org)).scalar_one()
        task = Task(id=new_id("tsk"), kind="manual_check", org_id=org_id, title="人工核查")
        db.add(task)
    operator = newsroom.browser("operator")
    admin = newsroom.browser("admin")
    admin.get("/admin/")
    response = operator.post(f"/admin/tasks/{task.id}/done", {"note": "已处理"},
                             csrf=admin.csrf)
    assert response.status_code == 403
    with newsroom.hub.runtime.db.session() as db:
        assert db.get(Task, task.id).state == "open"
    done = operator.post(f"/admin/tasks/{task.id}/done", {"note": "已处理"})
    assert done.status_code == 303
    with newsroom.hub.runtime.db.session() as db:
        assert db.get(Task, task.id).state == "done"
