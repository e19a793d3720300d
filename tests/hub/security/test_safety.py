"""The negative list: versioned terms, block/warn/override at review, near-miss names, rescan."""

from __future__ import annotations

from hub.screening import Screen, Term
from tests.hub.helpers import error_of

from .support import approve_all, create_item, put_list, review, setup, submit

TERMS = [{"term": "法轮功", "category": "religion_cult", "action": "block"},
         {"term": "稳赚不赔", "category": "commercial", "action": "warn"}]
LEADERS = ["习近平", "国务院办公厅"]


def test_list_is_versioned_and_validated(hub):
    assert hub.get("/api/v1/safety/terms").json["version"] == 0
    r = put_list(hub, 1, TERMS, canonical_names=LEADERS)
    assert r.status_code == 200 and r.json["version"] == 1
    got = hub.get("/api/v1/safety/terms").json
    assert got["terms"] == TERMS and got["canonical_names"] == LEADERS
    assert "religion_cult" in got["categories"]
    stale = put_list(hub, 1, TERMS)
    assert stale.status_code == 409 and error_of(stale)["details"]["current_version"] == 1
    assert put_list(hub, 3, TERMS).status_code == 409
    for terms, field in [([{"term": "x", "category": "nonsense"}], "terms[0].category"),
                         ([{"term": "x", "category": "rumour", "action": "shout"}],
                          "terms[0].action"),
                         ([{"term": " ，。", "category": "rumour"}], "terms[0].term"),
                         ([{"term": "谣言", "category": "rumour"},
                           {"term": "谣 言", "category": "rumour"}], "terms[1].term"),
                         ("谣言", "terms")]:
        r = put_list(hub, 2, terms)
        assert r.status_code == 422 and error_of(r)["details"]["field"] == field, terms
    kept = put_list(hub, 2, [{"term": "谣言", "category": "rumour"}]).json
    assert kept["canonical_names"] == LEADERS  # omitted: carried over
    assert kept["terms"][0]["action"] == "block"  # the category's default


def test_blocking_term_stops_submit_and_approval(hub):
    people = setup(hub)
    bad = create_item(hub, people["editor"], body="<p>揭露法 轮·功的真相</p>")
    r = submit(hub, bad["id"], people["editor"])  # no list yet: nothing to hit
    assert r.status_code == 200
    assert review(hub, bad["id"], people["r1"]).status_code == 200
    put_list(hub, 1, TERMS)
    blocked = review(hub, bad["id"], people["r2"])
    assert blocked.status_code == 422 and error_of(blocked)["code"] == "safety_blocked"
    hit = error_of(blocked)["details"]["hits"][0]
    assert hit == {"field": "body", "start": 2, "end": 7, "term": "法轮功",
                   "category": "religion_cult", "action": "block", "matched": "法 轮·功"}
    assert review(hub, bad["id"], people["r2"], "reject", comment="含禁止内容").status_code == 200

    again = create_item(hub, people["editor"], title="法轮功相关")
    r = submit(hub, again["id"], people["editor"])
    assert r.status_code == 422 and error_of(r)["code"] == "safety_blocked"
    assert error_of(r)["details"]["hits"][0]["field"] == "title"
    assert hub.get(f"/api/v1/items/{again['id']}").json["status"] == "draft"


def test_warn_hits_need_the_final_reviewers_override_reason(hub):
    people = setup(hub)
    put_list(hub, 1, TERMS, canonical_names=LEADERS)
    item = create_item(hub, people["editor"], summary="理财产品稳赚不赔",
                       body='<figure><img src="/media/ast_photo1" alt="习近憑同志讲话">'
                            '<figcaption>国务院办工厅发布</figcaption></figure>')
    submitted = submit(hub, item["id"], people["editor"]).json
    safety = submitted["review"]["safety"]
    assert safety["blocked"] is False and safety["needs_override"] is True
    found = {(h["field"], h["category"], h["matched"], h.get("expected")) for h in safety["hits"]}
    assert found == {("summary", "commercial", "稳赚不赔", None),
                     ("captions[0]", "serious_typo", "习近憑", "习近平"),
                     ("body", "serious_typo", "国务院办工厅", "国务院办公厅")}
    assert review(hub, item["id"], people["r1"]).status_code == 200
    assert review(hub, item["id"], people["r2"]).status_code == 200
    r = review(hub, item["id"], people["r3"])
    assert r.status_code == 422 and error_of(r)["code"] == "safety_override_required"
    assert len(error_of(r)["details"]["hits"]) == 3
    ok = review(hub, item["id"], people["r3"], override_reason="经核实为引用原文，已确认无误")
    assert ok.status_code == 200 and ok.json["status"] == "approved"
    assert ok.json["review"]["trail"][-1]["override_reason"] == "经核实为引用原文，已确认无误"


def test_rescan_reports_live_items_that_hit_a_changed_list(hub):
    people = setup(hub)
    live = create_item(hub, people["editor"], body="<p>某地出现抢盐风潮</p>")
    clean = create_item(hub, people["editor"], title="秋收进度过半")
    for item in (live, clean):
        submit(hub, item["id"], people["editor"])
        approve_all(hub, item["id"], people)
    draft = create_item(hub, people["editor"], body="<p>抢盐风潮</p>")
    empty = hub.post("/api/v1/safety/rescan", {}).json
    assert empty["matched"] == 0 and empty["scanned"] == 2
    changed = put_list(hub, 1, [{"term": "抢盐风潮", "category": "rumour", "action": "block"}])
    assert [i["id"] for i in changed.json["rescan"]["items"]] == [live["id"]]
    report = hub.post("/api/v1/safety/rescan", {}).json
    assert report["list_version"] == 1 and report["scanned"] == 2 and report["matched"] == 1
    [entry] = report["items"]
    assert entry["id"] == live["id"] and entry["blocked"] is True
    assert entry["hits"][0]["term"] == "抢盐风潮" and entry["id"] != draft["id"]


def test_screen_near_miss_rules():
    screen = Screen([Term("赌博", "obscenity_violence", "block")], ["习近平", "李强", "国务院"])
    text = "习近平、近习平、习近憑、习平近、李刚、国务委员、賭博、ＡＢＣ"
    hits = screen.scan({"body": text})
    typos = [(h.matched, h.expected) for h in hits if h.category == "serious_typo"]
    assert ("习近平", "习近平") not in typos  # exact spellings are fine
    assert ("近习平", "习近平") in typos and ("习近憑", "习近平") in typos
    assert ("习平近", "习近平") in typos  # transposition
    assert not any(expected == "李强" for _, expected in typos)  # two characters: no near-miss
    assert ("国务委", "国务院") in typos  # near-misses are warnings a reviewer may override
    for hit in hits:
        assert text[hit.start:hit.end] == hit.matched
    assert Screen([Term("ABC", "commercial", "warn")]).scan({"t": "买ａｂｃ"})[0].matched == "ａｂｃ"
