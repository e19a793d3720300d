"""An item that hits the *current* negative list (a term added after its review) shows the hit
on its API JSON, and a push or preview of it is refused with 422 ``negative_list_hit`` — unless
a province admin overrides it with a reason, which the audit log records."""

from __future__ import annotations

from sqlalchemy import select

from hub.models import AuditEntry

from .support import error_of


def _block(rig, term: str) -> None:
    version = rig.hub.get("/api/v1/safety/terms").json["version"]
    r = rig.hub.put("/api/v1/safety/terms", {"version": version + 1, "terms": [
        {"term": term, "category": "rumour", "action": "block"}]})
    assert r.status_code in (200, 201), r.json


def test_a_live_item_hitting_the_new_list_shows_it_and_is_not_pushed_again(rig):
    rig.account("c1-k1")
    item = rig.item("c1")
    clean = rig.hub.get(f"/api/v1/items/{item}").json["safety_hits"]
    assert (clean["hits"], clean["blocked"]) == ([], False), clean
    _block(rig, "强降雨")

    shown = rig.hub.get(f"/api/v1/items/{item}").json["safety_hits"]
    assert shown["blocked"] is True and shown["list_version"] >= 1, shown
    assert {(h["term"], h["field"], h["action"]) for h in shown["hits"]} == \
        {("强降雨", "summary", "block"), ("强降雨", "body", "block")}

    city_admin = rig.token("c1", "admin")
    before = rig.rows()
    for path in ("push", "push/preview"):
        r = rig.hub.post(f"/api/v1/items/{item}/{path}", {"targets": {"orgs": ["c1"]}})
        assert r.status_code == 422, (path, r.json)
        error = error_of(r)
        assert error["code"] == "negative_list_hit" and "负面清单" in error["message"]
        assert error["details"]["hits"][0]["term"] == "强降雨"
    assert rig.rows() == before

    # A city admin may not override; the province admin may, and the audit log says why.
    overriding = {"targets": {"orgs": ["c1"]}, "override_safety": True,
                  "override_reason": "经核实为气象部门正式预警用语"}
    r = rig.hub.post(f"/api/v1/items/{item}/push", overriding, token=city_admin)
    assert r.status_code == 403 and error_of(r)["code"] == "override_not_allowed", r.json
    r = rig.hub.post(f"/api/v1/items/{item}/push",
                     {"targets": {"orgs": ["c1"]}, "override_safety": True})
    assert r.status_code == 422 and error_of(r)["details"]["field"] == "override_reason"
    assert rig.rows() == before

    seen = rig.hub.post(f"/api/v1/items/{item}/push/preview", overriding)
    assert seen.status_code == 200 and seen.json["safety_override"]["terms"] == ["强降雨"]
    answer = rig.hub.post(f"/api/v1/items/{item}/push", overriding)
    assert answer.status_code == 202 and answer.json["total"] == seen.json["total"] == 1
    with rig.hub.runtime.db.session() as session:
        entry = session.execute(select(AuditEntry).where(
            AuditEntry.action == "item.push")).scalar_one()
        assert entry.details["safety_override"] == {
            "list_version": shown["list_version"], "reason": "经核实为气象部门正式预警用语",
            "terms": ["强降雨"]}
