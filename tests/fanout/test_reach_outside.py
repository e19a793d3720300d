"""Posts made outside yunchu: listed by the reach collection, stored once, counted in the
account's posts, and an account that posts directly on the platform is not 超期未更新. Real
PostgreSQL, Redis, sandbox and adapters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from hub.models import Account, ExternalPost

from .reach_support import CHINA, collect, published, sandbox_now, video_item
from .support import ApiRig

PLATFORMS = ("wechat", "weibo", "douyin")


def problems(rig: ApiRig, account: str) -> list[str]:
    r = rig.hub.get(f"/api/v1/accounts/{account}")
    assert r.status_code == 200, r.json
    return r.json["inspection"]["problems"]


def make_stale(rig: ApiRig, accounts: list[str], days: int = 30) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=days)
    with rig.hub.runtime.db.session() as session:
        for account in session.scalars(select(Account).where(Account.id.in_(accounts))):
            account.created_at = account.last_published_at = long_ago


@pytest.mark.parametrize("rig", ["postgres"], indirect=True)
def test_outside_posts_count_and_keep_the_account_off_not_updated(rig: ApiRig):
    accounts = {p: rig.account("c1-k1", p) for p in PLATFORMS}
    item = video_item(rig, "c1")
    rig.pushed(item, {"accounts": list(accounts.values())})
    rig.drain()
    published(rig, item)
    names = {post.platform: post.account for post in rig.sandbox.state.ledger.list()}

    first = collect(rig, accounts)
    assert all(first[p].outside_posts == 0 for p in PLATFORMS), first  # yunchu's own post

    make_stale(rig, list(accounts.values()))
    assert all("not_updated" in problems(rig, a) for a in accounts.values())
    for platform in PLATFORMS:
        r = requests.post(f"{rig.sandbox.url}/_sandbox/reach/outside/{platform}/{names[platform]}",
                          json={"title": "站外发布的防汛提示"}, timeout=5)
        assert r.status_code == 200, r.text
    second = collect(rig, accounts)
    assert all(second[p].outside_posts == 1 for p in PLATFORMS), second
    assert all("not_updated" not in problems(rig, a) for a in accounts.values())
    again = collect(rig, accounts)
    assert all(again[p].outside_posts == 0 for p in PLATFORMS)  # stored once
    with rig.hub.runtime.db.session() as session:
        outside = list(session.scalars(select(ExternalPost)))
    assert sorted(p.platform for p in outside) == sorted(PLATFORMS)
    assert {p.title for p in outside if p.platform == "wechat"} == {"站外发布的防汛提示"}

    # The next day (past 10:00 in China, so WeChat has the day): two posts that day, one
    # through yunchu, one outside it.
    clock = rig.sandbox.state.clock
    clock.freeze()
    china = datetime.fromtimestamp(clock.now(), CHINA)
    day = china.date()
    target = datetime.combine(day + timedelta(days=1), datetime.min.time(), CHINA) + timedelta(
        hours=10, minutes=30)
    clock.advance((target - china).total_seconds())
    collect(rig, accounts)
    assert sandbox_now(rig).astimezone(CHINA).date() == day + timedelta(days=1)
    for platform, account in accounts.items():
        r = rig.hub.get(f"/api/v1/stats/accounts/{account}",
                        query_string={"from": day.isoformat(), "to": day.isoformat()})
        assert r.status_code == 200, r.json
        assert r.json["totals"]["posts"] == 2, (platform, r.json)
