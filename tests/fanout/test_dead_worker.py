"""Real worker processes with the default lease (15 s): a SIGKILLed worker's claims are
re-driven within seconds (its alive key runs out, not its leases), and a live worker whose
platform answers slower than its lease keeps every claim."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from hub.infra.config import Settings
from hub.models import Delivery, DeliveryAttempt

ACCOUNTS = 120
REDRIVE_WITHIN_S = 6.0  # alive key 3 s + a 1 s sweep + the lookup's own latency and slack


def _owners_in_flight(fanout) -> dict[str, int]:
    with fanout.hub.runtime.db.session() as session:
        rows = session.execute(select(Delivery.lease_owner).where(
            Delivery.state.in_(("sending", "withdrawing")))).scalars().all()
    counts: dict[str, int] = {}
    for owner in rows:
        counts[owner] = counts.get(owner, 0) + 1
    return counts


def _history(fanout, outcome: str) -> list[tuple[str, str]]:
    with fanout.hub.runtime.db.session() as session:
        return [tuple(r) for r in session.execute(
            select(DeliveryAttempt.delivery_id, DeliveryAttempt.worker)
            .where(DeliveryAttempt.outcome == outcome)).all()]


@pytest.mark.timeout(300)
def test_a_killed_workers_claims_are_redriven_within_seconds(fanout):
    assert Settings().lease_s > 2 * REDRIVE_WITHIN_S  # so the lease cannot be what frees them
    fanout.seed(accounts=ACCOUNTS)
    # Every call takes 1.5 s: the claims are still in flight when the worker dies.
    fanout.sandbox.config(latency_ms=1500)
    item = fanout.approved_item()
    fanout.start_workers(2)
    time.sleep(2.0)  # both import and connect
    dispatch = fanout.push(item, {"orgs": ["yun"], "platforms": ["weibo", "cityapp"]})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        owners = _owners_in_flight(fanout)
        if owners:
            break
        time.sleep(0.05)
    victim_owner = max(owners, key=owners.get)
    victim = next(i for i, p in enumerate(fanout.workers)
                  if p.pid == int(victim_owner.split(":")[1]))
    killed_at = fanout.kill_worker(victim)
    held = owners[victim_owner]

    while time.time() - killed_at < 30:
        if victim_owner not in _owners_in_flight(fanout):
            break
        time.sleep(0.1)
    freed_after = time.time() - killed_at
    delays = fanout.redrive_delays()
    lost = [d for d, worker in _history(fanout, "interrupted") if worker == victim_owner]
    assert lost, (held, freed_after)
    assert delays[fanout.workers[victim].pid] <= REDRIVE_WITHIN_S, (delays, freed_after)

    result = fanout.wait_dispatch(dispatch["dispatch_id"], timeout=120)
    assert result["counts"]["published"] + result["counts"]["pending_review"] == \
        dispatch["total"], (result, fanout.failures(dispatch["dispatch_id"]))
    assert fanout.duplicates() == 0
    print(f"killed holding {held} claims ({len(lost)} in flight at the kill); re-driven "
          f"{delays[fanout.workers[victim].pid]:.2f} s after the SIGKILL")


@pytest.mark.timeout(300)
def test_a_live_worker_slower_than_its_lease_keeps_its_claims(fanout):
    """Every platform call takes longer than the whole lease, including the WeChat token
    fetched before a batch starts: the heartbeat keeps the claims, from the claim on."""
    fanout.seed(accounts=40)
    fanout.sandbox.config(latency_ms=3500)
    item = fanout.approved_item()
    dispatch = fanout.push(item, {"orgs": ["yun"], "platforms": ["wechat", "weibo"]})
    # A lease shorter than one call, and a sweep that would catch any moment it lapsed.
    fanout.start_workers(2, YUNCHU_LEASE_S="2", YUNCHU_RECONCILE_INTERVAL_S="0.3")
    result = fanout.wait_dispatch(dispatch["dispatch_id"], timeout=240)
    assert result["counts"]["published"] + result["counts"]["pending_review"] == \
        dispatch["total"], (result, fanout.failures(dispatch["dispatch_id"]))
    assert _history(fanout, "interrupted") == []
    assert fanout.duplicates() == 0
