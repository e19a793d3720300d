"""批量导入 in the browser: an administrator uploads the accounts sheet ``yunchu import`` reads;
the accounts land in the ledger with sealed credentials that the page never shows; a second
upload updates them; a wrong row is named by its line and nothing is imported."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from hub.models import Account
from hub.services.import_sheets import UnreadableFile, read_rows

SHEET = ("\ufefforg,platform,name,credentials.appid,credentials.secret,responsible_person,"
         "chief_editor,managing_department,filing_number,filing_date\n"
         "c1-k1,wechat,安宁发布,wx0123456789abcdef,S3cret-Anning-0001,李明,王芳,县委宣传部,"
         "滇网备-2024-0012,2024-03-01\n"
         "c1,wechat,云州发布,wxfedcba9876543210,S3cret-Yunzhou-0002,张华,,,,\n")


def _accounts(newsroom) -> int:
    with newsroom.hub.runtime.db.session() as db:
        return db.execute(select(func.count()).select_from(Account)).scalar_one()


def _upload(browser, kind: str, text: str, name: str = "sheet.csv"):
    return browser.post(f"/admin/import/{kind}",
                        {"file": (io.BytesIO(text.encode("utf-8")), name)},
                        content_type="multipart/form-data")


def test_an_admin_imports_the_ledger_sheet_and_updates_it_again(newsroom):
    admin = newsroom.browser("admin")  # of c1
    page = admin.text("/admin/import")
    assert 'href="/admin/import"' in page and "导入账号" in page and "导入机构" in page
    response = _upload(admin, "accounts", SHEET)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:800]
    assert "导入完成：新建2个，更新0个" in page
    assert "S3cret" not in page
    listed = {a["name"]: a for a in newsroom.hub.get(
        "/api/v1/accounts?org=c1&descendants=1").json["items"]}
    assert listed["安宁发布"]["org"] == "c1-k1" and listed["安宁发布"]["chief_editor"] == "王芳"
    assert listed["安宁发布"]["filing_date"] == "2024-03-01" and listed["安宁发布"]["has_credentials"]
    assert listed["云州发布"]["inspection"]["problems"] == ["ledger_incomplete"]
    again = _upload(admin, "accounts", SHEET.replace("张华,,,,", "张华,赵敏,市委网信办,滇网备-1,"))
    assert "导入完成：新建0个，更新2个" in again.get_data(as_text=True)
    assert _accounts(newsroom) == 2


def test_a_wrong_row_is_named_and_nothing_is_imported(newsroom):
    admin = newsroom.browser("admin")
    for text, status, message in (
            (SHEET.replace("c1,wechat,云州发布", "c1,myspace,云州发布"), 422, "第3行："),
            (SHEET.replace("c1,wechat,云州发布", "c2,wechat,云州发布"), 403, "管辖范围外"),
            ("org,platform,name\n", 422, "没有数据行"),
            (SHEET.replace("wx0123456789abcdef,S3cret-Anning-0001", ","), 422, "第2行：")):
        response = _upload(admin, "accounts", text)
        page = response.get_data(as_text=True)
        assert response.status_code == status, (text[:80], page[:600])
        assert message in page, (message, page[:2000])
        assert "Traceback" not in page and "S3cret" not in page
    latin = admin.post("/admin/import/accounts",
                       {"file": (io.BytesIO("org,name\nc1,é\n".encode("gbk", "replace")
                                            + b"\xff\xfe"), "x.csv")},
                       content_type="multipart/form-data")
    assert latin.status_code == 422 and "UTF-8" in latin.get_data(as_text=True)
    bad_json = _upload(admin, "accounts", "{not json", "x.json")
    assert bad_json.status_code == 422 and "JSON" in bad_json.get_data(as_text=True)
    assert _accounts(newsroom) == 0


def test_only_account_managers_import(newsroom):
    editor = newsroom.browser("editor")
    assert 'href="/admin/import"' not in editor.text("/admin/")
    assert editor.get("/admin/import").status_code == 403
    assert _upload(editor, "accounts", SHEET).status_code == 403
    admin = newsroom.browser("admin")  # of c1: orgs below c1 only
    outside = _upload(admin, "orgs", "slug,name,kind,parent\nc1-k5,新县,county,c1\n"
                                     "c2-k5,邻县,county,c2\n")
    assert outside.status_code == 403 and "管辖范围外" in outside.get_data(as_text=True)
    inside = _upload(admin, "orgs", "slug,name,kind,parent\nc1-k5,新县,county,c1\n")
    assert "导入完成：新建1个，更新0个" in inside.get_data(as_text=True)
    assert admin.post("/admin/import/users").status_code == 404
    assert "Import accounts" in admin.text("/admin/import?lang=en")
    assert _accounts(newsroom) == 0


def test_the_sheet_reader_shared_with_the_cli():
    rows = read_rows(SHEET, "accounts", as_json=False)
    assert rows[0]["credentials"] == {"appid": "wx0123456789abcdef",
                                      "secret": "S3cret-Anning-0001"}
    assert "chief_editor" not in rows[1]  # empty cells are left out
    assert read_rows("slug,name,kind,parent\nyun,云省,province,\n", "orgs", as_json=False) == [
        {"slug": "yun", "name": "云省", "kind": "province", "parent": None}]
    assert read_rows('{"accounts": [{"org": "c1"}]}', "accounts", as_json=True) == [
        {"org": "c1"}]
    for text in ("[", '{"accounts": 3}'):
        try:
            read_rows(text, "accounts", as_json=True)
        except UnreadableFile:
            continue
        raise AssertionError(text)
