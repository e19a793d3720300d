"""Dead-worker detection on SQLite and PostgreSQL: a sweep takes back the claims of a worker
whose alive key is gone at once, never those of a worker whose key lives, and those of a
worker Redis knows nothing about (an older worker, Redis lost its keys) only when the lease
runs out. And the reconciler's lock outlives neither its sweeps nor its holder for long."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select, update

from hub.fanout import claims, liveness, reconciler
from hub.fanout.reconciler import LOCK_KEY, Reconciler, lock_ttl_s
from hub.infra.config import Settings
from hub.models import Delivery, DeliveryAttempt, utcnow

from .support import ApiRig


def _claimed_by(rig: ApiRig, worker: str) -> list[str]:
    """One delivery per new account, claimed by ``worker`` with the default lease."""
    account = rig.account("c1-k1")
    item = rig.item("c1")
    rig.pushed(item, {"accounts": [account]})
    with rig.hub.runtime.db.session() as session:
        ids = list(session.execute(select(Delivery.id).where(Delivery.item_id == item,
                                                             Delivery.state == "queued"))
                   .scalars())
        claimed = claims.claim(session, "publish", ids, worker, Settings().lease_s)
    assert len(claimed) == len(ids) == 1
    return ids


def _states(rig: ApiRig, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    with rig.hub.runtime.db.session() as session:
        return {row.id: (row.state, row.lease_owner) for row in session.execute(
            select(Delivery.id, Delivery.state, Delivery.lease_owner)
            .where(Delivery.id.in_(ids)))}


def test_a_dead_workers_claims_are_taken_back_at_once_and_a_live_ones_never(rig):
    connection = rig.hub.runtime.redis
    assert Settings().lease_s >= 10  # the default lease has nothing to do with what follows
    dead = _claimed_by(rig, "host:1:dead")
    alive = _claimed_by(rig, "host:2:alive")
    stranger = _claimed_by(rig, "host:3:never-beat")  # older worker, or Redis lost its keys
    liveness.beat(connection, "host:1:dead", alive_s=0.3)
    liveness.beat(connection, "host:2:alive", alive_s=30)
    report = rig.sweep()
    assert report.dead_workers == [] and report.expired_leases == 0, report
    time.sleep(0.4)  # the dead worker's alive key runs out; its lease has 15 s to go
    report = rig.sweep()
    assert report.dead_workers == ["host:1:dead"], report
    assert report.expired_leases == 1 and report.enqueued.get("publish") == 1, report
    assert _states(rig, dead) == {dead[0]: ("retry", None)}
    assert _states(rig, alive) == {alive[0]: ("sending", "host:2:alive")}
    assert _states(rig, stranger) == {stranger[0]: ("sending", "host:3:never-beat")}
    with rig.hub.runtime.db.session() as session:
        history = session.execute(select(DeliveryAttempt.delivery_id, DeliveryAttempt.worker,
                                         DeliveryAttempt.outcome)).all()
        needs_lookup = session.execute(select(Delivery.needs_lookup).where(
            Delivery.id == dead[0])).scalar_one()
    assert [tuple(h) for h in history] == [(dead[0], "host:1:dead", "interrupted")]
    assert needs_lookup  # looked up on the platform before any resend

    connection.flushdb()  # Redis lost every key: nobody can be told dead from that
    report = rig.sweep()
    assert report.dead_workers == [] and report.expired_leases == 0, report
    assert _states(rig, alive)[alive[0]][0] == "sending"


def test_a_dead_worker_is_looked_at_until_its_leases_ran_out_then_forgotten(rig):
    connection = rig.hub.runtime.redis
    liveness.beat(connection, "host:9:gone", alive_s=0.2)
    ids = _claimed_by(rig, "host:9:gone")
    time.sleep(0.3)
    report = rig.sweep()
    assert report.dead_workers == ["host:9:gone"] and report.expired_leases == 1, report
    assert rig.sweep().dead_workers == ["host:9:gone"]  # its leases may still run
    assert _states(rig, ids)[ids[0]][0] == "retry"
    # Its last beat is now older than a lease and two alive periods: forgotten.
    long_ago = time.time() - Settings().lease_s - 2 * Settings().worker_alive_s - 1
    connection.zadd(liveness.WORKERS_KEY, {"host:9:gone": long_ago})
    assert rig.sweep().dead_workers == ["host:9:gone"]  # taken back (nothing left), forgotten
    assert rig.sweep().dead_workers == []
    assert connection.zscore(liveness.WORKERS_KEY, "host:9:gone") is None
    liveness.beat(connection, "host:9:gone", alive_s=0.2)  # it was only frozen: known again
    time.sleep(0.3)
    assert rig.sweep().dead_workers == ["host:9:gone"]


def test_expired_leases_are_looked_for_when_asked_and_by_the_reconciler_every_third_of_one(
        rig, monkeypatch):
    connection = rig.hub.runtime.redis
    ids = _claimed_by(rig, "host:10:never-beat")  # Redis knows nothing of it: leases only
    with rig.hub.runtime.db.session() as session:
        session.execute(update(Delivery).where(Delivery.id.in_(ids))
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert reconciler.sweep(rig.hub.runtime, connection, check_leases=False).expired_leases == 0
    assert _states(rig, ids)[ids[0]][0] == "sending"
    assert reconciler.sweep(rig.hub.runtime, connection).expired_leases == 1
    assert _states(rig, ids)[ids[0]][0] == "retry"

    asked: list[bool] = []
    monkeypatch.setattr(reconciler, "sweep",
                        lambda runtime, conn, check_leases: asked.append(check_leases)
                        or reconciler.SweepReport())
    connection.delete(LOCK_KEY)
    sweeper = Reconciler(rig.hub.runtime, "host:11:sweeper", 0.02)
    assert sweeper.lease_check_every == Settings().lease_s / 3
    sweeper.start()
    try:
        deadline = time.monotonic() + 5
        while len(asked) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sweeper.stopping.set()
        sweeper.join(timeout=2)
    assert len(asked) >= 10 and asked[0] is True and not any(asked[1:10]), asked


def test_a_worker_that_stops_cleanly_frees_what_it_still_holds(rig):
    connection = rig.hub.runtime.redis
    liveness.beat(connection, "host:4:leaving", alive_s=30)
    ids = _claimed_by(rig, "host:4:leaving")
    assert rig.sweep().expired_leases == 0
    liveness.stopped(connection, "host:4:leaving")
    report = rig.sweep()
    assert report.dead_workers == ["host:4:leaving"] and report.expired_leases == 1, report
    assert _states(rig, ids)[ids[0]][0] == "retry"


def test_the_reconciler_lock_outlives_a_long_sweep_but_not_a_dead_holder(rig, monkeypatch):
    """A sweep longer than the lock's TTL keeps the lock (renewed while it runs); once the
    holder is gone, the lock frees within two intervals."""
    connection = rig.hub.runtime.redis
    connection.delete(LOCK_KEY)
    interval = 0.2
    ttl = lock_ttl_s(interval)
    assert lock_ttl_s(Settings().reconcile_interval_s) <= 2.0
    held_during: list[bytes | None] = []
    swept = threading.Event()

    def long_sweep(runtime, conn, **_):
        time.sleep(ttl * 1.5)  # longer than the lock lives unless renewed
        held_during.append(conn.get(LOCK_KEY))
        swept.set()
        return reconciler.SweepReport()

    monkeypatch.setattr(reconciler, "sweep", long_sweep)
    holder = Reconciler(rig.hub.runtime, "host:5:sweeper", interval)
    holder.start()
    try:
        assert swept.wait(ttl * 4)
    finally:
        holder.stopping.set()  # the holder dies: nobody renews the lock any more
        holder.join(timeout=ttl * 3)
    assert held_during[0] == b"host:5:sweeper"
    stopped_at = time.monotonic()
    while connection.get(LOCK_KEY) is not None:
        assert time.monotonic() - stopped_at < ttl + 0.5, connection.pttl(LOCK_KEY)
        time.sleep(0.05)
    other = Reconciler(rig.hub.runtime, "host:6:next", interval)
    assert other._hold(connection)


def test_a_dead_workers_reconciler_lock_is_taken_at_once(rig):
    connection = rig.hub.runtime.redis
    ttl_ms = int(lock_ttl_s(Settings().reconcile_interval_s) * 1000)
    liveness.beat(connection, "host:7:holder", alive_s=30)
    connection.set(LOCK_KEY, "host:7:holder", px=ttl_ms)
    contender = Reconciler(rig.hub.runtime, "host:8:contender", Settings().reconcile_interval_s)
    assert not contender._hold(connection)  # the holder lives: wait
    liveness.stopped(connection, "host:7:holder")  # ... and now it is dead
    assert contender._hold(connection)
    assert connection.get(LOCK_KEY) == b"host:8:contender"
    assert 0 < connection.pttl(LOCK_KEY) <= ttl_ms
