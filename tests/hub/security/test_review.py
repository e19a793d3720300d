"""三审: three distinct reviewers of stages 1-3 approve the current version, never an author."""

from __future__ import annotations

from tests.hub.helpers import error_of, make_account

from .support import approve_all, create_item, make_user, review, setup, submit


def test_three_stages_by_distinct_reviewers_approve_the_item(hub):
    people = setup(hub)
    item = create_item(hub, people["editor"])
    r = submit(hub, item["id"], people["editor"])
    assert r.status_code == 200 and r.json["status"] == "in_review"
    assert r.json["review"]["stage"] == 1 and r.json["review"]["stage_name"] == "初审"
    after_one = review(hub, item["id"], people["r1"], comment="初审通过").json
    assert after_one["status"] == "in_review" and after_one["review"]["stage"] == 2
    done = approve_all_from_stage_two(hub, item["id"], people)
    assert done["status"] == "approved" and done["approved_version"] == 1
    trail = done["review"]["trail"]
    assert [(t["stage"], t["decision"], t["version"]) for t in trail] == [
        (1, "approve", 1), (2, "approve", 1), (3, "approve", 1)]
    assert trail[0]["comment"] == "初审通过" and trail[0]["reviewer_name"] == "reviewer1"
    assert len({t["reviewer"] for t in trail}) == 3


def approve_all_from_stage_two(hub, item_id, people):
    assert review(hub, item_id, people["r2"]).status_code == 200
    r = review(hub, item_id, people["r3"])
    assert r.status_code == 200, r.json
    return r.json


def test_self_review_skipped_stage_stale_version_and_replays_are_conflicts(hub):
    people = setup(hub)
    author = make_user(hub, "editor-reviewer", ["editor", "reviewer"], stage=1)["token"]
    own = create_item(hub, author)
    assert submit(hub, own["id"], author).status_code == 200
    r = review(hub, own["id"], author)
    assert r.status_code == 409 and error_of(r)["code"] == "self_review"

    item = create_item(hub, people["editor"])
    assert submit(hub, item["id"], people["editor"]).status_code == 200
    skipped = review(hub, item["id"], people["r2"])
    assert skipped.status_code == 409 and error_of(skipped)["code"] == "wrong_stage"
    assert review(hub, item["id"], people["r3"]).status_code == 409
    stale = review(hub, item["id"], people["r1"], version=0)
    assert stale.status_code == 409 and error_of(stale)["code"] == "stale_version"
    assert review(hub, item["id"], people["r1"]).status_code == 200
    replay = review(hub, item["id"], people["r1"])
    assert replay.status_code == 409 and error_of(replay)["code"] == "wrong_stage"
    assert review(hub, item["id"], people["r2"]).status_code == 200
    assert review(hub, item["id"], people["r3"]).status_code == 200
    final_replay = review(hub, item["id"], people["r3"])
    assert final_replay.status_code == 409 and error_of(final_replay)["code"] == "not_in_review"
    trail = hub.get(f"/api/v1/items/{item['id']}").json["review"]["trail"]
    assert len(trail) == 3  # no conflict left a row behind


def test_one_reviewer_cannot_approve_two_stages_even_after_a_stage_change(hub):
    people = setup(hub)
    r1 = make_user(hub, "moving-reviewer", ["reviewer"], stage=1)
    item = create_item(hub, people["editor"])
    submit(hub, item["id"], people["editor"])
    assert review(hub, item["id"], r1["token"]).status_code == 200
    assert hub.patch(f"/api/v1/users/{r1['id']}", {"review_stage": 2}).status_code == 200
    again = review(hub, item["id"], r1["token"])
    assert again.status_code == 409 and error_of(again)["code"] == "duplicate_reviewer"


def test_reject_returns_to_draft_with_comment_and_restarts_at_stage_one(hub):
    people = setup(hub)
    item = create_item(hub, people["editor"])
    submit(hub, item["id"], people["editor"])
    assert review(hub, item["id"], people["r1"]).status_code == 200
    assert review(hub, item["id"], people["r2"]).status_code == 200
    no_comment = review(hub, item["id"], people["r3"], "reject", comment=" ")
    assert no_comment.status_code == 422 and error_of(no_comment)["details"]["field"] == "comment"
    rejected = review(hub, item["id"], people["r3"], "reject", comment="标题表述不准确")
    assert rejected.status_code == 200 and rejected.json["status"] == "draft"
    assert rejected.json["review"]["trail"][-1]["comment"] == "标题表述不准确"
    assert submit(hub, item["id"], people["editor"]).json["review"]["stage"] == 1
    r = review(hub, item["id"], people["r3"])  # the earlier stage-1/2 approvals no longer count
    assert r.status_code == 409 and error_of(r)["details"]["stage"] == 1
    assert approve_all(hub, item["id"], people)["status"] == "approved"


def test_editing_in_review_or_after_approval_needs_three_fresh_approvals(hub):
    people = setup(hub)
    make_account(hub, "c1", "c1-wechat")
    item = create_item(hub, people["editor"])
    submit(hub, item["id"], people["editor"])
    assert review(hub, item["id"], people["r1"]).status_code == 200
    edited = hub.patch(f"/api/v1/items/{item['id']}", {"title": "全省防汛会议召开"},
                       token=people["editor"]).json
    assert edited["version"] == 2 and edited["status"] == "draft"
    assert review(hub, item["id"], people["r2"]).status_code == 409
    submit(hub, item["id"], people["editor"])
    stale = review(hub, item["id"], people["r1"], version=1)
    assert stale.status_code == 409 and error_of(stale)["code"] == "stale_version"
    approved = approve_all(hub, item["id"], people, version=2)
    assert approved["status"] == "approved" and approved["approved_version"] == 2

    again = hub.patch(f"/api/v1/items/{item['id']}", {"summary": "新摘要"},
                      token=people["editor"]).json
    assert again["version"] == 3 and again["status"] == "draft" and again["approved_version"] == 2
    push = hub.post(f"/api/v1/items/{item['id']}/push", {"targets": {"orgs": ["c1"]}},
                    token=people["editor"])
    assert push.status_code == 409, push.json
    submit(hub, item["id"], people["editor"])
    assert hub.get(f"/api/v1/items/{item['id']}").json["review"]["stage"] == 1


def test_an_item_cannot_be_pushed_before_all_three_stages(hub):
    people = setup(hub)
    make_account(hub, "c1", "c1-wechat")
    item = create_item(hub, people["editor"])
    push = {"targets": {"orgs": ["c1"]}}
    assert hub.post(f"/api/v1/items/{item['id']}/push", push,
                    token=people["editor"]).status_code == 409
    submit(hub, item["id"], people["editor"])
    for stage in (1, 2):
        assert review(hub, item["id"], people[f"r{stage}"]).status_code == 200
        r = hub.post(f"/api/v1/items/{item['id']}/push", push, token=people["editor"])
        assert r.status_code == 409 and error_of(r)["code"] == "not_approved"
    assert review(hub, item["id"], people["r3"]).status_code == 200
    assert hub.post(f"/api/v1/items/{item['id']}/push", push,
                    token=people["editor"]).status_code == 202


def test_review_bad_input(hub):
    people = setup(hub)
    item = create_item(hub, people["editor"])
    submit(hub, item["id"], people["editor"])
    for body, field in [({"decision": "maybe"}, "decision"),
                        ({"decision": "approve", "version": "1"}, "version"),
                        ({"decision": "approve", "comment": 5}, "comment"),
                        ({"decision": "approve", "comment": "x" * 2001}, "comment")]:
        r = hub.post(f"/api/v1/items/{item['id']}/reviews", body, token=people["r1"])
        assert r.status_code == 422 and error_of(r)["details"]["field"] == field, body
    assert submit(hub, item["id"], people["editor"]).status_code == 409
