"""Reach figures the rankings tests (API, admin pages, browser) share: a small tree, five
WeChat accounts and two months of post days written straight into reach_post_days."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from hub.models import PostDay
from hub.services.reach.store import _ensure_partitions
from tests.hub.helpers import make_account, make_org
from tests.hub.security.support import article

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
