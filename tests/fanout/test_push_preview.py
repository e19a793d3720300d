"""A push's preview says what the push would do — accounts by platform, skipped with reasons,
already holding the item — with the same checks as the push, and writes nothing: its total is
the total of the push that follows, through first pushes, skips, repeats and take-overs."""

from __future__ import annotations

from sqlalchemy import update

from hub.models import Delivery

from .support import error_of


def _preview(rig, item: str, targets: dict) -> dict:
    r = rig.hub.post(f"/api/v1/items/{item}/push/preview", {"targets": targets})
    assert r.status_code == 200, r.json
    return r.json


def test_the_preview_matches_the_push_that_follows_and_writes_nothing(rig):
    wechat = [rig.account("c1-k1") for _ in range(2)]
    weibo = rig.account("c1-k1", "weibo")
    closed = rig.account("c1-k1", status="closed")
    item = rig.item("c1")
    before = rig.rows()
    first = _preview(rig, item, {"orgs": ["c1"]})
    assert rig.rows() == before
    closed_reason = "账号已关闭，未推送 (account is closed)"
    assert first.pop("lineage_rule") and first.pop("safety_override") is None
    assert first.pop("skipped_accounts") == [{
        "account": closed, "account_name": "c1-k1-wechat-3", "platform": "wechat",
        "reason": "account_closed", "message": closed_reason}]
    assert first == {"accounts": 4, "total": 4, "sending": 3,
                     "by_platform": {"wechat": 2, "weibo": 1}, "requeued": 0, "skipped": 1,
                     "skip_reasons": {closed_reason: 1}, "kept": 0,
                     "skip_codes": {"account_closed": 1}, "skipped_by_platform": {"wechat": 1},
                     "skipped_accounts_truncated": False}
    assert rig.pushed(item, {"orgs": ["c1"]})["total"] == first["total"]

    again = _preview(rig, item, {"orgs": ["c1"]})  # everyone holds it (or is skipped) now
    assert (again["total"], again["kept"], again["sending"]) == (0, 4, 0)
    assert rig.pushed(item, {"orgs": ["c1"]})["total"] == 0

    with rig.hub.runtime.db.session() as session:  # one failed: a repush takes it over
        session.execute(update(Delivery).where(Delivery.account_id == wechat[0])
                        .values(state="failed", error="平台错误"))
    retake = _preview(rig, item, {"accounts": [wechat[0], weibo, closed]})
    assert (retake["total"], retake["requeued"], retake["kept"],
            retake["by_platform"]) == (1, 1, 2, {"wechat": 1})
    assert rig.pushed(item, {"accounts": [wechat[0], weibo, closed]})["total"] == 1


def test_the_preview_refuses_what_the_push_refuses(rig):
    rig.account("c1-k1")
    draft = rig.item("c1", "draft")
    approved = rig.item("c1")
    editor = rig.token("c1", "editor")
    before = rig.rows()
    r = rig.hub.post(f"/api/v1/items/{draft}/push/preview", {"targets": {"orgs": ["c1"]}})
    assert r.status_code == 409 and error_of(r)["code"] == "not_approved"
    for targets, status in (({"orgs": ["atlantis"]}, 422), ({}, 422),
                            ({"accounts": ["acc_nope"]}, 422), ({"orgs": ["c2"]}, 403)):
        r = rig.hub.post(f"/api/v1/items/{approved}/push/preview", {"targets": targets},
                         token=editor)
        assert r.status_code == status, (targets, r.json)
    assert rig.rows() == before


def _counts(rig, dispatch_id: str) -> dict:
    progress = rig.hub.get(f"/api/v1/dispatches/{dispatch_id}").json
    assert progress["state"] == "done", progress
    assert sum(progress["counts"].values()) == progress["total"], progress
    return progress["counts"]


def test_an_article_skips_the_video_only_platform_in_the_preview_and_the_push(rig):
    """Douyin takes videos only: its accounts are skipped with the channel's own reason,
    before anything is sent, and none of them ends as a failed delivery."""
    wechat = [rig.account("c1-k1"), rig.account("c1-k2")]
    douyin = {rig.account("c1-k1", "douyin"), rig.account("c1-k2", "douyin")}
    item = rig.item("c1")
    seen = _preview(rig, item, {"orgs": ["c1"]})
    assert (seen["total"], seen["sending"], seen["skipped"]) == (4, 2, 2), seen
    assert seen["by_platform"] == {"wechat": 2}
    assert seen["skipped_by_platform"] == {"douyin": 2}
    assert seen["skip_codes"] == {"cannot_render": 2}
    listed = {entry["account"]: entry for entry in seen["skipped_accounts"]}
    assert set(listed) == douyin
    for entry in listed.values():
        assert (entry["platform"], entry["reason"], entry["field"]) == \
            ("douyin", "cannot_render", "kind")
        assert entry["message"].startswith("抖音只接受视频稿件"), entry

    answer = rig.pushed(item, {"orgs": ["c1"]})
    assert (answer["total"], answer["skipped"]) == (seen["total"], seen["skipped"]), answer
    assert answer["skip_codes"] == {"cannot_render": 2}
    rig.drain()
    counts = _counts(rig, answer["dispatch_id"])
    assert (counts["failed"], counts["skipped"]) == (0, 2), counts
    path = f"/api/v1/dispatches/{answer['dispatch_id']}/deliveries"
    skipped = rig.deliveries(path, state="skipped")
    assert {d["account"] for d in skipped} == douyin
    assert all(d["error_kind"] == "cannot_render" and d["attempts"] == 0 for d in skipped)
    assert rig.sandbox.posts(platform="douyin") == []
    assert {p["platform"] for p in rig.sandbox.posts(state="live")} == {"wechat"}
    assert len(wechat) == rig.live_posts()


def test_a_pulled_copy_skips_accounts_that_carry_its_origin(rig):
    """The lineage rule: an account carrying the origin (or another copy of it) is skipped,
    named in the preview with the item it carries; nobody shows the story twice."""
    holding = [rig.account("c1-k1"), rig.account("c1-k1")]
    fresh = rig.account("c1-k1")
    origin = rig.item("c1", shared=True)
    rig.pushed(origin, {"accounts": holding})
    rig.drain()
    copy = rig.pulled(origin, "c1-k1")

    seen = _preview(rig, copy, {"orgs": ["c1-k1"]})
    assert (seen["total"], seen["sending"], seen["skipped"]) == (3, 1, 2), seen
    assert seen["skip_codes"] == {"lineage_live": 2}
    assert "重复" in seen["lineage_rule"]
    assert {(e["account"], e["reason"], e["held_item"]) for e in seen["skipped_accounts"]} \
        == {(a, "lineage_live", origin) for a in holding}

    answer = rig.pushed(copy, {"orgs": ["c1-k1"]})
    assert (answer["total"], answer["skipped"]) == (seen["total"], seen["skipped"]), answer
    rig.drain()
    counts = _counts(rig, answer["dispatch_id"])
    assert (counts["failed"], counts["skipped"]) == (0, 2), counts
    sent = rig.deliveries(f"/api/v1/dispatches/{answer['dispatch_id']}/deliveries")
    assert [d["account"] for d in sent if d["state"] != "skipped"] == [fresh]
    live = rig.sandbox.posts(platform="wechat", state="live")
    assert len(live) == 3 and len({p["account"] for p in live}) == 3, live
    assert sum(v["duplicates"] for v in rig.sandbox.stats().values()) == 0

    # The rule runs both ways: the origin skips the account that now carries the copy.
    back = _preview(rig, origin, {"orgs": ["c1-k1"]})
    assert (back["kept"], back["skip_codes"], back["sending"]) == \
        (2, {"lineage_live": 1}, 0), back
    assert rig.pushed(origin, {"orgs": ["c1-k1"]})["total"] == back["total"] == 1
