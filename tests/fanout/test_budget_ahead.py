"""A batch asks for its calls' rate budgets in one trip before the calls start
(``Executor._budget_ahead``): a withdrawal makes no budget trip per call, a grant that went
stale before its call is asked for again, and a budget the platform's rate refuses ahead is
asked for by its call as before. The hub on SQLite and PostgreSQL, Redis, the sandbox and the
real worker (burst mode)."""

from __future__ import annotations

from hub.fanout import executor as executor_module
from hub.fanout.ratelimit import Limiter

ORGS = ("c1-k1", "c1-k2", "c2-k1", "c2")


def _published(rig) -> str:
    return rig.live_everywhere(ORGS, ("weibo", "wechat"))


def _count_trips(monkeypatch) -> dict[str, list[int]]:
    trips: dict[str, list[int]] = {"ahead": [], "per_call": []}
    reserve, reserve_many = Limiter.reserve, Limiter.reserve_many

    async def one(self, platform, app, account):
        trips["per_call"].append(1)
        return await reserve(self, platform, app, account)

    async def many(self, wanted):
        trips["ahead"].append(len(wanted))
        return await reserve_many(self, wanted)

    monkeypatch.setattr(Limiter, "reserve", one)
    monkeypatch.setattr(Limiter, "reserve_many", many)
    return trips


def _withdrawn(rig, item: str) -> None:
    done = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert done.status_code == 202, done.json
    rig.drain()
    assert rig.live_posts() == 0


def test_a_withdrawal_asks_for_its_budgets_once_per_batch_not_per_call(rig, monkeypatch):
    item = _published(rig)
    trips = _count_trips(monkeypatch)
    _withdrawn(rig, item)
    assert sorted(trips["ahead"]) == [len(ORGS), len(ORGS)]  # one batch per platform
    assert trips["per_call"] == []


def test_a_stale_grant_is_asked_for_again_by_its_call(rig, monkeypatch):
    item = _published(rig)
    trips = _count_trips(monkeypatch)
    monkeypatch.setattr(executor_module, "GRANT_S", -1.0)  # stale before any call starts
    _withdrawn(rig, item)
    assert len(trips["per_call"]) == 2 * len(ORGS)


def test_a_budget_refused_ahead_is_asked_for_by_its_call(rig, monkeypatch):
    item = _published(rig)
    monkeypatch.setenv("YUNCHU_RATE_WEIBO_APP", "1000/1")  # one call at once, then 1 ms each
    trips = _count_trips(monkeypatch)
    _withdrawn(rig, item)
    assert len(trips["per_call"]) >= len(ORGS) - 1  # the weibo calls past the first
