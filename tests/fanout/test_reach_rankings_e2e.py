"""Reach rankings end to end: push to sandbox WeChat and Weibo accounts in two counties (and
post once outside yunchu), move the sandbox's clock on two days, collect, and find in
``GET /api/v1/rankings`` the 传播力 index and order that an independent computation from the
sandbox's own numbers gives (read from the sandbox, never typed in). Real PostgreSQL, Redis,
sandbox and adapters."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests

from hub.fanout.executor import Executor
from hub.fanout.loop import LoopThread
from hub.platforms import load, spec
from hub.services.reach import runner

from .support import ApiRig
from .test_reach_e2e import (
    CHINA,
    FIGURES,
    ledger_id,
    pin_tiers,
    published,
    sandbox_now,
    truth,
    video_item,
)

ACCOUNTS = (("wechat", "c1-k1"), ("wechat", "c2-k1"), ("weibo", "c1-k1"), ("weibo", "c2-k1"))


def collect(rig: ApiRig, ids: dict[str, list[str]]) -> None:
    loop = LoopThread()
    executor = Executor(rig.hub.runtime, "reach-rank-test")
    loop.run(executor.start())
    try:
        for platform, accounts in ids.items():
            report = loop.run(runner.run(executor, platform, accounts, now=sandbox_now(rig)))
            assert report.collected == len(accounts), report
    finally:
        loop.run(executor.close())
        loop.stop()


def period_figures(rig: ApiRig, platform: str, remote_id: str, start: date, latest: date,
                   today: date) -> dict[str, int]:
    """What the hub should book for one post in the month: WeChat's final days of the month
    (up to the last day datacube gives); Weibo's running total, booked on the collection day."""
    generated = truth(rig, platform, remote_id)
    if platform == "weibo":
        return generated["total"] if today >= start else dict.fromkeys(FIGURES, 0)
    return {n: sum(v[n] for d, v in generated["days"].items()
                   if start <= date.fromisoformat(d) <= latest) for n in FIGURES}


def index_of(platform: str, posts: list[dict[str, int]]) -> float:
    """WCI 2.0 (WeChat) and the provincial BCI (Weibo), written out from engagement.md."""
    posts = [p for p in posts if any(p.values())]  # a post with nothing is never booked
    n = len(posts)
    if platform == "weibo":
        total = {f: sum(p[f] for p in posts) for f in FIGURES}
        w2 = (0.4 * math.log(total["shares"] + 1) + 0.4 * math.log(total["comments"] + 1)
              + 0.2 * math.log(total["likes"] + 1))
        return round((0.2 * math.log(n + 1) + 0.8 * w2) * 160, 2)

    def part(figure: str) -> float:
        values = [p[figure] for p in posts]
        return (0.40 * math.log(sum(values) + 1) + 0.45 * math.log(sum(values) / n + 1)
                + 0.15 * math.log(max(values) + 1))

    return round((0.8 * part("reads") + 0.2 * part("likes")) ** 2 * 10, 2)


@pytest.mark.parametrize("rig", ["postgres"], indirect=True)
def test_index_and_ranking_are_the_sandboxs(rig: ApiRig) -> None:
    accounts = {(p, org): rig.account(org, p) for p, org in ACCOUNTS}
    first, second = video_item(rig, "c1"), video_item(rig, "c1")
    rig.pushed(first, {"accounts": list(accounts.values())})
    rig.pushed(second, {"accounts": [accounts[("wechat", "c1-k1")],
                                     accounts[("weibo", "c2-k1")]]})
    rig.drain()
    rows = published(rig, first) + published(rig, second)
    pin_tiers(rig)
    # One post made directly on the platform by the c2-k1 WeChat account.
    wechat_b = next(d for d in rows if d.account_id == accounts[("wechat", "c2-k1")])
    app_b = truth(rig, "wechat", ledger_id(wechat_b, None))["account"]
    r = requests.post(f"{rig.sandbox.url}/_sandbox/reach/outside/wechat/{app_b}",
                      json={"title": "站外发布的防汛提示"}, timeout=5)
    assert r.status_code == 200, r.text
    outside = r.json()["remote_id"]
    clock = rig.sandbox.state.clock
    clock.freeze()
    china_now = datetime.fromtimestamp(clock.now(), CHINA)
    target = datetime.combine(china_now.date() + timedelta(days=2), datetime.min.time(),
                              CHINA) + timedelta(hours=10, minutes=30)
    clock.advance(max(2 * 86400.0, (target - china_now).total_seconds()))
    collect(rig, {p: [accounts[(q, org)] for q, org in ACCOUNTS if q == p]
                  for p in ("wechat", "weibo")})

    now = sandbox_now(rig)
    today = now.astimezone(CHINA).date()
    month_start = today.replace(day=1)
    expected: dict[str, dict[str, Any]] = {}
    for platform in ("wechat", "weibo"):
        latest = load(spec(platform).reach).latest_day(now)
        per_account: dict[str, list[dict[str, int]]] = {}
        for delivery in rows:
            if delivery.platform == platform:
                per_account.setdefault(delivery.account_id, []).append(period_figures(
                    rig, platform, ledger_id(delivery, None), month_start, latest, today))
        if platform == "wechat":
            per_account[wechat_b.account_id].append(period_figures(
                rig, "wechat", outside, month_start, latest, today))
        expected[platform] = {a: {"index": index_of(platform, posts),
                                  "posts": sum(1 for p in posts if any(p.values())),
                                  **{f: sum(p[f] for p in posts) for f in FIGURES}}
                              for a, posts in per_account.items()}
        assert all(e["index"] > 0 for e in expected[platform].values())

    r = rig.hub.get("/api/v1/rankings", query_string={"period": f"{today:%Y-%m}"})
    assert r.status_code == 200, r.json
    sections = {s["platform"]: s for s in r.json["platforms"]}
    for platform, want in expected.items():
        ranking = sections[platform]["ranking"]
        got = {row["id"]: {"index": row["index"], "posts": row["posts"],
                           **{f: row[f] for f in FIGURES}} for row in ranking}
        assert got == want, platform
        order = sorted(want, key=lambda a: (-want[a]["index"], -want[a]["reads"]))
        assert [row["id"] for row in ranking] == order
        assert [row["rank"] for row in ranking] == [1, 2]
    # The outside post is among the month's hot articles, with the sandbox's figures.
    hot = {h["post"]: h for h in r.json["hot"]}
    outside_hot = [h for h in hot.values() if h["outside"]]
    assert len(outside_hot) == 1 and outside_hot[0]["account"] == wechat_b.account_id
    assert outside_hot[0]["reads"] == period_figures(
        rig, "wechat", outside, month_start, load(spec("wechat").reach).latest_day(now),
        today)["reads"]
    # Org level: each county pools its two accounts' WeChat posts.
    r = rig.hub.get("/api/v1/rankings", query_string={
        "period": f"{today:%Y-%m}", "platform": "wechat", "level": "county"})
    counties = {row["org"]: row for row in r.json["platforms"][0]["ranking"]}
    assert set(counties) == {"c1-k1", "c2-k1"}
    by_org = {accounts[("wechat", org)]: org for org in ("c1-k1", "c2-k1")}
    for account, want in expected["wechat"].items():
        assert counties[by_org[account]]["index"] == want["index"]  # one account each
