"""Fence layer 0 (hub/fanout/fence.py): while a withdrawal is being written, the item's sends
wait instead of going out, and the click leaves no hold behind, whether it committed or not.
The hub on SQLite and PostgreSQL, Redis, the sandbox and the real worker (burst mode)."""

from __future__ import annotations

import time

import redis

from hub.fanout.fence import HOLD_PREFIX, HOLD_RETRY_S, after_withdrawal
from hub.fanout.vocabulary import DeliveryState, Lookup


def _states(rig, dispatch: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in rig.deliveries(f"/api/v1/dispatches/{dispatch}/deliveries"):
        counts[d["state"]] = counts.get(d["state"], 0) + 1
    return counts


def test_a_held_item_sends_nothing_until_the_hold_is_dropped(rig):
    for org in ("c1-k1", "c1-k2"):
        rig.account(org)
    item = rig.item("c1")
    client = redis.Redis.from_url(rig.hub.runtime.settings.redis_url)
    client.set(HOLD_PREFIX + item, 1, ex=60)  # what the withdraw route raises while it writes
    dispatch = rig.pushed(item, {"orgs": ["c1"]})["dispatch_id"]
    rig.drain()
    assert rig.live_posts() == 0
    assert _states(rig, dispatch) == {"retry": 2}
    client.delete(HOLD_PREFIX + item)  # the withdrawal failed: the sends go out after all
    time.sleep(HOLD_RETRY_S + 0.2)
    rig.sweep()
    rig.drain()
    assert rig.live_posts() == 2
    # Had the withdrawal committed, the held retry would have been written as cancelled.
    assert after_withdrawal(DeliveryState.RETRY, Lookup.SETTLED) is DeliveryState.CANCELLED


def test_the_withdraw_route_leaves_no_hold_whether_it_commits_or_not(rig):
    rig.account("c1-k1")
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1"]})
    rig.drain()
    client = redis.Redis.from_url(rig.hub.runtime.settings.redis_url)
    refused = rig.hub.post(f"/api/v1/items/{item}/withdraw",
                           {"reason": "数据有误", "expected_total": 5})
    assert refused.status_code == 409, refused.json
    assert client.exists(HOLD_PREFIX + item) == 0
    denied = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"},
                          token=rig.token("c1-k1", "editor"))
    assert denied.status_code == 403 and client.exists(HOLD_PREFIX + item) == 0
    done = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert done.status_code == 202, done.json
    assert client.exists(HOLD_PREFIX + item) == 0
    rig.drain()
    assert rig.live_posts() == 0
