"""GET /api/v1/rankings: 传播力 rankings per period, org level and platform, scoped to the
caller's subtree; CSV/XLSX export; bad parameters are 422s in the error shape."""

from __future__ import annotations

import csv
import io
import math
from datetime import date
from typing import Any

from hub.models import PostDay
from hub.services.reach.store import _ensure_partitions
from tests.hub.helpers import error_of, make_account, make_org
from tests.hub.security.support import article, make_user

OCT = date(2026, 10, 12)
NOV = date(2026, 11, 10)


def tree(hub) -> None:
    make_org(hub, "yun", "province")
    make_org(hub, "c1", "city", "yun", name="一市")
    make_org(hub, "c1-k1", "county", "c1", name="一县")
    make_org(hub, "c1-k2", "county", "c1", name="二县")
    make_org(hub, "c1-k1-d", "department", "c1-k1", name="一县公安局")
    make_org(hub, "c2", "city", "yun", name="二市")
    make_org(hub, "c2-k1", "county", "c2", name="三县")


def seed(hub) -> dict[str, Any]:
    tree(hub)
    ids = {name: make_account(hub, org, name)["id"] for name, org in (
        ("甲", "c1-k1"), ("乙", "c1-k1-d"), ("丙", "c1-k2"), ("丁", "c2-k1"), ("静", "c2-k1"))}
    orgs = {a["slug"]: a["id"] for a in hub.get("/api/v1/orgs").json["items"]}
    r = hub.post("/api/v1/items", article(org="c1"))
    assert r.status_code == 201, r.json
    item = r.json["id"]
    account_org = {"甲": "c1-k1", "乙": "c1-k1-d", "丙": "c1-k2", "丁": "c2-k1"}
    # (account, post, day, reads, likes, shares, comments): November ranks 丁 > 甲 > 丙 > 乙;
    # October ranked 甲 > 丁 > 乙 (丙 silent then).
    figures = [
        ("甲", "p-a1", NOV, 900, 40, 10, 3), ("甲", "p-a1", date(2026, 11, 11), 100, 5, 0, 0),
        ("甲", "p-a2", NOV, 300, 10, 2, 1),
        ("乙", "p-b1", NOV, 20, 1, 0, 0),
        ("丙", "p-c1", NOV, 200, 8, 1, 0),
        ("丁", "p-d1", NOV, 5000, 300, 60, 20), ("丁", "p-d2", NOV, 2000, 100, 10, 5),
        ("甲", "p-a0", OCT, 3000, 100, 20, 5),
        ("丁", "p-d0", OCT, 800, 20, 2, 1),
        ("乙", "p-b0", OCT, 50, 2, 0, 0),
    ]
    rows = [{"post_id": post, "day": day, "delivery_id": f"d-{post}" if post == "p-a1" else None,
             "external_post_id": None, "item_id": item if post in ("p-a1", "p-d1") else None,
             "account_id": ids[name], "org_id": orgs[account_org[name]], "platform": "wechat",
             "reads": reads, "likes": likes, "shares": shares, "comments": comments,
             "plays": 0, "final": True}
            for name, post, day, reads, likes, shares, comments in figures]
    with hub.runtime.db.session() as session:
        _ensure_partitions(session, {r["day"] for r in rows})
        session.execute(PostDay.__table__.insert(), rows)
        session.commit()
    return {"accounts": ids, "item": item, "rows": rows}


def wci(posts: dict[str, tuple[int, int]]) -> float:
    """WCI 2.0 from per-post (reads, likes) totals, written out independently of the hub."""
    n = len(posts)
    reads = [r for r, _ in posts.values()]
    likes = [z for _, z in posts.values()]

    def part(values: list[int]) -> float:
        return (0.40 * math.log(sum(values) + 1) + 0.45 * math.log(sum(values) / n + 1)
                + 0.15 * math.log(max(values) + 1))

    return round((0.8 * part(reads) + 0.2 * part(likes)) ** 2 * 10, 2)


def test_month_ranking_with_change_index_and_no_reach(hub) -> None:
    seed(hub)
    r = hub.get("/api/v1/rankings?period=2026-11&platform=wechat")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["period"] == {"kind": "month", "id": "2026-11", "from": "2026-11-01",
                              "to": "2026-11-30", "previous": {
                                  "kind": "month", "id": "2026-10", "from": "2026-10-01",
                                  "to": "2026-10-31"}}
    [section] = body["platforms"]
    assert section["index"]["label"] == "估算" and section["index"]["formula"] == "wci-2.0"
    ranking = section["ranking"]
    assert [row["name"] for row in ranking] == ["丁", "甲", "丙", "乙"]
    assert [row["rank"] for row in ranking] == [1, 2, 3, 4]
    assert [row["previous_rank"] for row in ranking] == [2, 1, None, 3]
    assert [row["change"] for row in ranking] == [1, -1, None, -1]
    first = ranking[0]
    assert first["index"] == wci({"p-d1": (5000, 300), "p-d2": (2000, 100)})
    assert first["previous_index"] == wci({"p-d0": (800, 20)})
    assert ranking[1]["index"] == wci({"p-a1": (1000, 45), "p-a2": (300, 10)})
    assert (first["posts"], first["reads"], first["max_reads"]) == (2, 7000, 5000)
    assert [a["name"] for a in section["no_reach"]] == ["静"]
    hot = body["hot"]
    assert [h["post"] for h in hot[:3]] == ["p-d1", "p-d2", "p-a1"]
    assert hot[0]["account_name"] == "丁" and hot[0]["title"] == "全省防汛工作会议召开"
    [item] = body["items"]
    assert item["totals"]["reads"] == 6000 and item["accounts"] == 2
    assert [(c["city"], c["reads"]) for c in item["by_city"]] == [("c2", 5000), ("c1", 1000)]
    assert item["by_platform"] == [{"platform": "wechat", "reads": 6000, "likes": 345,
                                    "shares": 70, "comments": 23, "plays": 0}]


def test_org_levels_pool_their_accounts(hub) -> None:
    seed(hub)
    county = hub.get("/api/v1/rankings?period=2026-11&platform=wechat&level=county").json
    ranking = county["platforms"][0]["ranking"]
    # 一县 pools 甲 and 乙 (乙 sits in a department under it).
    assert [(r["org"], r["posts"], r["reads"]) for r in ranking] == [
        ("c2-k1", 2, 7000), ("c1-k1", 3, 1320), ("c1-k2", 1, 200)]
    assert ranking[1]["index"] == wci({"p-a1": (1000, 45), "p-a2": (300, 10),
                                       "p-b1": (20, 1)})
    city = hub.get("/api/v1/rankings?period=2026-11&platform=wechat&level=city").json
    assert [(r["org"], r["reads"]) for r in city["platforms"][0]["ranking"]] == [
        ("c2", 7000), ("c1", 1520)]
    dept = hub.get("/api/v1/rankings?period=2026-11&platform=wechat&level=department").json
    assert [r["org"] for r in dept["platforms"][0]["ranking"]] == ["c1-k1-d"]


def test_week_period(hub) -> None:
    seed(hub)
    body = hub.get("/api/v1/rankings?period=2026-W46&platform=wechat").json
    assert body["period"]["from"] == "2026-11-09" and body["period"]["to"] == "2026-11-15"
    assert body["period"]["previous"]["id"] == "2026-W45"
    assert body["platforms"][0]["ranking"][0]["name"] == "丁"


def test_a_county_user_sees_only_their_county(hub) -> None:
    seed(hub)
    token = make_user(hub, "county-editor", ["editor"], org="c1-k1")["token"]
    r = hub.get("/api/v1/rankings?period=2026-11&platform=wechat", token=token)
    assert r.status_code == 200, r.json
    section = r.json["platforms"][0]
    assert [row["name"] for row in section["ranking"]] == ["甲", "乙"]
    assert section["no_reach"] == []
    assert {h["account_name"] for h in r.json["hot"]} == {"甲", "乙"}
    assert [c["city"] for c in r.json["items"][0]["by_city"]] == ["c1"]
    assert r.json["items"][0]["totals"]["reads"] == 1000
    other = hub.get("/api/v1/rankings?period=2026-11&org=c2-k1", token=token)
    assert other.status_code == 403
    assert error_of(other)["code"] == "forbidden"
    assert hub.get("/api/v1/rankings?period=2026-11&org=c1-k1", token=token).status_code == 200


def test_bad_parameters_are_422_in_the_error_shape(hub) -> None:
    tree(hub)
    for query, field in (("period=2026-13", "period"), ("period=2026-W60", "period"),
                         ("period=last", "period"), ("level=village", "level"),
                         ("platform=myspace", "platform"), ("format=pdf", "format")):
        r = hub.get(f"/api/v1/rankings?{query}")
        assert r.status_code == 422, (query, r.json)
        assert error_of(r)["details"]["field"] == field
    r = hub.get("/api/v1/rankings?org=nowhere")
    assert r.status_code == 404
    error_of(r)


def test_csv_and_xlsx_exports(hub) -> None:
    from openpyxl import load_workbook

    seed(hub)
    r = hub.get("/api/v1/rankings?period=2026-11&platform=wechat&format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[1][:2] == ["平台 (platform)", "排名 (rank)"]
    assert rows[2][:5] == ["wechat", "1", "2", "1", "丁"]
    r = hub.get("/api/v1/rankings?period=2026-11&platform=wechat&format=xlsx")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["排行 ranking", "热门文章 hot", "无传播 no reach"]
    ranking = list(book["排行 ranking"].iter_rows(values_only=True))
    assert ranking[2][4] == "丁" and ranking[2][1] == 1
    assert list(book["无传播 no reach"].iter_rows(values_only=True))[2][1] == "静"
