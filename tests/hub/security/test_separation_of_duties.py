"""三审 needs three people an admin cannot be: reviewers are appointed from the org above,
nobody mints a bearer token for someone else, and an author never reviews their own item.

The reproduction: a county admin made three reviewers in their county, kept the tokens that
came back, and took their own item through all three stages alone.
"""

from __future__ import annotations

from tests.hub.helpers import error_of, make_org, make_tree

from .support import article, make_user, review, submit

COUNTY, CITY = "c1-k1", "c1"


def _people(hub) -> dict[str, dict]:
    make_tree(hub)
    make_org(hub, "c1-k1-d1", "department", COUNTY)
    return {"county_admin": make_user(hub, "县管理员", ["admin"], org=COUNTY),
            "city_admin": make_user(hub, "市管理员", ["admin"], org=CITY),
            "province_admin": make_user(hub, "省管理员", ["admin"], org="yun")}


def _reviewer(stage: int, org: str = COUNTY, name: str | None = None) -> dict:
    return {"org": org, "name": name or f"审核员{stage}", "roles": ["reviewer"],
            "review_stage": stage}


def _refused(response) -> None:
    assert response.status_code == 403, response.get_json()
    assert error_of(response)["code"] in {"review_grant_forbidden", "not_your_token"}


def test_a_county_admin_cannot_pass_their_own_item_through_three_reviews(hub):
    admin = _people(hub)["county_admin"]["token"]
    item = hub.post("/api/v1/items", article(COUNTY), token=admin).json["id"]
    assert submit(hub, item, admin).status_code == 200
    tokens = []
    for stage in (1, 2, 3):
        created = hub.post("/api/v1/users", _reviewer(stage), token=admin)
        _refused(created)
        tokens.append((created.get_json() or {}).get("token"))
    assert tokens == [None, None, None]
    # Nor by making an editor of theirs, or themselves, a reviewer afterwards.
    editor = make_user(hub, "县编辑", ["editor"], org=COUNTY)
    _refused(hub.patch(f"/api/v1/users/{editor['id']}", {"roles": ["reviewer"],
                                                         "review_stage": 1}, token=admin))
    me = hub.get("/api/v1/session", token=admin).json
    _refused(hub.patch(f"/api/v1/users/{me['user']['id']}",
                       {"roles": ["admin", "reviewer"], "review_stage": 1}, token=admin))
    # Nor under another role list in one go, nor in a department below their own org (still
    # theirs to reach, but it is not above them that the grant would come from).
    _refused(hub.post("/api/v1/users", {**_reviewer(2), "roles": ["editor", "reviewer"]},
                      token=admin))
    assert hub.get(f"/api/v1/items/{item}").json["status"] == "in_review"


def test_reviewers_are_appointed_from_an_org_above(hub):
    people = _people(hub)
    city, province = people["city_admin"]["token"], people["province_admin"]["token"]
    county = people["county_admin"]["token"]
    made = hub.post("/api/v1/users", _reviewer(1), token=city)
    assert made.status_code == 201, made.json
    assert made.json["token"]  # the new user's first token, once (docs/contract.md)
    _refused(hub.post("/api/v1/users", _reviewer(2, CITY, "市审核员"), token=city))  # own org
    assert hub.post("/api/v1/users", _reviewer(2, CITY, "市审核员"),
                    token=province).status_code == 201
    assert hub.post("/api/v1/users", _reviewer(3, "yun", "省审核员"),
                    token=province).status_code == 201  # the province appoints its own
    # A county admin below the department may appoint there (the org above it).
    assert hub.post("/api/v1/users", _reviewer(1, "c1-k1-d1", "部门审核员"),
                    token=county).status_code == 201
    # Moving a reviewer to another stage is an appointment too; removing the role is not.
    user = made.json["id"]
    _refused(hub.patch(f"/api/v1/users/{user}", {"review_stage": 3}, token=county))
    assert hub.patch(f"/api/v1/users/{user}", {"review_stage": 3},
                     token=city).json["review_stage"] == 3
    _refused(hub.patch(f"/api/v1/users/{user}", {"roles": ["reviewer"], "review_stage": 2},
                       token=county))
    assert hub.patch(f"/api/v1/users/{user}", {"disabled": True}, token=county).status_code == 200
    dropped = hub.patch(f"/api/v1/users/{user}", {"roles": ["editor"]}, token=county)
    assert dropped.status_code == 200 and dropped.json["roles"] == ["editor"]


def test_nobody_mints_a_token_for_someone_else(hub):
    people = _people(hub)
    county = people["county_admin"]["token"]
    reviewer = hub.post("/api/v1/users", _reviewer(1),
                        token=people["city_admin"]["token"]).json
    for token in (county, people["city_admin"]["token"], people["province_admin"]["token"],
                  None):  # None: the bootstrap admin
        minted = hub.post(f"/api/v1/users/{reviewer['id']}/tokens", {"label": "借用"},
                          token=token)
        _refused(minted)
        assert "token" not in (minted.get_json() or {})
    own = hub.post(f"/api/v1/users/{reviewer['id']}/tokens", {"label": "script"},
                   token=reviewer["token"])
    assert own.status_code == 201 and own.json["token"].startswith("yc_")
    mine = people["county_admin"]
    assert hub.post(f"/api/v1/users/{mine['id']}/tokens", {}, token=county).status_code == 201
    listed = hub.get(f"/api/v1/users/{reviewer['id']}/tokens", token=county).json["items"]
    assert len(listed) == 2
    # Revoking someone's token takes power away: an admin of their subtree still may.
    revoked = hub.post(f"/api/v1/tokens/{listed[1]['id']}/revoke", {}, token=county)
    assert revoked.status_code == 200


def test_only_who_may_appoint_a_reviewer_sets_their_password(hub):
    people = _people(hub)
    county, city = people["county_admin"]["token"], people["city_admin"]["token"]
    reviewer = hub.post("/api/v1/users", _reviewer(1), token=city).json
    _refused(hub.patch(f"/api/v1/users/{reviewer['id']}", {"password": "县管理员设的密码123"},
                       token=county))
    assert hub.patch(f"/api/v1/users/{reviewer['id']}", {"password": "市管理员设的密码123"},
                     token=city).status_code == 200
    editor = make_user(hub, "县编辑", ["editor"], org=COUNTY)
    assert hub.patch(f"/api/v1/users/{editor['id']}", {"password": "县管理员设的密码123"},
                     token=county).status_code == 200


def test_an_author_never_reviews_their_own_item(hub):
    people = _people(hub)
    writer = hub.post("/api/v1/users", {**_reviewer(1), "roles": ["editor", "reviewer"]},
                      token=people["city_admin"]["token"]).json
    item = hub.post("/api/v1/items", article(COUNTY), token=writer["token"]).json["id"]
    assert submit(hub, item, writer["token"]).status_code == 200
    refused = review(hub, item, writer["token"])
    assert refused.status_code == 409 and error_of(refused)["code"] == "self_review"


DEPT = "c1-k1-d1"


def _staff_a_department(hub, admin: str, author_roles: list[str]) -> tuple[str, list[str]]:
    """What the county admin may do alone: reviewers for the department below (the grant comes
    from the org above them), an author there, an item submitted; the tokens all theirs."""
    reviewers = []
    for stage in (1, 2, 3):
        made = hub.post("/api/v1/users", _reviewer(stage, DEPT, f"部门审核员{stage}"), token=admin)
        assert made.status_code == 201, made.json
        reviewers.append(made.json["token"])
    author = hub.post("/api/v1/users", {"org": DEPT, "name": "部门编辑", "roles": author_roles},
                      token=admin).json["token"]
    item = hub.post("/api/v1/items", article(DEPT), token=author).json["id"]
    assert submit(hub, item, author).status_code == 200
    return item, reviewers


def test_one_admin_cannot_pass_an_item_through_a_department_they_staffed(hub):
    """The same attack one level down: the county admin appoints three reviewers in a
    department below the county and writes the item through an editor they created. Stages 1
    and 2 pass; the final approval is refused, and the item stays in review."""
    admin = _people(hub)["county_admin"]["token"]
    item, reviewers = _staff_a_department(hub, admin, ["editor"])
    assert review(hub, item, reviewers[0]).status_code == 200
    assert review(hub, item, reviewers[1]).status_code == 200
    refused = review(hub, item, reviewers[2])
    assert refused.status_code == 409, refused.json
    assert error_of(refused)["code"] == "review_not_independent"
    assert hub.get(f"/api/v1/items/{item}").json["status"] == "in_review"
    # Nor by writing the item themselves.
    mine = hub.post("/api/v1/items", article(DEPT), token=admin).json["id"]
    assert submit(hub, mine, admin).status_code == 200
    for token in reviewers[:2]:
        assert review(hub, mine, token).status_code == 200
    assert error_of(review(hub, mine, reviewers[2]))["code"] == "review_not_independent"


def test_a_final_reviewer_someone_else_appointed_completes_the_round(hub):
    people = _people(hub)
    admin, province = people["county_admin"]["token"], people["province_admin"]["token"]
    item, reviewers = _staff_a_department(hub, admin, ["editor"])
    for token in reviewers[:2]:
        assert review(hub, item, token).status_code == 200
    independent = hub.post("/api/v1/users", _reviewer(3, DEPT, "省任命终审"), token=province)
    final = review(hub, item, independent.json["token"])
    assert final.status_code == 200, final.json
    assert hub.get(f"/api/v1/items/{item}").json["status"] == "approved"


def test_a_reviewer_whose_password_the_admin_set_answers_to_that_admin(hub):
    """Setting a reviewer's password is being able to act as them: the province appointed the
    final reviewer, but once the city admin (behind the author and the other two) sets its
    password, the city admin stands behind all four."""
    people = _people(hub)
    city, province = people["city_admin"]["token"], people["province_admin"]["token"]
    reviewers = [hub.post("/api/v1/users", _reviewer(stage, COUNTY, f"县审核员{stage}"),
                          token=city).json for stage in (1, 2)]
    final = hub.post("/api/v1/users", _reviewer(3, COUNTY, "县终审"), token=province).json
    author = hub.post("/api/v1/users", {"org": COUNTY, "name": "县编辑", "roles": ["editor"]},
                      token=city).json["token"]
    item = hub.post("/api/v1/items", article(COUNTY), token=author).json["id"]
    assert submit(hub, item, author).status_code == 200
    for made in reviewers:
        assert review(hub, item, made["token"]).status_code == 200
    assert hub.patch(f"/api/v1/users/{final['id']}", {"password": "市管理员设的密码12345"},
                     token=city).status_code == 200
    refused = review(hub, item, final["token"])
    assert error_of(refused)["code"] == "review_not_independent"
