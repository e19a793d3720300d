"""The emulators' reach figures over HTTP: the model (rising, flattening, stopping at deletion,
some accounts at zero, some far ahead) and each platform's availability rules and errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from sandbox.core import LedgerPost
from sandbox.reach import CHINA, ReachModel, day_start

APPID = "wx00000000000000d1"


def at_china(sandbox, day_offset: int, hour: float) -> date:
    """Move the (frozen) sandbox clock to ``hour`` o'clock China time, ``day_offset`` days on;
    returns that day."""
    clock = sandbox.state.clock
    clock.freeze()
    today = datetime.fromtimestamp(clock.now(), CHINA).date()
    target = day_start(today + timedelta(days=day_offset)) + hour * 3600
    clock.advance(max(target - clock.now(), 0))
    return today + timedelta(days=day_offset)


def wechat_token(sandbox) -> str:
    r = requests.post(f"{sandbox.url}/wechat/cgi-bin/stable_token", json={
        "grant_type": "client_credential", "appid": APPID, "secret": "s3cr3t-d1"}, timeout=5)
    return r.json()["access_token"]


def cube(sandbox, token: str, name: str, begin: date, end: date | None = None) -> dict:
    r = requests.post(f"{sandbox.url}/wechat/datacube/{name}", params={"access_token": token},
                      json={"begin_date": begin.isoformat(),
                            "end_date": (end or begin).isoformat()}, timeout=5)
    assert r.status_code == 200
    return r.json()


def outside(sandbox, platform: str, account: str, title: str = "站外发布") -> dict:
    r = requests.post(f"{sandbox.url}/_sandbox/reach/outside/{platform}/{account}",
                      json={"title": title}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def test_reads_rise_flatten_and_stop_at_deletion(sandbox):
    state = sandbox.state
    state.clock.freeze()
    state.accounts.register("wechat", "wxmodel", {"reach_tier": 1.0})
    post = state.ledger.create("wechat", "wxmodel", remote_id="m1", title="t", text="x")
    model = ReachModel(state)
    state.clock.advance(200 * 3600)
    hours = [model.total(post, post.created_at + h * 3600).reads for h in (1, 6, 24, 48, 96, 200)]
    assert hours == sorted(hours) and hours[0] > 0
    assert hours[1] - hours[0] > hours[5] - hours[4]  # flattening
    post = state.ledger.create("wechat", "wxmodel", remote_id="m2", title="t2", text="x2")
    state.clock.advance(24 * 3600)
    state.ledger.delete("wechat", "m2")
    frozen = model.total(post)
    state.clock.advance(5 * 86400)
    assert model.total(post) == frozen
    assert sum(d["reads"] for d in model.days(post).values()) == frozen.reads


def test_some_accounts_reach_nobody_and_some_are_far_ahead(sandbox):
    model = ReachModel(sandbox.state)
    tiers = [model.tier("weibo", f"acct{n}") for n in range(600)]
    assert 30 < tiers.count(0.0) < 90
    assert 20 < sum(t >= 15 for t in tiers) < 70
    assert tiers == [model.tier("weibo", f"acct{n}") for n in range(600)]  # deterministic


def test_wechat_datacube_availability_and_errors(sandbox):
    token = wechat_token(sandbox)
    sandbox.state.accounts.register("wechat", APPID, {"reach_tier": 1.0})
    post = outside(sandbox, "wechat", APPID, "站外的一篇")
    published = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00")).astimezone(
        CHINA).date()
    day = at_china(sandbox, 1, 7.5)  # the next morning, before 08:00
    assert day == published + timedelta(days=1)
    token = wechat_token(sandbox)  # tokens live two hours on the sandbox clock
    early = cube(sandbox, token, "getarticletotaldetail", published)
    assert early["list"] == [] and early["is_delay"] is True
    at_china(sandbox, 0, 9)
    provisional = cube(sandbox, token, "getarticletotaldetail", published)
    assert provisional["is_delay"] is True and provisional["list"]
    at_china(sandbox, 0, 11)
    token = wechat_token(sandbox)
    final = cube(sandbox, token, "getarticletotaldetail", published)
    assert final["is_delay"] is False
    [entry] = final["list"]
    assert entry["title"] == "站外的一篇" and entry["msgid"].endswith("_1")
    reads = entry["detail_list"][0]["read_user"]
    assert reads > provisional["list"][0]["detail_list"][0]["read_user"] > 0
    truth = requests.get(f"{sandbox.url}/_sandbox/reach/posts/wechat",
                         params={"remote_id": post["remote_id"]}, timeout=5).json()
    assert reads == truth["days"][published.isoformat()]["reads"]
    # Today, a span over the maximum, a malformed date; then an unverified account.
    assert cube(sandbox, token, "getbizsummary", day)["errcode"] == 61501
    assert cube(sandbox, token, "getarticletotaldetail", published - timedelta(days=1),
                published)["errcode"] == 61501
    assert cube(sandbox, token, "getusersummary", published - timedelta(days=7),
                published)["errcode"] == 61501
    week = cube(sandbox, token, "getusercumulate", published - timedelta(days=6), published)
    assert len(week["list"]) == 7
    r = requests.post(f"{sandbox.url}/wechat/datacube/getbizsummary",
                      params={"access_token": token},
                      json={"begin_date": "2026-02-30", "end_date": "2026-02-30"}, timeout=5)
    assert r.json()["errcode"] == 61500
    sandbox.state.accounts.register("wechat", APPID, {"verified": False})
    assert cube(sandbox, token, "getbizsummary", published)["errcode"] == 48001


def test_weibo_count_takes_100_ids_and_leaves_out_unknown_and_deleted(sandbox):
    token = "2.00reachsandboxtoken0123456789"
    uid = requests.get(f"{sandbox.url}/weibo/2/statuses/user_timeline.json",
                       params={"access_token": token}, timeout=5).json()
    assert uid["statuses"] == []
    from sandbox.weibo import uid_for_token

    account = uid_for_token(token)
    sandbox.state.accounts.register("weibo", account, {"reach_tier": 3.0})
    kept = outside(sandbox, "weibo", account, "留下的")
    gone = outside(sandbox, "weibo", account, "删掉的")
    sandbox.state.clock.advance(6 * 3600)
    sandbox.state.ledger.delete("weibo", gone["remote_id"])
    ids = [kept["remote_id"], gone["remote_id"], "1"]
    r = requests.get(f"{sandbox.url}/weibo/2/statuses/count.json",
                     params={"access_token": token, "ids": ",".join(ids)}, timeout=5)
    assert r.status_code == 200
    [row] = r.json()
    assert str(row["id"]) == kept["remote_id"] and row["comments"] >= 0 and row["reposts"] > 0
    too_many = ",".join(str(n) for n in range(101))
    r = requests.get(f"{sandbox.url}/weibo/2/statuses/count.json",
                     params={"access_token": token, "ids": too_many}, timeout=5)
    assert r.status_code == 400 and r.json()["error_code"] == 10017
    timeline = requests.get(f"{sandbox.url}/weibo/2/statuses/user_timeline.json",
                            params={"access_token": token}, timeout=5).json()["statuses"]
    assert timeline[0]["reposts_count"] == row["reposts"]


@pytest.mark.parametrize("date_type, code", [("7", 0), ("15", 0), ("30", 0), ("8", 2100005)])
def test_douyin_fans_date_types(sandbox, date_type, code):
    open_id, token = "dy-reach-1", "act.reach.0001"
    r = requests.get(f"{sandbox.url}/douyin/data/external/user/fans/",
                     params={"open_id": open_id, "date_type": date_type},
                     headers={"access-token": token}, timeout=5)
    data = r.json()["data"]
    assert data["error_code"] == code
    if code == 0:
        rows = data["result_list"]
        assert len(rows) == int(date_type)
        yesterday = datetime.now(UTC).astimezone(CHINA).date() - timedelta(days=1)
        assert rows[-1]["date"] == yesterday.isoformat()
        assert all(row["total_fans"] >= 0 and row["new_fans"] >= 0 for row in rows)


def test_douyin_scopes_and_the_30_day_window(sandbox):
    from sandbox.douyin import settings_for, world_for

    open_id, token = "dy-reach-2", "act.reach.0002"
    headers = {"access-token": token}
    requests.get(f"{sandbox.url}/douyin/api/douyin/v1/video/video_list/",
                 params={"open_id": open_id}, headers=headers, timeout=5)
    item = outside(sandbox, "douyin", open_id)
    base = requests.get(f"{sandbox.url}/douyin/data/external/item/base/",
                        params={"open_id": open_id, "item_id": item["remote_id"]},
                        headers=headers, timeout=5).json()["data"]
    assert base["error_code"] == 0 and "total_play" in base["result"]
    world_for(sandbox.state).items[item["remote_id"]].created_at -= 31 * 86400  # made long ago
    old = requests.get(f"{sandbox.url}/douyin/data/external/item/base/",
                       params={"open_id": open_id, "item_id": item["remote_id"]},
                       headers=headers, timeout=5).json()["data"]
    assert old["error_code"] == 0 and old["result"] == {}
    settings_for(sandbox.state).scopes = ("video.create.bind",)
    narrow = requests.get(f"{sandbox.url}/douyin/data/external/user/fans/",
                          params={"open_id": "dy-reach-3", "date_type": "7"},
                          headers={"access-token": "act.reach.0003"}, timeout=5).json()["data"]
    assert narrow["error_code"] == 2100007


def test_city_app_stats_are_signed_and_per_day(sandbox):
    r = requests.get(f"{sandbox.url}/cityapp/webhook/nobody/stats", params={"day": "2026-12-01"},
                     timeout=5)
    assert r.status_code in (400, 404)


def test_ledger_posts_have_no_figures_before_they_exist(sandbox):
    state = sandbox.state
    post = LedgerPost("weibo", "a", "r", "t", "x", created_at=state.clock.now() + 3600)
    assert not ReachModel(state).total(post)
