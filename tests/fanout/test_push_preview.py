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
    assert first == {"accounts": 4, "total": 4, "sending": 3,
                     "by_platform": {"wechat": 2, "weibo": 1}, "requeued": 0, "skipped": 1,
                     "skip_reasons": {"账号已关闭，未推送 (account is closed)": 1}, "kept": 0}
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
