"""Scale-out in the cluster rig: the same push and withdrawal with one worker on each of one,
two and three worker hosts (``bench.rig``). The hosts share this machine's cores, so wall time
says little; what it reports is platform calls per CPU-second (the workers' own, and the whole
rig's) and the signs of cross-host contention: lock waits seen in PostgreSQL, extra attempts
per delivery (a delivery claimed twice), and claims the reconciler took from a live worker.

    python -m bench.scaleout --accounts 2000 --latency-ms 50 --json bench/results/DATE/x.json

Needs root (network namespaces), PostgreSQL's server binaries and redis-server."""

from __future__ import annotations

import argparse
import json
import platform as host_platform
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from .cpumeter import process_cpu_s
from .rig import Rig, available
from .rig.driver import Driver

WORKER_ENV = {"YUNCHU_BATCH_SIZE": "100", "YUNCHU_CONCURRENCY": "100"}


def _tree_cpu_s(pid: int) -> float:
    """A process's CPU seconds with its children's, live (PostgreSQL's backends) and exited."""
    total = process_cpu_s(pid, with_children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                total += process_cpu_s(int(entry.name))
    return total


class LockSampler(threading.Thread):
    """Every 50 ms: how many PostgreSQL sessions wait for a lock (row, tuple or relation)."""

    def __init__(self, rig: Rig):
        super().__init__(daemon=True)
        self.rig, self.stopping = rig, threading.Event()
        self.samples = self.waiting_samples = self.max_waiting = 0

    def run(self) -> None:
        import psycopg

        with psycopg.connect(host=self.rig.ip("postgres"), port=5432, user="postgres",
                             dbname="yunchu", autocommit=True) as conn:
            while not self.stopping.wait(0.05):
                waiting = conn.execute("SELECT count(*) FROM pg_stat_activity "
                                       "WHERE wait_event_type = 'Lock'").fetchone()[0]
                self.samples += 1
                self.waiting_samples += waiting > 0
                self.max_waiting = max(self.max_waiting, waiting)


def _cpu(rig: Rig, d: Driver) -> dict[str, float]:
    parts = {"workers": sum(process_cpu_s(w.pid) for w in d.workers),
             "postgres": _tree_cpu_s(rig.postgres.pid), "redis": process_cpu_s(rig.redis.pid),
             "sandbox": process_cpu_s(rig.sandbox.pid), "hub": process_cpu_s(rig.hub.pid)}
    parts["rig"] = sum(parts.values())
    return parts


def _phase(rig: Rig, d: Driver, paths: list[str], timeout: float) -> dict[str, Any]:
    from hub.models import DeliveryAttempt, utcnow

    since = utcnow()
    calls_before, cpu_before = d.ledger()["requests"], _cpu(rig, d)
    sampler = LockSampler(rig)
    sampler.start()
    started = time.monotonic()
    done = d.wait_done(paths, timeout)
    wall = time.monotonic() - started
    sampler.stopping.set()
    sampler.join()
    cpu = {k: round(v - cpu_before[k], 2) for k, v in _cpu(rig, d).items()}
    calls = d.ledger()["requests"] - calls_before
    rows = sum(p["total"] for p in done)
    with d.runtime.db.session() as session:
        attempts, deliveries, interrupted = session.execute(select(
            func.count(), func.count(func.distinct(DeliveryAttempt.delivery_id)),
            func.count().filter(DeliveryAttempt.outcome == "interrupted"))
            .where(DeliveryAttempt.at >= since)).one()
        by_worker = dict(session.execute(select(DeliveryAttempt.worker, func.count())
                                         .where(DeliveryAttempt.at >= since)
                                         .group_by(DeliveryAttempt.worker)).all())
    return {
        "wall_s": round(wall, 2), "rows": rows,
        "platform_calls": calls, "cpu_s": cpu,
        "calls_per_worker_cpu_s": round(calls / cpu["workers"], 1) if cpu["workers"] else None,
        "calls_per_rig_cpu_s": round(calls / cpu["rig"], 1) if cpu["rig"] else None,
        "worker_cpu_ms_per_row": (round(1000 * cpu["workers"] / rows, 3) if rows else None),
        "attempts": attempts, "deliveries_attempted": deliveries,
        "extra_attempts": attempts - deliveries,  # a delivery claimed (or tried) twice
        "reconciler_redriven": interrupted,  # claims taken from a live worker: overlap
        "lock_wait_samples": sampler.waiting_samples, "lock_samples": sampler.samples,
        "max_sessions_waiting_on_locks": sampler.max_waiting,
        "attempts_by_host": _by_host(d, by_worker),
    }


def _by_host(d: Driver, by_worker: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for owner, count in by_worker.items():
        worker = d.worker_of(owner)
        host = worker.host if worker else owner
        out[host] = out.get(host, 0) + count
    return out


def run(accounts: int, latency_ms: float, hosts: list[int], timeout: float,
        log=print) -> dict[str, Any]:
    reason = available()
    if reason:
        raise SystemExit(f"the cluster rig cannot run here: {reason}")
    rig = Rig(workers=max(hosts), sandbox_latency_ms=latency_ms)
    started = time.monotonic()
    rig.start()
    report: dict[str, Any] = {"accounts": accounts, "sandbox_latency_ms": latency_ms,
                              "worker_env": WORKER_ENV, "cpus": _cpus(),
                              "machine": host_platform.machine(), "runs": []}
    try:
        with rig.inside():
            d = Driver(rig)
            try:
                report["seeded"] = d.seed(accounts)
                log(f"rig up and seeded in {time.monotonic() - started:.1f}s")
                # A first push fetches every WeChat token and uploads every cover (both then
                # cached for all workers): a warm-up round keeps that out of the first count.
                d.start_workers(rig.worker_hosts[:max(hosts)], **WORKER_ENV)
                items, dispatches = d.push_all("warm-up")
                d.wait_done([f"/api/v1/dispatches/{x}" for x in dispatches], timeout)
                d.wait_done([f"/api/v1/withdrawals/{x}" for x in d.withdraw_all(items)], timeout)
                d.stop_workers()
                for count in hosts:
                    d.start_workers(rig.worker_hosts[:count], **WORKER_ENV)
                    d.wait_beating()
                    items, dispatches = d.push_all(f"scale{count}")
                    push = _phase(rig, d, [f"/api/v1/dispatches/{x}" for x in dispatches],
                                  timeout)
                    withdrawals = d.withdraw_all(items)
                    withdraw = _phase(rig, d, [f"/api/v1/withdrawals/{x}" for x in withdrawals],
                                      timeout)
                    ledger = d.ledger()
                    run_report = {"worker_hosts": count, "workers": len(d.workers),
                                  "push": push, "withdraw": withdraw,
                                  "live_after_withdraw": ledger["live"],
                                  "duplicates_live": ledger["live_duplicates"]}
                    report["runs"].append(run_report)
                    log(json.dumps({"hosts": count, "push": {k: push[k] for k in (
                        "wall_s", "platform_calls", "calls_per_worker_cpu_s",
                        "calls_per_rig_cpu_s", "extra_attempts", "lock_wait_samples")},
                        "withdraw_calls_per_worker_cpu_s": withdraw["calls_per_worker_cpu_s"]}))
                    d.stop_workers()
            finally:
                d.close()
    finally:
        rig.stop()
    report["total_s"] = round(time.monotonic() - started, 1)
    return report


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--hosts", default="1,2,3", help="worker host counts to run")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = run(args.accounts, args.latency_ms, [int(h) for h in args.hosts.split(",")],
                 args.timeout)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
