from __future__ import annotations

from .helpers import error_of, make_org, make_tree
from .security.support import make_user


def test_create_and_read_org_tree(hub):
    make_tree(hub)
    r = hub.get("/api/v1/orgs/c1")
    assert r.status_code == 200
    assert r.json["parent"] == "yun" and r.json["children_count"] == 1 and r.json["kind"] == "city"
    assert hub.get("/api/v1/orgs/yun").json["children_count"] == 2


def test_duplicate_slug_is_409_and_nothing_written(hub):
    make_org(hub, "yun", "province")
    r = hub.post("/api/v1/orgs", {"slug": "yun", "name": "again", "kind": "province",
                                  "parent": None})
    assert r.status_code == 409
    assert error_of(r)["code"] == "duplicate_slug"
    assert hub.get("/api/v1/orgs/yun").json["name"] == "机构yun"


def test_unknown_org_is_404(hub):
    r = hub.get("/api/v1/orgs/nowhere")
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found"


def test_unknown_parent_is_404(hub):
    r = hub.post("/api/v1/orgs", {"slug": "x", "name": "x", "kind": "city", "parent": "ghost"})
    assert r.status_code == 404
    assert error_of(r)["details"]["field"] == "parent"
    assert hub.get("/api/v1/orgs/x").status_code == 404


def test_malformed_json_is_400(hub):
    r = hub.post("/api/v1/orgs", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert error_of(r)["code"] == "malformed_json"


def test_invalid_fields_are_422_naming_the_field(hub):
    for body, field in [
        ({"slug": "Bad Slug", "name": "n", "kind": "city", "parent": None}, "slug"),
        ({"slug": "ok", "name": "", "kind": "city", "parent": None}, "name"),
        ({"slug": "ok", "name": "n", "kind": "galaxy", "parent": None}, "kind"),
        ({"slug": "ok", "name": "n" * 201, "kind": "city", "parent": None}, "name"),
    ]:
        r = hub.post("/api/v1/orgs", body)
        assert r.status_code == 422, body
        assert error_of(r)["details"]["field"] == field
    r = hub.post("/api/v1/orgs", [1, 2])
    assert r.status_code == 422


def test_no_token_is_401(hub):
    r = hub.client.get("/api/v1/orgs/yun")
    assert r.status_code == 401
    assert error_of(r)["code"] == "unauthorized"
    r = hub.get("/api/v1/orgs/yun", token="yc_wrong")
    assert r.status_code == 401


def test_bulk_import_upserts_and_moves_subtrees(hub):
    orgs = [{"slug": "yun", "name": "云省", "kind": "province", "parent": None},
            {"slug": "c1", "name": "清江市", "kind": "city", "parent": "yun"},
            {"slug": "c2", "name": "云岭市", "kind": "city", "parent": "yun"},
            {"slug": "k1", "name": "长宁县", "kind": "county", "parent": "c1"},
            {"slug": "k1-d", "name": "长宁县公安局", "kind": "department", "parent": "k1"}]
    r = hub.post("/api/v1/orgs/import", {"orgs": orgs})
    assert r.status_code == 200 and r.json == {"created": 5, "updated": 0}
    orgs[3] = {**orgs[3], "parent": "c2", "name": "长宁区"}
    r = hub.post("/api/v1/orgs/import", {"orgs": orgs})
    assert r.json == {"created": 0, "updated": 5}
    assert hub.get("/api/v1/orgs/k1").json["parent"] == "c2"
    assert hub.get("/api/v1/orgs/c2").json["children_count"] == 1
    # the grandchild moved with it: it is now found under c2's subtree
    hub.post("/api/v1/accounts", {"org": "k1-d", "platform": "weibo", "name": "长宁公安",
                                  "credentials": {"access_token": "t"}})
    listed = hub.get("/api/v1/accounts?org=c2&descendants=1").json["items"]
    assert [a["name"] for a in listed] == ["长宁公安"]
    assert hub.get("/api/v1/accounts?org=c1&descendants=1").json["items"] == []


def test_an_admin_imports_orgs_within_their_subtree_only(hub):
    make_tree(hub)  # yun > c1 > c1-k1, yun > c2
    province = make_user(hub, "province-admin", ["admin"], org="yun")["token"]
    city = make_user(hub, "city-admin", ["admin"], org="c1")["token"]
    counties = [{"slug": "c1-k2", "name": "新设县", "kind": "county", "parent": "c1"},
                {"slug": "c1-k2-d", "name": "新设县融媒体中心", "kind": "department",
                 "parent": "c1-k2"},
                {"slug": "c1-k1", "name": "安宁县（更名）", "kind": "county", "parent": "c1"}]
    r = hub.post("/api/v1/orgs/import", {"orgs": counties}, token=city)
    assert r.status_code == 200 and r.json == {"created": 2, "updated": 1}, r.json
    assert hub.get("/api/v1/orgs/c1-k1").json["name"] == "安宁县（更名）"
    for outside in ({"slug": "c2-k9", "name": "邻市县", "kind": "county", "parent": "c2"},
                    {"slug": "c2", "name": "改邻市名", "kind": "city", "parent": "yun"},
                    {"slug": "c1-k1", "name": "移出", "kind": "county", "parent": "c2"},
                    {"slug": "new-root", "name": "另一个省", "kind": "province", "parent": None}):
        r = hub.post("/api/v1/orgs/import", {"orgs": counties[:1] + [outside]}, token=city)
        assert r.status_code == 403, (outside, r.json)
        assert error_of(r)["details"]["orgs"] == [outside["slug"]]
    assert hub.get("/api/v1/orgs/c2-k9").status_code == 404
    assert hub.get("/api/v1/orgs/c1-k1").json["parent"] == "c1"
    r = hub.post("/api/v1/orgs/import", {"orgs": [
        {"slug": "c3", "name": "新设市", "kind": "city", "parent": "yun"}]}, token=province)
    assert r.status_code == 200 and r.json["created"] == 1
    r = hub.post("/api/v1/orgs/import", {"orgs": [
        {"slug": "yun2", "name": "邻省", "kind": "province", "parent": None}]}, token=province)
    assert r.status_code == 403  # a new root is for a user without an org
    assert hub.post("/api/v1/orgs/import", {"orgs": [
        {"slug": "yun2", "name": "邻省", "kind": "province", "parent": None}]}).status_code == 200


def test_bulk_import_rejects_child_before_parent_without_writing(hub):
    r = hub.post("/api/v1/orgs/import", {"orgs": [
        {"slug": "k1", "name": "县", "kind": "county", "parent": "c1"},
        {"slug": "c1", "name": "市", "kind": "city", "parent": None}]})
    assert r.status_code == 422
    assert error_of(r)["details"]["field"] == "orgs[0].parent"
    assert hub.get("/api/v1/orgs/c1").status_code == 404


def test_org_listing_paginates(hub):
    make_tree(hub)
    seen, cursor = [], None
    while True:
        r = hub.get("/api/v1/orgs?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status_code == 200
        seen += [o["slug"] for o in r.json["items"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == ["c1", "c1-k1", "c2", "yun"]
    assert hub.get("/api/v1/orgs?cursor=%%%").status_code == 422
