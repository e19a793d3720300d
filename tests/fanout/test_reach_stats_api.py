"""GET /api/v1/stats/items/<id> and /stats/accounts/<id>: sums, breakdowns, periods, bad
input, and org scope (a county never sees another org's figures), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from hub.models import Account, AccountDay, Delivery, PostDay
from hub.models.reach import partition_ddl

from .support import ApiRig

DAY1, DAY2 = date(2026, 11, 30), date(2026, 12, 1)


def seed(rig: ApiRig) -> tuple[str, dict[str, str]]:
    """An item of city c1 on one account in each of its counties, with two days of figures."""
    accounts = {org: rig.account(org) for org in ("c1-k1", "c1-k2")}
    item = rig.item("c1")
    rig.pushed(item, {"accounts": list(accounts.values())})
    now = datetime.now(UTC)
    with rig.hub.runtime.db.session() as session:
        if session.get_bind().dialect.name == "postgresql":
            for month in (DAY1, DAY2):
                session.connection().exec_driver_sql(partition_ddl(month))
        orgs = dict(session.execute(select(Account.id, Account.org_id)).all())
        for n, (_org, account) in enumerate(sorted(accounts.items()), start=1):
            delivery = session.scalars(select(Delivery).where(
                Delivery.item_id == item, Delivery.account_id == account)).one()
            for day, reads in ((DAY1, 100 * n), (DAY2, 10 * n)):
                session.add(PostDay(post_id=delivery.id, day=day, delivery_id=delivery.id,
                                    item_id=item, account_id=account, org_id=orgs[account],
                                    platform="wechat", reads=reads, likes=n, shares=0,
                                    comments=0, plays=0, final=True, collected_at=now))
                session.add(AccountDay(account_id=account, day=day, org_id=orgs[account],
                                       platform="wechat", followers=1000 * n + day.day,
                                       followers_gained=3, followers_lost=1, posts=1,
                                       reads=reads, likes=n, shares=0, comments=0, plays=0,
                                       final=True, collected_at=now))
    return item, accounts


def get(rig: ApiRig, path: str, token: str | None = None, **query: str):
    return rig.hub.get(path, query_string={"from": DAY1.isoformat(), "to": DAY2.isoformat(),
                                           **query}, token=token)


def test_item_and_account_figures_within_the_callers_subtree(rig: ApiRig):
    item, accounts = seed(rig)
    whole = get(rig, f"/api/v1/stats/items/{item}")
    assert whole.status_code == 200, whole.json
    assert whole.json["totals"]["reads"] == 100 + 10 + 200 + 20
    assert whole.json["totals"]["accounts"] == 2
    assert [o["org"] for o in whole.json["by_org"]] == ["c1-k1", "c1-k2"]
    assert whole.json["daily"] == [
        {"day": "2026-11-30", "reads": 300, "likes": 3, "shares": 0, "comments": 0, "plays": 0},
        {"day": "2026-12-01", "reads": 30, "likes": 3, "shares": 0, "comments": 0, "plays": 0}]
    assert whole.json["by_platform"][0]["platform"] == "wechat"
    one_day = get(rig, f"/api/v1/stats/items/{item}", to=DAY1.isoformat())
    assert one_day.json["totals"]["reads"] == 300
    assert get(rig, f"/api/v1/stats/items/{item}", platform="douyin").json["totals"][
        "reads"] == 0

    city = rig.token("c1", "editor")
    assert get(rig, f"/api/v1/stats/items/{item}", token=city).json["totals"]["reads"] == 330
    # Another city, whose accounts did not carry the item, cannot read it at all.
    r = get(rig, f"/api/v1/stats/items/{item}", token=rig.token("c2", "editor"))
    assert r.status_code == 403, r.json
    assert r.json["error"]["code"]
    county = rig.token("c1-k1", "editor")
    mine = get(rig, f"/api/v1/stats/accounts/{accounts['c1-k1']}", token=county)
    assert mine.status_code == 200, mine.json
    assert mine.json["followers"] == 1000 + DAY2.day
    assert mine.json["totals"]["reads"] == 110 and mine.json["totals"]["posts"] == 2
    assert [d["day"] for d in mine.json["daily"]] == ["2026-11-30", "2026-12-01"]
    theirs = get(rig, f"/api/v1/stats/accounts/{accounts['c1-k2']}", token=county)
    assert theirs.status_code == 403, theirs.json


def test_bad_input_is_a_4xx(rig: ApiRig):
    item, accounts = seed(rig)
    for query in ({"from": "2026-13-01"}, {"to": "yesterday"},
                  {"from": "2026-12-02", "to": "2026-12-01"},
                  {"from": "2024-01-01", "to": "2026-12-01"}):
        r = rig.hub.get(f"/api/v1/stats/accounts/{accounts['c1-k1']}", query_string=query)
        assert r.status_code == 422, (query, r.json)
        assert r.json["error"]["code"]
    r = get(rig, f"/api/v1/stats/items/{item}", platform="myspace")
    assert r.status_code == 422
    assert get(rig, "/api/v1/stats/items/itm_nope").status_code == 404
    assert get(rig, "/api/v1/stats/accounts/acc_nope").status_code == 404


def test_a_county_sees_an_item_from_above_on_its_own_accounts_only(rig: ApiRig):
    """A city's item pushed to two counties: each county (no item.read on the city) sees the
    item's reach on its own accounts, never the other county's; the chart likewise."""
    item, accounts = seed(rig)
    for org, n in (("c1-k1", 1), ("c1-k2", 2)):
        for role in ("editor", "operator"):
            r = get(rig, f"/api/v1/stats/items/{item}", token=rig.token(org, role))
            assert r.status_code == 200, (org, role, r.json)
            assert r.json["totals"]["reads"] == 110 * n
            assert r.json["totals"]["accounts"] == 1
            assert [o["org"] for o in r.json["by_org"]] == [org]
            assert [a["account"] for a in r.json["by_account"]] == [accounts[org]]
            assert [p["reads"] for p in r.json["by_platform"]] == [110 * n]
            assert [d["reads"] for d in r.json["daily"]] == [100 * n, 10 * n]
    # A county none of whose accounts carried it: 403, as for another city.
    r = get(rig, f"/api/v1/stats/items/{item}", token=rig.token("c1-empty", "editor"))
    assert r.status_code == 403, r.json
