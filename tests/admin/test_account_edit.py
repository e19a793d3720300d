"""Editing the account ledger (统一台账) in the browser: an admin changes an account's name,
status and responsibility fields through the API; a bad value is shown with its reason and
changes nothing; people who may not manage accounts, or not that org's, are refused."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.models import AuditEntry

FORM = {"name": "云省交通厅微信", "status": "suspended", "status_reason": "更换运营单位",
        "responsible_person": "王敏", "chief_editor": "赵刚", "managing_department": "宣传处",
        "filing_number": "云网备2026000001", "filing_date": "2026-03-01"}


def _audited(newsroom, action: str) -> int:
    with newsroom.hub.runtime.db.session() as session:
        return session.execute(select(func.count()).where(AuditEntry.action == action)
                               ).scalar_one()


def test_an_admin_edits_an_account_of_the_ledger(newsroom):
    account = newsroom.account("c1-k1", "交通微信")
    admin = newsroom.browser("admin")
    listing = admin.text("/admin/accounts")
    assert f'href="/admin/accounts/{account["id"]}/edit"' in listing
    page = admin.text(f"/admin/accounts/{account['id']}/edit")
    assert "编辑账号台账" in page and 'value="交通微信"' in page
    response = admin.post(f"/admin/accounts/{account['id']}/edit", FORM)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert "账号台账已更新" in admin.follow(response)
    saved = newsroom.hub.get(f"/api/v1/accounts/{account['id']}").json
    assert {name: saved[name] for name in FORM} == FORM
    assert _audited(newsroom, "account.update") == 1
    response = admin.post(f"/admin/accounts/{account['id']}/edit",
                          {**FORM, "status": "active", "status_reason": ""})
    assert response.status_code == 303
    again = newsroom.hub.get(f"/api/v1/accounts/{account['id']}").json
    assert (again["status"], again["status_reason"]) == ("active", None)


def test_a_bad_value_is_shown_with_its_reason_and_changes_nothing(newsroom):
    account = newsroom.account("c1-k1", "交通微信")
    admin = newsroom.browser("admin")
    for bad, message in (({"filing_date": "2026年3月1日"}, "备案日期格式应为 YYYY-MM-DD"),
                         ({"name": ""}, "账号名称不能为空"),
                         ({"status": "deleted"}, "status")):
        response = admin.post(f"/admin/accounts/{account['id']}/edit", {**FORM, **bad})
        page = response.get_data(as_text=True)
        assert response.status_code == 422, (bad, page[:800])
        assert message in page and "宣传处" in page, (bad, page[:800])
    saved = newsroom.hub.get(f"/api/v1/accounts/{account['id']}").json
    assert (saved["name"], saved["status"], saved["responsible_person"]) == (
        "交通微信", "active", account["responsible_person"])
    assert _audited(newsroom, "account.update") == 0


def test_only_admins_of_the_accounts_org_may_edit(newsroom):
    own = newsroom.account("c1-k1", "交通微信")
    foreign = newsroom.account("c2-k1", "文旅微信")
    editor = newsroom.browser("editor")
    assert "/edit" not in editor.text("/admin/accounts")
    assert editor.get(f"/admin/accounts/{own['id']}/edit").status_code == 403
    assert editor.post(f"/admin/accounts/{own['id']}/edit", FORM).status_code == 403
    admin = newsroom.browser("admin")  # of c1: c2's accounts are outside
    assert admin.get(f"/admin/accounts/{foreign['id']}/edit").status_code == 403
    assert admin.post(f"/admin/accounts/{foreign['id']}/edit", FORM).status_code == 403
    assert admin.get("/admin/accounts/acc_nope/edit").status_code == 404
    assert admin.post(f"/admin/accounts/{own['id']}/edit", FORM, csrf="forged").status_code == 403
    assert newsroom.hub.get(f"/api/v1/accounts/{own['id']}").json["name"] == "交通微信"
    assert _audited(newsroom, "account.update") == 0
