"""Reach collection at scale: ``--accounts`` sandbox accounts (the seed's platform mix), each with
a month of posts (``--per-day`` a day for ``--days`` days, made outside yunchu), collected twice
the way a worker collects: the first run (nothing known yet: every post listed and collected,
each WeChat publish day asked) and the daily run a day later (only what is new or still moving).

Reports, per run: wall time, platform calls per platform and interface, the most calls one
account made per interface against that interface's quota, rows written. The sandbox runs in a
subprocess on loopback; PostgreSQL and Redis are the ones named (a private database is created
on that server and dropped afterwards). Stops by itself.

    .venv/bin/python -m bench.reach --accounts 1000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --redis-url redis://127.0.0.1:6379/11 --json bench/results/2026-12-03/reach_1k.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform as host_platform
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from cli.ports import free_port, wait_port

REPO = Path(__file__).resolve().parent.parent
CHINA = timezone(timedelta(hours=8))
# Documented or emulated limits a collection spends (per account unless said otherwise).
QUOTAS = {
    "wechat": {"freepublish/batchget": "100 / day", "datacube/*": "none documented "
               "(sandbox: 5000 / interface / day)", "every interface": "1000 / minute"},
    "weibo": {"every call": "150 / hour per user, 30000 / hour per app (sandbox defaults)"},
    "douyin": {"every content call": "100 / second per account (sandbox)"},
    "cityapp": {"stats": "the receiver's own (none in the sample receiver)"},
}
HOURLY = {"weibo"}  # quotas counted per hour: a run must fit in one


@contextlib.contextmanager
def sandbox_process(port: int) -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port)],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def private_database(server_url: str) -> Iterator[str]:
    url = make_url(server_url)
    name = f"reach_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sandbox_names(platform: str, credentials: dict[str, str]) -> str | None:
    """The account as the sandbox's emulator knows it."""
    if platform == "wechat":
        return credentials["appid"]
    if platform == "weibo":
        from sandbox.weibo import uid_for_token

        return uid_for_token(credentials["access_token"])
    if platform == "douyin":
        return credentials["open_id"]
    return None


def seed(runtime: Any, sandbox: str, accounts: int, days: int, per_day: int) -> dict[str, Any]:
    from cli.province import seed as seed_province
    from hub.infra import migrate
    from hub.models import Account

    migrate.upgrade(runtime.db.engine)
    result = seed_province(runtime, accounts=accounts, sandbox=sandbox)
    names: dict[str, list[str]] = {}
    with runtime.db.session() as session:
        for account in session.scalars(select(Account)):
            credentials = runtime.box.open(account.credentials_sealed, bound_to=account.id)
            name = sandbox_names(account.platform, credentials)
            if name is not None:
                names.setdefault(account.platform, []).append(name)
    posts = 0
    for platform, group in names.items():
        for start in range(0, len(group), 100):
            r = requests.post(f"{sandbox}/_sandbox/reach/history", json={
                "platform": platform, "accounts": group[start:start + 100], "days": days,
                "per_day": per_day}, timeout=300)
            r.raise_for_status()
            posts += r.json()["created"]
    return {"accounts": result.by_platform, "posts": posts}


async def collect_all(runtime: Any, now: datetime, workers: int) -> dict[str, Any]:
    """Every account, in the plan's batches, ``workers`` batches at a time (as that many
    workers would take them off the maintenance queue)."""
    from hub.fanout.executor import Executor
    from hub.models import Account
    from hub.services.reach import runner, schedule

    executor = Executor(runtime, "reach-bench")
    await executor.start()
    try:
        batch = runtime.settings.reach_batch
        jobs: list[tuple[str, list[str]]] = []
        with runtime.db.session() as session:
            for platform in schedule.platforms():
                ids = list(session.scalars(select(Account.id).where(
                    Account.platform == platform).order_by(Account.id)))
                jobs += [(platform, ids[i:i + batch]) for i in range(0, len(ids), batch)]
        queue: asyncio.Queue[tuple[str, list[str]]] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        reports: list[Any] = []

        async def worker() -> None:
            while not queue.empty():
                platform, ids = queue.get_nowait()
                reports.append(await runner.run(executor, platform, ids, now=now))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        wall = time.perf_counter() - started
    finally:
        await executor.close()
    return summarise(reports, wall)


def summarise(reports: list[Any], wall: float) -> dict[str, Any]:
    by_platform: dict[str, dict[str, Any]] = {}
    for report in reports:
        mine = by_platform.setdefault(report.platform, {
            "accounts": 0, "collected": 0, "failed": 0, "deferred": 0, "calls": Counter(),
            "calls_max_one_account": {},
            "post_days": 0, "account_days": 0, "outside_posts": 0, "errors": Counter(),
            "seconds": Counter()})
        for key in ("accounts", "collected", "failed", "post_days", "account_days",
                    "outside_posts"):
            mine[key] += getattr(report, key)
        mine["deferred"] += len(report.deferred)
        mine["calls"].update(report.calls)
        most = mine["calls_max_one_account"]
        for name, n in report.calls_max.items():
            most[name] = max(most.get(name, 0), n)
        mine["errors"].update(report.errors)
        mine["seconds"].update(report.seconds)
    for mine in by_platform.values():
        accounts = max(mine["accounts"], 1)
        mine["calls_total"] = sum(mine["calls"].values())
        mine["calls_per_account"] = {k: round(v / accounts, 2) for k, v in mine["calls"].items()}
        mine["calls"] = dict(mine["calls"])
        mine["errors"] = dict(mine["errors"])
        mine["seconds"] = {k: round(v, 2) for k, v in mine["seconds"].items()}
    calls_total = sum(p["calls_total"] for p in by_platform.values())
    return {"wall_s": round(wall, 2), "platforms": by_platform, "calls_total": calls_total,
            "calls_per_s": round(calls_total / wall, 1) if wall else None,
            "against_quotas": against_quotas(by_platform, wall)}


# Per interface: (the platform's limit as a number, what it counts, per account or per app).
LIMITS = {
    "wechat": {"freepublish/batchget": (100, "day", "account"),
               "datacube/*": (5000, "day", "account (sandbox; per interface)"),
               "*": (1000, "minute", "account")},
    "weibo": {"*": (150, "hour", "account"), "*app": (30000, "hour", "app")},
    "douyin": {"*": (100, "second", "account")},
}


def against_quotas(by_platform: dict[str, Any], wall: float) -> dict[str, Any]:
    """Each interface's calls against its quota: the most one account made in the run, and for
    app-wide quotas the run's total (the run is shorter than the quota's period unless said)."""
    found: dict[str, Any] = {}
    for platform, mine in by_platform.items():
        limits = LIMITS.get(platform, {})
        rows = {}
        for name, total in sorted(mine["calls"].items()):
            most = mine["calls_max_one_account"].get(name, 0)
            key = name if name in limits else ("datacube/*" if name.startswith("datacube/")
                                               and "datacube/*" in limits else "*")
            limit = limits.get(key)
            rows[name] = {"calls": total, "per_account": mine["calls_per_account"].get(name),
                          "most_one_account": most,
                          "quota": None if limit is None else f"{limit[0]} / {limit[1]} per "
                                                                f"{limit[2]}",
                          # A per-second or per-minute quota is the reach budget's to keep
                          # (YUNCHU_REACH_RATE_*_ACCOUNT); a run's count is no rate.
                          "most_share_of_quota": None if limit is None
                          or limit[1] in ("second", "minute") else round(most / limit[0], 3)}
        every = sum(mine["calls_max_one_account"].values())
        summary: dict[str, Any] = {"interfaces": rows,
                                   "most_one_account_all_interfaces": every}
        if "*" in limits:
            summary["all_interfaces_quota"] = f"{limits['*'][0]} / {limits['*'][1]} per account"
        if "*app" in limits:
            limit = limits["*app"]
            summary["app_calls"] = mine["calls_total"]
            summary["app_quota"] = f"{limit[0]} / {limit[1]} per app"
            summary["app_share_of_quota"] = round(mine["calls_total"] / limit[0], 3)
            summary["run_fits_in_one_hour"] = wall <= 3600
        found[platform] = summary
    return found


def sandbox_clock(sandbox: str) -> float:
    return float(requests.get(f"{sandbox}/_sandbox/", timeout=10).json()["now"])


def next_morning(sandbox: str) -> datetime:
    """Move the sandbox to 10:30 (China) tomorrow; returns that time."""
    now = datetime.fromtimestamp(sandbox_clock(sandbox), CHINA)
    target = datetime.combine(now.date() + timedelta(days=1), clock_time(10, 30), CHINA)
    requests.post(f"{sandbox}/_sandbox/clock/advance",
                  json={"seconds": (target - now).total_seconds()}, timeout=10).raise_for_status()
    return datetime.fromtimestamp(sandbox_clock(sandbox), UTC)


def table_rows(runtime: Any) -> dict[str, int]:
    from hub.models import AccountDay, ExternalPost, PostDay

    with runtime.db.session() as session:
        return {model.__tablename__: session.execute(
            select(func.count()).select_from(model)).scalar_one()
            for model in (PostDay, AccountDay, ExternalPost)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from hub.infra.config import load_settings
    from hub.infra.runtime import Runtime

    port = free_port()
    with private_database(args.database_url) as database_url, \
            sandbox_process(port) as sandbox:
        env = {**os.environ, "YUNCHU_DATABASE_URL": database_url,
               "YUNCHU_REDIS_URL": args.redis_url,
               "YUNCHU_OUTBOUND_ALLOW": f"127.0.0.1:{port}",
               "YUNCHU_REACH_CONCURRENCY": str(args.concurrency)}
        for platform in ("WECHAT", "WEIBO", "DOUYIN", "CITYAPP"):
            env.setdefault(f"YUNCHU_REACH_RATE_{platform}_ACCOUNT", "50/50")
        os.environ.update({k: v for k, v in env.items() if k.startswith("YUNCHU_REACH_RATE")})
        runtime = Runtime(load_settings(env))
        try:
            import redis

            redis.Redis.from_url(args.redis_url).flushdb()
            started = time.perf_counter()
            seeded = seed(runtime, sandbox, args.accounts, args.days, args.per_day)
            seed_s = time.perf_counter() - started
            first_at = datetime.fromtimestamp(sandbox_clock(sandbox), UTC)
            first = asyncio.run(collect_all(runtime, first_at, args.workers))
            first["rows_after"] = table_rows(runtime)
            daily_at = next_morning(sandbox)
            # The city app checks webhook timestamps against its clock, now a day ahead.
            from adapters.cityapp import CityAppAdapter

            offset = daily_at.timestamp() - time.time()
            CityAppAdapter.clock = staticmethod(lambda: time.time() + offset)
            daily = asyncio.run(collect_all(runtime, daily_at, args.workers))
            daily["rows_after"] = table_rows(runtime)
            sandbox_stats = requests.get(f"{sandbox}/_sandbox/stats", timeout=30).json()
        finally:
            runtime.close()
    import resource

    peak = {"worker_bench_process_mb": round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "sandbox_process_mb": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}
    return {
        "bench": "reach", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"python": host_platform.python_version(), "cpus": os.cpu_count()},
        "params": {"accounts": args.accounts, "days": args.days, "per_day": args.per_day,
                   "workers": args.workers, "concurrency": args.concurrency,
                   "reach_rate_account": os.environ.get("YUNCHU_REACH_RATE_WECHAT_ACCOUNT")},
        "seed": {**seeded, "seconds": round(seed_s, 1)},
        "first_run": first, "daily_run": daily,
        "sandbox_requests": {p: v["requests"] for p, v in sandbox_stats.items()},
        "sandbox_errors": {p: v["errors"] for p, v in sandbox_stats.items()},
        "quotas": QUOTAS,
        # Linux ru_maxrss: the bench process is the worker (both jobs, executor, plan, writes);
        # the sandbox is its largest child.
        "peak_rss": peak,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reach", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", default=os.environ.get(
        "YUNCHU_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    report = run(args)
    text_out = json.dumps(report, ensure_ascii=False, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text_out + "\n", encoding="utf-8")
    print(text_out)


if __name__ == "__main__":
    main()
