from __future__ import annotations

from .helpers import error_of, make_tree

ARTICLE = {"org": "c1", "kind": "article", "title": "全省防汛工作会议召开",
           "body": '<p>会议要求<script>alert(1)</script><a href="javascript:x()">点</a></p>',
           "summary": "部署防汛", "author": "记者 王敏", "source": "云省日报", "tags": ["防汛"]}


def test_create_sanitises_and_reads_back(hub):
    make_tree(hub)
    r = hub.post("/api/v1/items", ARTICLE)
    assert r.status_code == 201, r.json
    item = r.json
    assert item["version"] == 1 and item["status"] == "draft" and item["org"] == "c1"
    assert "<script" not in item["body"] and "javascript:" not in item["body"]
    assert "会议要求" in item["body"]
    got = hub.get(f"/api/v1/items/{item['id']}").json
    assert got["title"] == ARTICLE["title"] and got["tags"] == ["防汛"]
    assert got["url"].endswith(f"/p/{item['id']}")


def test_edit_creates_a_new_version_and_keeps_the_old(hub):
    make_tree(hub)
    item = hub.post("/api/v1/items", ARTICLE).json
    r = hub.patch(f"/api/v1/items/{item['id']}", {"title": "新标题"})
    assert r.status_code == 200 and r.json["version"] == 2 and r.json["title"] == "新标题"
    same = hub.patch(f"/api/v1/items/{item['id']}", {"title": "新标题"})
    assert same.json["version"] == 2  # no change, no new version
    from sqlalchemy import select

    from hub.models import ItemVersion

    with hub.runtime.db.session() as session:
        titles = session.execute(select(ItemVersion.version, ItemVersion.title).where(
            ItemVersion.item_id == item["id"]).order_by(ItemVersion.version)).all()
    assert [tuple(t) for t in titles] == [(1, ARTICLE["title"]), (2, "新标题")]


def test_item_bad_input(hub):
    make_tree(hub)
    for body, status, field in [
        ({**ARTICLE, "title": "长" * 101}, 422, "title"),
        ({**ARTICLE, "title": ""}, 422, "title"),
        ({**ARTICLE, "summary": "x" * 501}, 422, "summary"),
        ({**ARTICLE, "kind": "podcast"}, 422, "kind"),
        ({**ARTICLE, "tags": "防汛"}, 422, "tags"),
        ({**ARTICLE, "cover": "ast_missing"}, 422, "cover"),
        ({**ARTICLE, "assets": ["ast_a", "ast_b"]}, 422, "assets"),
        ({**ARTICLE, "kind": "video"}, 422, "assets"),
        ({**ARTICLE, "org": "ghost"}, 404, None),
    ]:
        r = hub.post("/api/v1/items", body)
        assert r.status_code == status, (body, r.json)
        if field:
            assert error_of(r)["details"]["field"] == field
    r = hub.post("/api/v1/items", data=b'{"title": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert hub.get("/api/v1/items/itm_nope").status_code == 404
    assert hub.patch("/api/v1/items/itm_nope", {"title": "x"}).status_code == 404


def test_patch_bad_input_writes_nothing(hub):
    make_tree(hub)
    item = hub.post("/api/v1/items", ARTICLE).json
    r = hub.patch(f"/api/v1/items/{item['id']}", {"title": "长" * 101})
    assert r.status_code == 422 and error_of(r)["details"]["field"] == "title"
    assert hub.get(f"/api/v1/items/{item['id']}").json["version"] == 1


def test_public_page_of_draft_is_404(hub):
    make_tree(hub)
    item = hub.post("/api/v1/items", ARTICLE).json
    assert hub.client.get(f"/p/{item['id']}").status_code == 404
    assert hub.client.get("/p/itm_nope").status_code == 404


def test_health_and_openapi(hub):
    assert hub.client.get("/healthz").status_code == 200
    ready = hub.client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {
        "database": "ok", "redis": "ok", "object_store": "ok"}
    spec = hub.client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/orgs", "/api/v1/accounts/import", "/api/v1/items/{item_id}",
                 "/api/v1/assets"):
        assert path in spec["paths"], path
