"""用户管理 in the browser: an admin creates a reviewer with a password (who can then sign in),
sees the API token once, switches a user off and on; refusals keep what was typed; only user
managers see the form, and only for their own subtree."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from hub.models import User

NEW = {"name": "新审核员", "org": "c1-k1", "roles": ["reviewer"], "review_stage": "2",
       "password": "一二三四五六七八九十abc"}


def _users(newsroom) -> int:
    with newsroom.hub.runtime.db.session() as session:
        return session.execute(select(func.count()).select_from(User)).scalar_one()


def test_an_admin_creates_a_reviewer_who_can_sign_in_then_disables_them(newsroom):
    admin = newsroom.browser("admin")
    page = admin.text("/admin/users")
    assert 'href="/admin/users"' in page and "新建用户" in page
    response = admin.post("/admin/users", NEW)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:800]
    token = re.search(r'<code data-field="token">([^<]+)</code>', page)
    assert token and "仅显示这一次" in page and "新审核员" in page
    created = newsroom.hub.client.get(
        "/api/v1/users", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert created.status_code == 403  # a reviewer's token works, and may not list users
    listed = {u["name"]: u for u in newsroom.hub.get("/api/v1/users").json["items"]}
    user = listed["新审核员"]
    assert (user["org"], user["roles"], user["review_stage"], user["has_password"]) == (
        "c1-k1", ["reviewer"], 2, True)
    assert admin.text("/admin/users").count(token.group(1)) == 0  # shown once only

    newcomer = newsroom.browser()
    assert newcomer.login("新审核员", NEW["password"]).status_code == 303
    response = admin.post(f"/admin/users/{user['id']}/disabled", {"disabled": "1"})
    assert response.status_code == 303 and "已停用 新审核员" in admin.follow(response)
    assert newsroom.hub.get(f"/api/v1/users/{user['id']}").json["disabled"] is True
    signed_out = newcomer.get("/admin/")  # the switch ended their session
    assert signed_out.status_code == 303 and "/admin/login" in signed_out.location
    response = admin.post(f"/admin/users/{user['id']}/disabled", {"disabled": "0"})
    assert response.status_code == 303
    assert newsroom.hub.get(f"/api/v1/users/{user['id']}").json["disabled"] is False


def test_a_refused_user_keeps_what_was_typed_but_not_the_password(newsroom):
    admin = newsroom.browser("admin")
    before = _users(newsroom)
    for bad, status, message in (({"review_stage": ""}, 422, "审级"),
                                 ({"roles": []}, 422, "roles"),
                                 ({"password": "short"}, 422, "密码须为"),
                                 ({"org": "atlantis"}, 404, "atlantis"),
                                 # c1's own reviewers are appointed by the province
                                 ({"org": "c1"}, 403, "上级机构")):
        response = admin.post("/admin/users", {**NEW, **bad})
        page = response.get_data(as_text=True)
        assert response.status_code == status, (bad, response.status_code)
        assert message in page, (bad, page[:800])
        assert 'value="新审核员"' in page and NEW["password"] not in page, bad
    assert _users(newsroom) == before


def test_only_user_managers_of_the_subtree(newsroom):
    editor = newsroom.browser("editor")
    assert 'href="/admin/users"' not in editor.text("/admin/")
    assert editor.get("/admin/users").status_code == 403
    assert editor.post("/admin/users", NEW).status_code == 403
    auditor = newsroom.browser("auditor")
    page = auditor.text("/admin/users")
    assert "新建用户" not in page and "停用" not in page  # reads, never manages
    admin = newsroom.browser("admin")  # of c1
    before = _users(newsroom)
    assert admin.post("/admin/users", {**NEW, "org": "c2"}).status_code == 403
    assert admin.post("/admin/users", NEW, csrf="forged").status_code == 403
    assert _users(newsroom) == before
    other = newsroom.user("other_operator")
    assert admin.post(f"/admin/users/{other['id']}/disabled",
                      {"disabled": "1"}).status_code == 403


def test_a_page_refused_by_a_rule_is_audited_once_with_the_rule(newsroom):
    """A refusal of the rules the pages share with the API leaves one access.denied entry,
    naming the refused action and code, whether shown on the form or as an error page."""
    from hub.models import AuditEntry

    admin = newsroom.browser("admin")  # of c1
    other = newsroom.user("other_operator")

    def denials() -> list[AuditEntry]:
        with newsroom.hub.runtime.db.session() as session:
            return list(session.execute(select(AuditEntry).where(
                AuditEntry.action == "access.denied").order_by(AuditEntry.id)).scalars())

    before = len(denials())
    # On the form: c1's own reviewers are appointed from above.
    assert admin.post("/admin/users", {**NEW, "org": "c1"}).status_code == 403
    # As an error page: a user outside the admin's subtree.
    assert admin.post(f"/admin/users/{other['id']}/disabled",
                      {"disabled": "1"}).status_code == 403
    added = denials()[before:]
    assert [(e.details["path"], e.details["code"], e.details["action"], e.details["via"])
            for e in added] == [
        ("/admin/users", "review_grant_forbidden", "user.grant_review", "admin"),
        (f"/admin/users/{other['id']}/disabled", "forbidden", "user.manage", "admin")]
    assert all(e.actor_id == newsroom.user("admin")["id"] for e in added)
