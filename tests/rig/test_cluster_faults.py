"""Fault tests in the cluster rig: PostgreSQL, Redis, the hub, the sandbox and three worker
hosts, each in its own network namespace (``bench.rig``). Each fault hits a push and then a
withdrawal of the same accounts, with real workers; afterwards every delivery is terminal, no
duplicate post is live on the platforms, and nothing is live once the withdrawal is done.

The workers run with a 6 s lease (the default is 15 s) so that the faults that must outlast a
lease fit the suite's time budget; the alive key and the sweep keep their defaults."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from bench.rig.driver import Driver, Worker
from hub.models import DeliveryAttempt, utcnow

ACCOUNTS = 1000
LEASE_S = 6
OUTLAST_S = LEASE_S + 2  # a partition or a stop longer than a lease
SANDBOX_LATENCY_MS = 100
PHASE_TIMEOUT_S = 120
WORKER_ENV = {"YUNCHU_LEASE_S": str(LEASE_S), "YUNCHU_BATCH_SIZE": "200",
              "YUNCHU_CONCURRENCY": "50"}
RIG = {"sandbox_latency_ms": SANDBOX_LATENCY_MS}

Fault = Callable[[Driver, list[str]], dict[str, Any]]


@pytest.fixture(scope="module")
def province(cluster: Driver) -> Driver:
    from tests.storage.samples import video

    cluster.seed(ACCOUNTS)
    cluster.start_workers(**WORKER_ENV)
    cluster.clip = video()  # type: ignore[attr-defined]
    return cluster


def _fenced_writes(d: Driver, worker: Worker, since: Any) -> tuple[int, int]:
    """(claims of ``worker`` the reconciler took back, history rows ``worker`` wrote for a
    delivery after its claim had been taken back: outcomes the lease check fenced off)."""
    taken, late = aliased(DeliveryAttempt), aliased(DeliveryAttempt)
    like = f"%:{worker.pid}:%"
    with d.runtime.db.session() as session:
        redriven = session.execute(select(func.count()).where(
            taken.outcome == "interrupted", taken.worker.like(like), taken.at >= since)
        ).scalar_one()
        fenced = session.execute(
            select(func.count()).select_from(late).join(taken, taken.delivery_id == late.delivery_id)
            .where(taken.outcome == "interrupted", taken.worker.like(like), taken.at >= since,
                   late.worker.like(like), late.outcome != "interrupted", late.at > taken.at)
        ).scalar_one()
    return redriven, fenced


def _stop_a_worker(d: Driver, paths: list[str]) -> dict[str, Any]:
    worker, held = d.wait_in_flight(least=20)
    since = utcnow()
    worker.proc.send_signal(signal.SIGSTOP)
    time.sleep(OUTLAST_S)
    worker.proc.send_signal(signal.SIGCONT)
    return {"worker": worker, "since": since, "held": held}


def _partition_a_host(d: Driver, paths: list[str]) -> dict[str, Any]:
    """Cut off the host of the worker holding the most claims (the platforms stay reachable)."""
    worker, held = d.wait_in_flight(least=20)
    since = utcnow()
    d.rig.partition(worker.host, ["postgres", "redis"])
    time.sleep(OUTLAST_S)
    d.rig.heal(worker.host)
    return {"worker": worker, "since": since, "held": held, "host": worker.host}


def _restart(action: Callable[[Driver], None]) -> Fault:
    def fault(d: Driver, paths: list[str]) -> dict[str, Any]:
        d.wait_terminal_share(paths, 0.3)
        at = d.terminal_share(paths)
        action(d)
        return {"at_share": round(at, 2)}
    return fault


def _netem(d: Driver, paths: list[str]) -> dict[str, Any]:
    return {}  # applied for the whole phase by the test


def _run(d: Driver, name: str, push_fault: Fault, withdraw_fault: Fault) -> dict[str, Any]:
    d.wait_beating()
    started, since = time.monotonic(), utcnow()
    ledger_before = d.ledger()
    items, dispatches = d.push_all(name, video=d.clip)  # type: ignore[attr-defined]
    paths = [f"/api/v1/dispatches/{x}" for x in dispatches]
    push_info = push_fault(d, paths)
    pushed = d.wait_done(paths, PHASE_TIMEOUT_S)
    push_s = time.monotonic() - started
    total = sum(p["total"] for p in pushed)
    counts = {k: sum(p["counts"][k] for p in pushed) for k in pushed[0]["counts"]}
    live_pushed = counts["published"] + counts["pending_review"]
    after_push = d.ledger()
    assert total == ACCOUNTS
    assert live_pushed == total, (counts, d.states())
    assert after_push["live_duplicates"] == 0, after_push

    print(f"[rig] {name} push: {counts} in {push_s:.1f}s, {push_info}", flush=True)
    d.wait_beating()
    started_w = time.monotonic()
    withdrawals = d.withdraw_all(items)
    wpaths = [f"/api/v1/withdrawals/{x}" for x in withdrawals]
    withdraw_info = withdraw_fault(d, wpaths)
    done = d.wait_done(wpaths, PHASE_TIMEOUT_S)
    withdraw_s = time.monotonic() - started_w
    after = d.ledger()
    withdrawn = sum(w["counts"]["withdrawn"] for w in done)
    assert all(w["remaining"] == 0 for w in done), done
    assert withdrawn == total, [w["counts"] for w in done]
    assert after["live"] == 0, (after, _live(d))
    assert after["live_duplicates"] == 0, after

    numbers: dict[str, Any] = {
        "scenario": name, "accounts": total, "pushed": live_pushed, "withdrawn": withdrawn,
        "push_s": round(push_s, 1), "withdraw_s": round(withdraw_s, 1),
        "duplicates_created": after["duplicates"] - ledger_before["duplicates"],
        "duplicates_removed": after["duplicates"] - ledger_before["duplicates"],
        "platform_calls": after["requests"] - ledger_before["requests"],
    }
    for phase, info in (("push", push_info), ("withdraw", withdraw_info)):
        worker = info.pop("worker", None)
        if worker is not None:
            redriven, fenced = _fenced_writes(d, worker, info.pop("since"))
            info.update(redriven=redriven, fenced_writes=fenced)
        numbers[phase] = info
    numbers["outcomes"] = d.outcomes_since(since)
    numbers["api_5xx_reads"] = d.server_errors
    return numbers


def _live(d: Driver) -> list[tuple]:
    """What is still live on the platforms, and what the hub recorded for it."""
    from hub.models import Account, Delivery

    out = []
    posts = d.sandbox("GET", "/_sandbox/posts?state=live")["items"]
    with d.runtime.db.session() as session:
        for post in posts[:20]:
            rows = session.execute(
                select(Delivery.id, Delivery.state, Delivery.remote_id, Delivery.attempts)
                .join(Account, Account.id == Delivery.account_id)
                .where(Account.external_id == post["account"])).all()
            history = session.execute(
                select(DeliveryAttempt.outcome, DeliveryAttempt.worker, DeliveryAttempt.at)
                .where(DeliveryAttempt.delivery_id.in_([r[0] for r in rows]))
                .order_by(DeliveryAttempt.at)).all()
            out.append((post["platform"], post["remote_id"], post["title"][:12],
                        [tuple(r) for r in rows][-2:], [tuple(h) for h in history][-8:]))
    return out


def _report(capsys: pytest.CaptureFixture, numbers: dict[str, Any]) -> None:
    with capsys.disabled():
        print(f"\n[rig] {json.dumps(numbers, ensure_ascii=False, default=str)}")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_worker_host_partitioned_from_postgres_and_redis(province, capsys):
    numbers = _run(province, "partition", _partition_a_host, _partition_a_host)
    _report(capsys, numbers)
    assert numbers["push"]["redriven"] > 0 and numbers["withdraw"]["redriven"] > 0, numbers


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_worker_sigstopped_past_its_lease(province, capsys):
    numbers = _run(province, "sigstop", _stop_a_worker, _stop_a_worker)
    _report(capsys, numbers)
    assert numbers["push"]["redriven"] > 0 and numbers["withdraw"]["redriven"] > 0, numbers


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_postgres_restarted_mid_run(province, capsys):
    restart = _restart(lambda d: d.rig.restart_postgres())
    _report(capsys, _run(province, "postgres-restart", restart, restart))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_redis_restarted_with_aof(province, capsys):
    restart = _restart(lambda d: d.rig.restart_redis(aof=True))
    _report(capsys, _run(province, "redis-restart-aof", restart, restart))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_redis_restarted_without_aof(province, capsys):
    restart = _restart(lambda d: d.rig.restart_redis(aof=False))
    try:
        _report(capsys, _run(province, "redis-restart-no-aof", restart, restart))
    finally:
        province.rig.restart_redis(aof=True)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_latency_and_loss_between_workers_and_services(province, capsys):
    rig = province.rig
    for host in rig.worker_hosts:
        rig.netem(host, delay_ms=200, jitter_ms=50, loss=0.02)
        for service in ("postgres", "redis"):  # the services' traffic goes through the shaper
            route = rig.host(host).run("ip", "route", "get", rig.ip(service)).stdout
            assert "dev shp0" in route, route
    try:
        _report(capsys, _run(province, "netem-200ms-2pct", _netem, _netem))
    finally:
        rig.clear_netem()
