"""账号矩阵 in the browser: an administrator creates a matrix from orgs, platforms and single
accounts, sees its resolved account count, edits and deletes it; refusals keep what was typed
and write nothing; only matrix managers of the subtree change matrices."""

from __future__ import annotations

from sqlalchemy import func, select

from admin.views import matrices as matrix_views
from hub.models import Matrix

NEW = {"slug": "flood", "name": "防汛矩阵", "orgs": "c1-k1", "platforms": ["wechat"]}


def _matrices(newsroom) -> int:
    with newsroom.hub.runtime.db.session() as db:
        return db.execute(select(func.count()).select_from(Matrix)).scalar_one()


def _made(newsroom) -> dict[str, str]:
    return {"k1": newsroom.account("c1-k1", "县级微信")["id"],
            "c1": newsroom.account("c1", "市级微信")["id"],
            "c2": newsroom.account("c2", "邻市微信")["id"]}


def test_an_admin_creates_edits_and_deletes_a_matrix(newsroom):
    ids = _made(newsroom)
    admin = newsroom.browser("province_admin")
    page = admin.text("/admin/matrices")
    assert 'href="/admin/matrices"' in page and "新建矩阵" in page and "还没有矩阵" in page
    response = admin.post("/admin/matrices", {**NEW, "accounts": f"{ids['c2']}\n"})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    page = admin.follow(response)
    assert "矩阵“防汛矩阵”已创建，共2个账号" in page and 'data-matrix="flood"' in page
    matrix = newsroom.hub.get("/api/v1/matrices/flood").json
    assert (matrix["orgs"], matrix["platforms"], matrix["explicit_accounts"],
            matrix["account_count"]) == (["c1-k1"], ["wechat"], 1, 2)

    page = admin.text("/admin/matrices/flood")
    assert 'value="防汛矩阵"' in page and ids["c2"] in page and 'value="c1-k1"' in page
    response = admin.post("/admin/matrices/flood", {"name": "防汛应急矩阵", "orgs": "c1",
                                                    "accounts": ""})
    assert response.status_code == 303
    assert "共2个账号" in admin.follow(response)  # c1 and c1-k1, c2 no longer named
    matrix = newsroom.hub.get("/api/v1/matrices/flood").json
    assert (matrix["name"], matrix["orgs"], matrix["platforms"], matrix["explicit_accounts"]) \
        == ("防汛应急矩阵", ["c1"], [], 0)

    response = admin.post("/admin/matrices/flood/delete")
    assert response.status_code == 303 and "矩阵 flood 已删除" in admin.follow(response)
    assert newsroom.hub.get("/api/v1/matrices/flood").status_code == 404


def test_refusals_keep_what_was_typed_and_write_nothing(newsroom):
    ids = _made(newsroom)
    admin = newsroom.browser("province_admin")
    assert admin.post("/admin/matrices", NEW).status_code == 303
    before = _matrices(newsroom)
    for bad, status, message in (({"slug": "Bad Slug!"}, 422, "slug 只能用"),
                                 ({"slug": "flood"}, 409, "矩阵 flood 已存在"),
                                 ({"slug": "f2", "orgs": "atlantis"}, 422, "找不到机构"),
                                 ({"slug": "f3", "accounts": "acc-nope"}, 422, "acc-nope")):
        response = admin.post("/admin/matrices", {**NEW, **bad})
        page = response.get_data(as_text=True)
        assert response.status_code == status, (bad, page[:600])
        assert message in page and 'value="防汛矩阵"' in page, (bad, page[:1500])
        assert "Traceback" not in page
    assert _matrices(newsroom) == before
    response = admin.post("/admin/matrices/flood", {"name": "", "orgs": "c1",
                                                    "accounts": ids["k1"]})
    assert response.status_code == 422 and ids["k1"] in response.get_data(as_text=True)
    assert newsroom.hub.get("/api/v1/matrices/flood").json["name"] == "防汛矩阵"


def test_only_matrix_managers_of_the_subtree(newsroom):
    ids = _made(newsroom)
    editor = newsroom.browser("editor")
    page = editor.text("/admin/matrices")  # editors read matrices: a push names them
    assert "新建矩阵" not in page
    assert editor.post("/admin/matrices", NEW).status_code == 403
    assert editor.get("/admin/matrices/flood").status_code == 403
    city_admin = newsroom.browser("admin")  # of c1
    response = city_admin.post("/admin/matrices", {**NEW, "orgs": "c2"})
    assert response.status_code == 403 and "超出本机构管辖范围" in response.get_data(as_text=True)
    response = city_admin.post("/admin/matrices", {**NEW, "accounts": ids["c2"]})
    assert response.status_code == 403
    assert _matrices(newsroom) == 0
    assert city_admin.post("/admin/matrices", NEW, csrf="forged").status_code == 403
    assert city_admin.post("/admin/matrices", NEW).status_code == 303
    assert _matrices(newsroom) == 1


def test_a_long_list_of_single_accounts_is_left_to_the_api(newsroom, monkeypatch):
    ids = _made(newsroom)
    monkeypatch.setattr(matrix_views, "EDITABLE_ACCOUNTS", 2)
    r = newsroom.hub.post("/api/v1/matrices", {"slug": "many", "name": "大矩阵",
                                               "accounts": list(ids.values())})
    assert r.status_code == 201, r.json
    admin = newsroom.browser("province_admin")
    page = admin.text("/admin/matrices/many")
    assert 'data-field="accounts-locked"' in page and 'name="accounts"' not in page
    response = admin.post("/admin/matrices/many", {"name": "大矩阵（改名）", "orgs": ""})
    assert response.status_code == 303
    matrix = newsroom.hub.get("/api/v1/matrices/many").json
    assert (matrix["name"], matrix["explicit_accounts"]) == ("大矩阵（改名）", 3)


def test_the_pages_speak_english_on_request(newsroom):
    admin = newsroom.browser("province_admin")
    assert admin.post("/admin/matrices", NEW).status_code == 303
    page = admin.text("/admin/matrices?lang=en")
    assert "Account matrices" in page and "New matrix" in page
    assert "Edit matrix" in admin.text("/admin/matrices/flood?lang=en")
