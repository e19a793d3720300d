"""/api/v1/matrices against docs/contract.md on SQLite and PostgreSQL: create, list, get, edit, delete,
scope (an admin groups only accounts of their own subtree), refusals that write nothing, and a
push to a matrix reaching exactly its accounts."""

from __future__ import annotations

from typing import Any

from .support import ApiRig, error_of

MATRICES = "/api/v1/matrices"


def _create(rig: ApiRig, token: str | None = None, **body: Any) -> dict[str, Any]:
    r = rig.hub.post(MATRICES, {"name": "交通微矩阵", **body}, token=token)
    assert r.status_code == 201, r.json
    return r.json


def _refused(response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_json())
    error = error_of(response)
    assert code is None or error["code"] == code, error
    return error


def test_create_list_get_edit_delete(rig):
    admin = rig.token("c1", "admin")
    member = rig.account("c1-k1")
    rig.account("c1-k1")  # same county, not a member
    in_k2 = [rig.account("c1-k2"), rig.account("c1-k2", "weibo")]
    made = _create(rig, admin, slug="traffic", accounts=[member, member], orgs=["c1-k2"])
    assert (made["slug"], made["name"], made["account_count"]) == ("traffic", "交通微矩阵", 3)
    assert made["org"] == "c1" and made["explicit_accounts"] == 1, made
    assert rig.hub.get(f"{MATRICES}/traffic", token=admin).json == made
    for slug in ("alpha", "omega"):
        _create(rig, admin, slug=slug, accounts=[member])
    first = rig.hub.get(MATRICES, query_string={"limit": 2}, token=admin).json
    assert [m["slug"] for m in first["items"]] == ["alpha", "omega"] and first["next_cursor"]
    rest = rig.hub.get(MATRICES, query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    assert [m["slug"] for m in rest["items"]] == ["traffic"] and rest["next_cursor"] is None
    assert rest["items"][0]["account_count"] == 3

    r = rig.hub.patch(f"{MATRICES}/traffic", {"name": "交通矩阵", "platforms": ["weibo"]},
                      token=admin)
    assert r.status_code == 200, r.json
    assert (r.json["name"], r.json["platforms"], r.json["account_count"]) == (
        "交通矩阵", ["weibo"], 2)  # the explicit member, and the weibo account of c1-k2
    r = rig.hub.patch(f"{MATRICES}/traffic", {"accounts": in_k2[:1], "orgs": []}, token=admin)
    assert (r.json["explicit_accounts"], r.json["account_count"], r.json["orgs"]) == (1, 1, [])
    assert r.json["name"] == "交通矩阵"  # untouched fields stay

    r = rig.delete(f"{MATRICES}/traffic", token=admin)
    assert r.status_code == 200 and r.json == {"slug": "traffic", "deleted": True}, r.json
    _refused(rig.hub.get(f"{MATRICES}/traffic"), 404)
    assert [m["slug"] for m in rig.hub.get(MATRICES).json["items"]] == ["alpha", "omega"]
    assert rig.rows()["matrix_accounts"] == 2
    assert (rig.audited("matrix.create"), rig.audited("matrix.update"),
            rig.audited("matrix.delete")) == (3, 2, 1)


def test_bad_matrices_are_refused_and_write_nothing(rig):
    account = rig.account("c1-k1")
    _create(rig, slug="traffic", accounts=[account])
    before = rig.rows()
    cases = [
        ({"slug": "traffic"}, 409, "duplicate_slug", None),
        ({"slug": "Traffic Matrix"}, 422, "invalid", None),
        ({"slug": "x" * 65}, 422, "invalid", None),
        ({"slug": "roads", "name": ""}, 422, "invalid", None),
        ({"slug": "roads", "accounts": [account, "acc_gone"]}, 422, "invalid", ["acc_gone"]),
        ({"slug": "roads", "orgs": ["c1", "atlantis"]}, 422, "invalid", ["atlantis"]),
        ({"slug": "roads", "platforms": ["wechat", "fax"]}, 422, "invalid", ["fax"]),
        ({"slug": "roads", "accounts": account}, 422, "invalid", None),
    ]
    for body, status, code, unknown in cases:
        error = _refused(rig.hub.post(MATRICES, {"name": "矩阵", **body}), status, code)
        if unknown:
            assert error["details"]["unknown"] == unknown, error
    _refused(rig.hub.post(MATRICES, data="{oops", headers={"Content-Type": "application/json"}),
             400)
    for body in ({"accounts": ["acc_gone"]}, {"orgs": ["atlantis"]}, {"name": ""},
                 {"platforms": ["fax"]}):
        _refused(rig.hub.patch(f"{MATRICES}/traffic", body), 422)
    _refused(rig.hub.patch(f"{MATRICES}/nope", {"name": "x"}), 404)
    _refused(rig.delete(f"{MATRICES}/nope"), 404)
    _refused(rig.hub.get(f"{MATRICES}/nope"), 404)
    assert rig.rows() == before
    assert rig.hub.get(f"{MATRICES}/traffic").json["account_count"] == 1


def test_an_admin_groups_only_accounts_of_their_own_subtree(rig):
    c1_admin, c2_admin = rig.token("c1", "admin"), rig.token("c2", "admin")
    province, editor, operator = (rig.token("yun", "admin"), rig.token("c1", "editor"),
                                  rig.token("c1", "operator"))
    own, foreign = rig.account("c1-k1"), rig.account("c2-k1")
    mine = _create(rig, c1_admin, slug="c1-roads", accounts=[own])["slug"]
    global_matrix = _create(rig, slug="province-wide", orgs=["yun"])["slug"]  # bootstrap, no org
    before = rig.rows()
    denied = [
        rig.hub.post(MATRICES, {"slug": "grab", "name": "x", "accounts": [own, foreign]},
                     token=c1_admin),
        rig.hub.post(MATRICES, {"slug": "grab", "name": "x", "orgs": ["c2"]}, token=c1_admin),
        rig.hub.post(MATRICES, {"slug": "grab", "name": "x", "orgs": ["yun"]}, token=c1_admin),
        rig.hub.post(MATRICES, {"slug": "grab", "name": "x", "accounts": [own]},
                     token=editor),
        rig.hub.patch(f"{MATRICES}/{mine}", {"accounts": [own, foreign]}, token=c1_admin),
        rig.hub.patch(f"{MATRICES}/{mine}", {"orgs": ["c2-k1"]}, token=c1_admin),
        rig.hub.patch(f"{MATRICES}/{mine}", {"name": "抢来的"}, token=c2_admin),
        rig.delete(f"{MATRICES}/{mine}", token=c2_admin),
        rig.hub.patch(f"{MATRICES}/{global_matrix}", {"name": "x"}, token=c1_admin),
        rig.hub.patch(f"{MATRICES}/{mine}", {"name": "x"}, token=operator),
    ]
    for response in denied:
        _refused(response, 403)
    assert rig.rows() == before
    assert rig.audited("access.denied") == len(denied)
    got = rig.hub.get(f"{MATRICES}/{mine}", token=rig.token("c2", "operator")).json
    assert (got["name"], got["explicit_accounts"]) == ("交通微矩阵", 1)  # readable by all
    # A province admin manages any matrix, including the bootstrap admin's org-less ones.
    for slug in (mine, global_matrix):
        r = rig.hub.patch(f"{MATRICES}/{slug}", {"accounts": [own, foreign]}, token=province)
        assert r.status_code == 200 and r.json["explicit_accounts"] == 2, r.json


def test_a_push_to_a_matrix_reaches_exactly_its_accounts(rig):
    explicit = rig.account("c1-k1")
    rig.account("c1-k1")  # same county, not in the matrix
    c2_wechat, c2_weibo = rig.account("c2-k1"), rig.account("c2-k1", "weibo")
    made = _create(rig, slug="roads", accounts=[explicit], orgs=["c2-k1"], platforms=["wechat"])
    assert made["account_count"] == 2
    item = rig.item("c1")
    answer = rig.pushed(item, {"matrices": ["roads"], "accounts": [explicit]})
    assert answer["total"] == 2, answer
    path = f"/api/v1/dispatches/{answer['dispatch_id']}/deliveries"
    assert {d["account"] for d in rig.deliveries(path)} == {explicit, c2_wechat}
    rig.drain()
    assert rig.live_posts() == 2

    # The push's platforms narrow the matrix's: nothing left is "no targets", not everyone.
    other = rig.item("c1")
    before = rig.rows()
    r = rig.push(other, {"matrices": ["roads"], "platforms": ["weibo"]})
    assert r.status_code == 422 and error_of(r)["code"] == "no_targets", r.json
    assert rig.rows() == before
    wechat_only = rig.pushed(other, {"matrices": ["roads"], "platforms": ["wechat"]})
    assert wechat_only["total"] == 2

    # Membership is read at push time: an edit shows in the next push.
    r = rig.hub.patch("/api/v1/matrices/roads", {"platforms": ["weibo"]})
    assert r.status_code == 200 and r.json["account_count"] == 2, r.json
    third = rig.item("c1")
    answer = rig.pushed(third, {"matrices": ["roads"]})
    path = f"/api/v1/dispatches/{answer['dispatch_id']}/deliveries"
    assert {d["account"] for d in rig.deliveries(path)} == {explicit, c2_weibo}

    # A county editor may not push to a matrix reaching beyond the county.
    editor = rig.token("c1-k1", "editor")
    fourth = rig.item("c1-k1")
    before = rig.rows()
    r = rig.push(fourth, {"matrices": ["roads"]}, token=editor)
    assert r.status_code == 403, r.json
    assert rig.rows() == before
