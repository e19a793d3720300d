"""GET /api/v1/rankings: 传播力 rankings per period, org level and platform, scoped to the
caller's subtree; CSV/XLSX export; bad parameters are 422s in the error shape."""

from __future__ import annotations

import csv
import io

from tests.hub.helpers import error_of
from tests.hub.reach_helpers import seed, tree, wci
from tests.hub.security.support import make_user


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


def test_rollups_are_rebuilt_when_stale_and_kept_once_settled(hub) -> None:
    from datetime import UTC, date, datetime, timedelta

    from hub.models import PostDay
    from hub.security.auth import Principal
    from hub.services.reach import periods, rankings

    data = seed(hub)
    province = Principal(user_id="t", name="t", roles=("admin",), org_id=None, org_path=None)
    november = periods.parse("2026-11", datetime.now(UTC))
    now = datetime(2026, 11, 20, 4, tzinfo=UTC)

    def leader(at: datetime) -> str:
        with hub.runtime.db.session() as session:
            answer = rankings.rankings(session, province, period=november,
                                       platform="wechat", now=at, max_age_s=900)
        return answer["platforms"][0]["ranking"][0]["name"]

    assert leader(now) == "丁"
    with hub.runtime.db.session() as session:  # 丙's post takes off
        session.execute(PostDay.__table__.insert(), [{
            "post_id": "p-c9", "day": date(2026, 11, 20), "account_id": data["accounts"]["丙"],
            "org_id": data["rows"][4]["org_id"], "platform": "wechat", "reads": 90000,
            "likes": 9000, "shares": 900, "comments": 90, "plays": 0, "final": True}])
    assert leader(now + timedelta(seconds=600)) == "丁"  # the build is 10 minutes old
    assert leader(now + timedelta(seconds=901)) == "丙"  # rebuilt
    settled = datetime(2027, 1, 10, tzinfo=UTC)
    assert leader(settled) == "丙"
    with hub.runtime.db.session() as session:
        session.execute(PostDay.__table__.delete().where(PostDay.post_id == "p-c9"))
    # Built after the month settled: final, whatever its age.
    assert leader(settled + timedelta(days=300)) == "丙"


def test_a_stale_rollup_is_served_while_a_worker_rebuilds_it(hub, monkeypatch) -> None:
    from datetime import UTC, date, datetime, timedelta

    import redis

    from hub.fanout.queueing import MAINTENANCE_QUEUE, queue
    from hub.models import PostDay
    from hub.services.reach import periods, rollup

    data = seed(hub)
    november = periods.parse("2026-11", datetime.now(UTC))
    built = datetime(2026, 11, 20, 4, tzinfo=UTC)
    with hub.runtime.db.session() as session:
        rollup.ensure(session, november, built, 900)
        session.execute(PostDay.__table__.insert(), [{
            "post_id": "p-c9", "day": date(2026, 11, 20), "account_id": data["accounts"]["丙"],
            "org_id": data["rows"][4]["org_id"], "platform": "wechat", "reads": 90000,
            "likes": 9000, "shares": 900, "comments": 90, "plays": 0, "final": True}])
    connection = redis.Redis.from_url(hub.runtime.settings.redis_url)
    connection.delete(rollup.REFRESH_KEY.format(kind="month", start="2026-11-01"))
    queue(connection, MAINTENANCE_QUEUE).empty()
    queued: list = []
    with hub.runtime.db.session() as session:
        rollup.ensure(session, november, built + timedelta(hours=1), 900,
                      on_stale=lambda p: queued.append(
                          rollup.enqueue_refresh(connection, p, 900)))
        assert [r.reads for r in session.query(rollup.PeriodAccount).filter_by(
            account_id=data["accounts"]["丙"])] == [200]  # served as it was
    assert queued == [True]
    jobs = queue(connection, MAINTENANCE_QUEUE).jobs
    assert [(j.func_name, list(j.args)) for j in jobs] == [
        (rollup.REFRESH_JOB, ["month", "2026-11-01"])]
    # Another stale ranking within the max age enqueues nothing more.
    assert rollup.enqueue_refresh(connection, november, 900) is False
    # The job, as a worker runs it (its executor stands in with the hub's runtime).
    from types import SimpleNamespace

    from hub.fanout import jobs as job_functions

    monkeypatch.setitem(job_functions._state, "executor", SimpleNamespace(runtime=hub.runtime))
    assert job_functions.refresh_reach_rollup(*jobs[0].args) == {"period": "2026-11"}
    with hub.runtime.db.session() as session:
        assert [r.reads for r in session.query(rollup.PeriodAccount).filter_by(
            account_id=data["accounts"]["丙"])] == [90200]


def test_the_rollup_stores_each_accounts_index_and_a_ranking_reads_it(hub) -> None:
    """The build computes each account's index once, with the version and formula; a row with
    none (built before 0016) or another version's is computed on the fly, and a rollup without
    item totals (before 0016) ranks items from its item rows: the same answer."""
    from datetime import UTC, datetime

    from sqlalchemy import delete, update

    from hub.models import PeriodAccount, PeriodItemTotal
    from hub.security.auth import Principal
    from hub.services.reach import index, periods, rankings

    data = seed(hub)
    province = Principal(user_id="t", name="t", roles=("admin",), org_id=None, org_path=None)
    november = periods.parse("2026-11", datetime.now(UTC))
    now = datetime(2026, 11, 20, 4, tzinfo=UTC)

    def answer() -> dict:
        with hub.runtime.db.session() as session:
            return rankings.rankings(session, province, period=november, now=now,
                                     max_age_s=900)

    first = answer()
    current = index.current()
    with hub.runtime.db.session() as session:
        stored = {r.account_id: r for r in session.query(PeriodAccount).filter_by(
            kind="month", start=november.start)}
    leader = stored[data["accounts"]["丁"]]
    assert (leader.index_version, leader.index_formula) == (current.version, "wci-2.0")
    assert leader.reach_index == wci({"p-d1": (5000, 300), "p-d2": (2000, 100)})
    wechat = next(p for p in first["platforms"] if p["platform"] == "wechat")
    assert wechat["ranking"][0]["index"] == leader.reach_index
    assert wechat["index"] == {"version": current.version, "formula": "wci-2.0",
                               "name": current.formula("wechat").name, "label": "估算",
                               "confirmed": False}
    assert first["items"]  # the province's top items, from the per-item totals
    with hub.runtime.db.session() as session:  # a stale version, none at all, no item totals
        session.execute(delete(PeriodItemTotal))
        session.execute(update(PeriodAccount).where(PeriodAccount.account_id == leader.account_id)
                        .values(reach_index=999999.0, index_version="1999.01-1"))
        session.execute(update(PeriodAccount).where(
            PeriodAccount.account_id != leader.account_id).values(
            reach_index=None, index_version=None, index_formula=None))
    assert answer() == first
