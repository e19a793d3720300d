"""Reach end to end: push an item to sandbox accounts on the four platforms, move the sandbox's
clock on two days, collect, and find in ``/api/v1/stats/items/<id>`` exactly what the sandbox
generated (read from the sandbox, never typed in); a withdrawn item's figures stop at its
withdrawal. Real PostgreSQL, Redis, sandbox and adapters."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests

from adapters.cityapp import CityAppAdapter
from hub.models import Delivery
from hub.platforms import load, spec

from .reach_support import (
    CHINA,
    FIGURES,
    PLATFORMS,
    cityapp_account,
    collect,
    deliveries,
    published,
    sandbox_now,
    video_item,
)
from .support import ApiRig


def ledger_id(delivery: Delivery, app: str | None) -> str:
    if delivery.platform == "wechat":
        return delivery.remote_id.removeprefix("article:")
    if delivery.platform == "cityapp":
        return f"{app}/{delivery.remote_id}"
    return delivery.remote_id


def truth(rig: ApiRig, platform: str, remote_id: str) -> dict[str, Any]:
    r = requests.get(f"{rig.sandbox.url}/_sandbox/reach/posts/{platform}",
                     params={"remote_id": remote_id}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def summed(days: dict[str, dict[str, int]], last: date) -> dict[str, int]:
    return {n: sum(v[n] for d, v in days.items() if date.fromisoformat(d) <= last)
            for n in FIGURES}


def pin_tiers(rig: ApiRig) -> None:
    """Every sandbox account reaches people (the model leaves one in ten at zero)."""
    state = rig.sandbox.state
    for post in state.ledger.list():
        known = state.accounts.registered(post.platform, post.account) or {}
        state.accounts.register(post.platform, post.account, {**known, "reach_tier": 2.0})


def item_stats(rig: ApiRig, item: str, **query: str) -> dict[str, Any]:
    r = rig.hub.get(f"/api/v1/stats/items/{item}", query_string=query)
    assert r.status_code == 200, r.json
    return r.json


@pytest.mark.parametrize("rig", ["postgres"], indirect=True)
def test_collected_figures_are_the_sandboxs_and_stop_at_withdrawal(rig: ApiRig, monkeypatch):
    # The city app checks webhook timestamps against its own clock, which the test moves on.
    monkeypatch.setattr(CityAppAdapter, "clock", staticmethod(rig.sandbox.state.clock.now))
    accounts = {p: rig.account("c1-k1", p) for p in ("wechat", "weibo", "douyin")}
    accounts["cityapp"] = cityapp_account(rig, "c1-k1")
    kept, withdrawn = video_item(rig, "c1"), video_item(rig, "c1")
    for item in (kept, withdrawn):
        rig.pushed(item, {"accounts": list(accounts.values())})
    rig.drain()
    rows = {item: published(rig, item) for item in (kept, withdrawn)}
    pin_tiers(rig)
    clock = rig.sandbox.state.clock
    clock.freeze()
    # Some hours of reading, within the same China day, then the second item is withdrawn.
    china_now = datetime.fromtimestamp(clock.now(), CHINA)
    to_midnight = (datetime.combine(china_now.date() + timedelta(days=1), datetime.min.time(),
                                    CHINA) - china_now).total_seconds()
    clock.advance(max(60.0, min(10 * 3600.0, to_midnight - 900)))
    r = rig.hub.post(f"/api/v1/items/{withdrawn}/withdraw", {"reason": "内容有误"})
    assert r.status_code == 202, r.json
    rig.drain()
    assert {d.state for d in deliveries(rig, withdrawn)} == {"withdrawn"}
    # Two days on, past 10:00 in China so that WeChat's yesterday is final.
    china_now = datetime.fromtimestamp(clock.now(), CHINA)
    target = datetime.combine(china_now.date() + timedelta(days=2), datetime.min.time(),
                              CHINA) + timedelta(hours=10, minutes=30)
    clock.advance(max(2 * 86400.0, (target - china_now).total_seconds()))

    reports = collect(rig, accounts)
    assert all(reports[p].collected == 1 for p in PLATFORMS), reports
    assert reports["weibo"].calls.get("statuses/count.json") == 1  # both posts in one call

    now = sandbox_now(rig)
    today = now.astimezone(CHINA).date()
    latest = {p: load(spec(p).reach).latest_day(now) for p in PLATFORMS}
    apps = {p.platform: p.account for p in rig.sandbox.state.ledger.list()}
    first_day = min(d.published_at for d in rows[kept]).astimezone(CHINA).date()
    stats = item_stats(rig, kept, **{"from": first_day.isoformat(), "to": today.isoformat()})
    by_delivery = {a["delivery"]: a for a in stats["by_account"]}
    expected_total = dict.fromkeys(FIGURES, 0)
    for delivery in rows[kept]:
        generated = truth(rig, delivery.platform, ledger_id(delivery, apps.get("cityapp")))
        want = (generated["total"] if delivery.platform in ("weibo", "douyin")
                else summed(generated["days"], latest[delivery.platform]))
        got = {n: by_delivery[delivery.id][n] for n in FIGURES}
        assert got == want, delivery.platform
        assert any(want.values()), delivery.platform  # the comparison is not of zeros
        for n in FIGURES:
            expected_total[n] += want[n]
    assert {n: stats["totals"][n] for n in FIGURES} == expected_total
    assert {p["platform"] for p in stats["by_platform"]} == set(PLATFORMS)
    assert [o["org"] for o in stats["by_org"]] == ["c1-k1"]
    wechat = next(d for d in rows[kept] if d.platform == "wechat")
    wechat_days = truth(rig, "wechat", ledger_id(wechat, None))["days"]
    wechat_stats = item_stats(rig, kept, platform="wechat",
                              **{"from": first_day.isoformat(), "to": today.isoformat()})
    assert {d["day"]: d["reads"] for d in wechat_stats["daily"]} == {
        d: v["reads"] for d, v in wechat_days.items()
        if date.fromisoformat(d) <= latest["wechat"]}

    # The withdrawn item: nothing booked after the withdrawal day; WeChat's figures are the
    # sandbox's, frozen when the post was deleted.
    span = {"from": first_day.isoformat(), "to": (today + timedelta(days=2)).isoformat()}
    gone = item_stats(rig, withdrawn, **span)
    stop = max(d.withdrawn_at for d in deliveries(rig, withdrawn)).astimezone(CHINA).date()
    assert all(date.fromisoformat(d["day"]) <= stop for d in gone["daily"])
    assert all(a["withdrawn"] for a in gone["by_account"])
    wechat_gone = next(d for d in rows[withdrawn] if d.platform == "wechat")
    generated = truth(rig, "wechat", ledger_id(wechat_gone, None))
    assert generated["state"] == "deleted"
    mine = next(a for a in gone["by_account"] if a["delivery"] == wechat_gone.id)
    assert {n: mine[n] for n in FIGURES} == generated["total"]
    before = {a["delivery"]: {n: a[n] for n in FIGURES} for a in gone["by_account"]}
    clock.advance(86400)
    collect(rig, accounts)
    again = item_stats(rig, withdrawn, **span)
    assert {a["delivery"]: {n: a[n] for n in FIGURES} for a in again["by_account"]} == before
