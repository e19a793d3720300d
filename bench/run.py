"""`yunchu bench`: the whole path (API click -> rows -> jobs -> workers -> sandbox) measured end
to end on the configured PostgreSQL and Redis, and, with --baseline, the same scenario on the
idiomatic design (one RQ job per delivery, one synchronous HTTP exchange at a time). With
--kill-worker-at SHARE, a second batched run SIGKILLs a worker once SHARE of its withdrawal is
done, and the report's ``kill`` section gives the seconds that added (``kill_added_s``). With
--withdraw-at SHARE it runs the emergency instead (``bench.emergency``): the withdrawal clicked
while the push is SHARE done, against a standalone withdrawal of the same posts
(``emergency_ratio``)."""

from __future__ import annotations

import json
import os
import platform as host_platform
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, literal_column, select, text
from sqlalchemy.engine import make_url

from cli.ports import free_port, wait_port
from hub.infra.config import Settings, load_settings
from hub.infra.runtime import Runtime
from hub.models import PUBLISH_OPEN, Delivery, utcnow

from .cpumeter import CpuMeter, calibrate, calibrate_memory, process_cpu_s
from .floor import FloorResult, measure_floor
from .kill_worker import WorkerKiller
from .profile import PhaseProfiler

WITHDRAW_OPEN_STATES = ("sending", "retry", "withdraw_queued", "withdrawing", "withdraw_retry",
                        "manual")
BENCH_REDIS_DB = int(os.environ.get("YUNCHU_BENCH_REDIS_DB", "9"))  # a private db per session
BACKGROUND_OFF = {"YUNCHU_REACH_INTERVAL_S": "0", "YUNCHU_INTAKE_INTERVAL_S": "86400"}
POLL_EVERY_S = 1.0  # how often the bench asks whether a phase is done


@dataclass
class DesignResult:
    design: str
    accounts: int
    push_s: float | None = None
    withdraw_s: float | None = None
    deliveries_per_s: float | None = None
    withdrawals_per_s: float | None = None
    lost: int = 0
    # A phase that hit --timeout (--baseline-timeout): its *_s stay None, its rate is measured
    # over the timeout on what finished, and unfinished rows are not "lost", just not done.
    timed_out: list[str] = field(default_factory=list)
    unfinished: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    live_after_withdraw: int = 0
    failed: int = 0
    states_after_push: dict[str, int] = field(default_factory=dict)
    attempt_outcomes: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    # Each phase's CPU seconds per process group, and the whole machine's busy seconds.
    cpu_s_by_phase: dict[str, dict[str, float]] = field(default_factory=dict)
    # Seconds the phase's two API calls took (clicks_s), from their start until 10/50/90/99/
    # 100 % of its rows were terminal, and until each platform's last one: where the time
    # goes (the click itself, ramp-up, steady rate, tail). Only clicks_s for a phase that
    # ran out of time.
    timeline: dict[str, dict[str, Any]] = field(default_factory=dict)
    sandbox: dict[str, Any] = field(default_factory=dict)
    # Platform calls the sandbox counted during the withdrawal (all platforms): the number of
    # calls the floor (floor.py) makes.
    withdraw_calls: int = 0
    # --kill-worker-at: the worker killed during the withdrawal (see kill_worker.WorkerKiller).
    kill: dict[str, Any] = field(default_factory=dict)


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return -1.0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    return round(process_cpu_s(pid), 2)


def _sandbox_get(url: str, path: str) -> Any:
    with urllib.request.urlopen(url + path, timeout=30) as response:
        return json.loads(response.read())


def _sandbox_post(url: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


class Bench:
    def __init__(self, settings: Settings, *, accounts: int, latency_ms: float, workers: int,
                 log=print, profile_dir: Path | None = None):
        self.base_settings = settings
        self.profile_dir = profile_dir
        self.accounts = accounts
        # Weibo's per-app (per-IP) hourly budget is 30,000 calls; a push and a withdrawal cost
        # two per Weibo account, so above ~50,000 accounts one app cannot serve the run within
        # the hour (it is platform-bound, not hub-bound). The sandbox is given room for 2 runs.
        self.weibo_app_hourly = max(30_000, 2 * 2 * accounts)
        self.latency_ms = latency_ms
        self.worker_count = workers
        self.log = log
        self.tmp = Path(tempfile.mkdtemp(prefix="yunchu-bench-"))
        self.processes: list[subprocess.Popen] = []
        self.database_url, self.drop_database = self._bench_database()
        self.redis_url, self.embedded = self._bench_redis()
        self.sandbox_port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.secret = secrets.token_urlsafe(32)
        self.public_url = "http://127.0.0.1:8000"
        self.settings = settings.with_overrides(
            database_url=self.database_url, redis_url=self.redis_url, data_dir=self.tmp,
            public_url=self.public_url, secret_key=self.secret,
            outbound_allow=f"127.0.0.1:{self.sandbox_port}",  # the sandbox, on loopback
            bootstrap_token="yc_bench_" + secrets.token_urlsafe(16))
        self.env = {**os.environ, "YUNCHU_DATABASE_URL": self.database_url,
                    "YUNCHU_REDIS_URL": self.redis_url, "YUNCHU_DATA_DIR": str(self.tmp),
                    "YUNCHU_SECRET_KEY": self.secret, "YUNCHU_PUBLIC_URL": self.public_url,
                    "YUNCHU_OUTBOUND_ALLOW": f"127.0.0.1:{self.sandbox_port}",
                    "YUNCHU_BATCH_SIZE": str(settings.batch_size),
                    "YUNCHU_CONCURRENCY": str(settings.concurrency),
                    "YUNCHU_LEASE_S": str(settings.lease_s),
                    "YUNCHU_WORKER_ALIVE_S": str(settings.worker_alive_s),
                    "YUNCHU_RECONCILE_INTERVAL_S": str(settings.reconcile_interval_s),
                    # Push and withdrawal alone: reach collection (and comment intake, which
                    # `bench --intake` measures beside a withdrawal) would share the workers.
                    **BACKGROUND_OFF}
        self.runtime: Runtime | None = None
        self.client = None
        self.reviewers: list[str] = []

    # ----------------------------------------------------------------- setup / teardown

    def _bench_database(self) -> tuple[str, Any]:
        url = self.base_settings.database_url
        if url.startswith("sqlite"):
            return f"sqlite:///{self.tmp / 'bench.db'}", None
        name = f"yunchu_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin_url = make_url(url).set(drivername="postgresql+psycopg")
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return admin_url.set(database=name).render_as_string(hide_password=False), drop

    def _bench_redis(self) -> tuple[str, Any]:
        if self.base_settings.redis_embedded:
            from cli.embedded import EmbeddedRedis

            embedded = EmbeddedRedis(self.tmp)
            return embedded.start(), embedded
        url = self.base_settings.redis_url.rsplit("/", 1)[0] + f"/{BENCH_REDIS_DB}"
        import redis

        redis.Redis.from_url(url).flushdb()
        return url, None

    def setup(self) -> None:
        from cli.province import seed
        from hub.app import create_app
        from hub.infra.bootstrap import prepare

        sandbox = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", str(self.sandbox_port),
             "--latency-ms", str(self.latency_ms)],
            env={**self.env, "YUNCHU_SANDBOX_WEIBO_APP_HOURLY": str(self.weibo_app_hourly)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(sandbox)
        wait_port(self.sandbox_port)
        self.runtime = Runtime(self.settings)
        prepare(self.runtime)
        started = time.perf_counter()
        seed(self.runtime, accounts=self.accounts, sandbox=self.sandbox_url)
        self.log(f"seeded {self.accounts} accounts in {time.perf_counter() - started:.1f}s")
        app = create_app(runtime=self.runtime)
        self.client = app.test_client()
        self.reviewers = reviewers(self._api)

    def close(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
        if self.runtime:
            self.runtime.close()
        if self.embedded:
            self.embedded.stop()
        if self.drop_database:
            self.drop_database()

    # ----------------------------------------------------------------- content

    def _api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        assert self.client is not None
        headers = {"Authorization": f"Bearer {token or self.settings.bootstrap_token}"}
        response = self.client.open(path, method=method, json=body, headers=headers)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.json}")
        return response.json

    def _upload(self, data: bytes, name: str) -> str:
        import io

        assert self.client is not None
        response = self.client.post(
            "/api/v1/assets", data={"file": (io.BytesIO(data), name)},
            headers={"Authorization": f"Bearer {self.settings.bootstrap_token}"},
            content_type="multipart/form-data")
        return response.json["id"]

    def approved_items(self, tag: str) -> tuple[str, str]:
        """An article with a cover (WeChat, Weibo, city app) and a video (Douyin), approved."""
        from cli.demo_media import demo_cover_jpeg, demo_video_mp4

        cover = self._upload(demo_cover_jpeg(), "cover.jpg")
        clip = self._upload(demo_video_mp4(), "clip.mp4")
        article = self._api("POST", "/api/v1/items", {
            "org": "yun", "kind": "article", "title": f"全省防汛工作部署（{tag}）",
            "body": "<p>各地要压实防汛责任，做好强降雨应对。</p>", "summary": "部署强降雨应对",
            "author": "王敏", "source": "云省日报", "cover": cover})["id"]
        video = self._api("POST", "/api/v1/items", {
            "org": "yun", "kind": "video", "title": f"防汛一线直击（{tag}）", "body": "",
            "summary": "一线记者直击", "cover": cover, "assets": [clip]})["id"]
        for item in (article, video):
            approve(self._api, item, self.reviewers)
        return article, video

    # ----------------------------------------------------------------- measuring

    def _counts(self, column, keys: list[str], states: tuple[str, ...] | None = None
                ) -> dict[str, int]:
        """Rows per state (of ``states`` only, when given)."""
        assert self.runtime is not None
        query = select(Delivery.state, func.count()).where(column.in_(keys))
        if states is not None:
            query = query.where(Delivery.state.in_(states))
        with self.runtime.db.session() as session:
            rows = session.execute(query.group_by(Delivery.state)).all()
        return {state: n for state, n in rows}

    def _wait(self, column, keys: list[str], open_states: tuple[str, ...], finished_column,
              clicked_at: float, timeout: float) -> tuple[float | None, dict[str, int]]:
        """Seconds from the click until the last row of ``keys`` became terminal.

        The end is read from the rows' own timestamps once polling sees nothing open, so the
        polling can be slow (once a second): counting 100,000 rows is itself work for
        the database the run is measuring, and it would otherwise be part of the result."""
        while time.time() - clicked_at < timeout:
            asked = time.perf_counter()
            # Only the open rows: counting every row each second was, at 100,000 rows,
            # 3 s of PostgreSQL's time during the withdrawal it measured.
            if not self._counts(column, keys, open_states):
                polled_s = time.time() - clicked_at
                counts = self._counts(column, keys)
                last = self._last_change(column, keys, finished_column)
                if last is None:
                    return polled_s, counts
                return min(polled_s, max(0.0, last - clicked_at)), counts
            # Once a second, as the progress endpoints are meant to be polled (docs/contract.md): polling
            # faster adds the bench's own queries to the load it measures.
            time.sleep(max(POLL_EVERY_S, 10 * (time.perf_counter() - asked)))
        return None, self._counts(column, keys)

    def _last_change(self, column, keys: list[str], finished_column) -> float | None:
        assert self.runtime is not None
        with self.runtime.db.session() as session:
            last = session.execute(select(func.max(func.coalesce(
                finished_column, Delivery.updated_at))).where(column.in_(keys))).scalar()
        return last.timestamp() if last is not None else None

    def _timeline(self, column, keys: list[str], finished_column,
                  clicked_at: float) -> dict[str, Any]:
        assert self.runtime is not None
        with self.runtime.db.session() as session:
            rows = session.execute(select(Delivery.platform, func.coalesce(
                finished_column, Delivery.updated_at)).where(column.in_(keys))).all()
        if not rows:
            return {}
        ends = sorted(max(0.0, at.timestamp() - clicked_at) for _, at in rows)
        shares = {f"p{share}": round(ends[min(len(ends) - 1, len(ends) * share // 100)], 2)
                  for share in (1, 10, 50, 90, 99)}
        last: dict[str, float] = {}
        for platform, at in rows:
            last[platform] = max(last.get(platform, 0.0), at.timestamp() - clicked_at)
        return {"first": round(ends[0], 2), **shares, "p100": round(ends[-1], 2),
                "last_by_platform": {k: round(v, 2) for k, v in sorted(last.items())}}

    def _start_workers(self, command: list[str]) -> list[subprocess.Popen]:
        logs = [open(self.tmp / f"worker-{len(self.processes) + i}.log", "wb")  # noqa: SIM115
                for i in range(self.worker_count)]
        procs = [subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL, stderr=log)
                 for log in logs]
        self.processes += procs
        time.sleep(1.5)  # let them import and connect before the click
        return procs

    def _stop(self, procs: list[subprocess.Popen]) -> dict[str, float]:
        peaks = {f"worker{i}": _peak_rss_mb(p.pid) for i, p in enumerate(procs)}
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        return peaks

    def _reset_sandbox(self) -> None:
        from cli.province import enrol_in_sandbox
        from hub.platforms import specs

        _sandbox_post(self.sandbox_url, "/_sandbox/reset", {})
        assert self.runtime is not None
        from hub.models import Account

        enrolled = [name for name, spec in specs().items() if spec.sandbox_account is not None]
        with self.runtime.db.session() as session:
            rows = session.execute(select(Account.id, Account.platform, Account.credentials_sealed)
                                   .where(Account.platform.in_(enrolled))).all()
        enrol_in_sandbox(self.sandbox_url, [
            (platform, self.runtime.box.open(sealed, bound_to=account_id))
            for account_id, platform, sealed in rows])

    def run_design(self, design: str, timeout: float, *,
                   kill_at: float | None = None) -> DesignResult:
        result = DesignResult(design=design, accounts=self.accounts)
        self._reset_sandbox()
        article, video = self.approved_items(design if kill_at is None else
                                             f"{design}, worker killed")
        if design == "batched":
            workers = self._start_workers([sys.executable, "-m", "cli", "worker"])
        else:
            workers = self._start_workers([sys.executable, "-m", "bench.baseline"])
        meter = CpuMeter(lambda: {"sandbox": self.processes[0].pid,
                                  **{f"worker{i}": p.pid for i, p in enumerate(workers)}})
        dispatches = []
        cpu_at_push = meter.snapshot()
        clicked_at = time.time()
        dispatches.append(self._api("POST", f"/api/v1/items/{article}/push", {"targets": {
            "orgs": ["yun"], "platforms": ["wechat", "weibo", "cityapp"]}})["dispatch_id"])
        dispatches.append(self._api("POST", f"/api/v1/items/{video}/push", {"targets": {
            "orgs": ["yun"], "platforms": ["douyin"]}})["dispatch_id"])
        push_clicks_s = time.time() - clicked_at
        if design == "baseline":
            self._enqueue_one_per_delivery("publish", Delivery.dispatch_id, dispatches)
        push_s, counts = self._wait(Delivery.dispatch_id, dispatches, PUBLISH_OPEN,
                                    Delivery.published_at, clicked_at, timeout)
        result.push_s = round(push_s, 3) if push_s is not None else None
        result.cpu_s_by_phase["push"] = meter.since(cpu_at_push, meter.snapshot())
        result.timeline["push"] = {"clicks_s": round(push_clicks_s, 3)}
        if push_s is not None:  # the rows of an unfinished phase have no end to read
            result.timeline["push"].update(self._timeline(
                Delivery.dispatch_id, dispatches, Delivery.published_at, clicked_at))
        result.states_after_push = counts
        result.failed = counts.get("failed", 0)
        open_after_push = sum(counts.get(s, 0) for s in PUBLISH_OPEN)
        if push_s is None:
            result.timed_out.append("push")
            result.unfinished["push"] = open_after_push
            result.deliveries_per_s = round((sum(counts.values()) - open_after_push) / timeout, 1)
        else:
            result.lost = open_after_push
        stats = _sandbox_get(self.sandbox_url, "/_sandbox/stats")
        live_published = counts.get("published", 0) + counts.get("pending_review", 0)
        unique_created = sum(v["created"] - v["duplicates"] for v in stats.values())
        result.lost += max(0, live_published - unique_created)
        requests_after_push = sum(v["requests"] for v in stats.values())
        self.log(f"[{design}] push: {result.push_s}s {counts}")

        profiler = None
        if self.profile_dir is not None and kill_at is None:
            profiler = PhaseProfiler(self.profile_dir, f"withdraw-{design}", self.log)
            profiler.start({"sandbox": self.processes[0].pid, "bench_and_api": os.getpid(),
                            **{f"worker{i}": p.pid for i, p in enumerate(workers)}})
            time.sleep(0.5)  # attached before the click
        cpu_at_withdraw = meter.snapshot()
        withdrawals = []
        clicked_at = time.time()
        for item in (article, video):
            withdrawals.append(self._api("POST", f"/api/v1/items/{item}/withdraw",
                                         {"reason": "基准测试撤稿"})["withdrawal_id"])
        withdraw_clicks_s = time.time() - clicked_at
        if design == "baseline":
            self._enqueue_one_per_delivery("withdraw", Delivery.withdrawal_id, withdrawals)
        killer = None
        if kill_at is not None:
            assert self.runtime is not None
            killer = WorkerKiller(self.runtime, workers, withdrawals, WITHDRAW_OPEN_STATES,
                                  kill_at, clicked_at, self.log)
            killer.start()
        withdraw_s, wcounts = self._wait(Delivery.withdrawal_id, withdrawals,
                                         WITHDRAW_OPEN_STATES, Delivery.withdrawn_at,
                                         clicked_at, timeout)
        if profiler is not None:
            profiler.stop()
        if killer is not None:
            killer.stopping.set()
            killer.join()
            result.kill = killer.report()
        result.withdraw_s = round(withdraw_s, 3) if withdraw_s is not None else None
        result.cpu_s_by_phase["withdraw"] = meter.since(cpu_at_withdraw, meter.snapshot())
        result.timeline["withdraw"] = {"clicks_s": round(withdraw_clicks_s, 3)}
        if withdraw_s is not None:
            result.timeline["withdraw"].update(self._timeline(
                Delivery.withdrawal_id, withdrawals, Delivery.withdrawn_at, clicked_at))
        stats = _sandbox_get(self.sandbox_url, "/_sandbox/stats")
        result.sandbox = stats
        result.withdraw_calls = sum(v["requests"] for v in stats.values()) - requests_after_push
        result.duplicates = sum(v["duplicates"] for v in stats.values())
        result.live_after_withdraw = sum(v["live"] for v in stats.values())
        open_after_withdraw = sum(wcounts.get(s, 0) for s in WITHDRAW_OPEN_STATES)
        total = sum(counts.values())
        if result.push_s:
            result.deliveries_per_s = round(total / result.push_s, 1)
        if result.withdraw_s:
            result.lost += open_after_withdraw
            result.withdrawals_per_s = round(sum(wcounts.values()) / result.withdraw_s, 1)
        else:
            result.timed_out.append("withdraw")
            result.unfinished["withdraw"] = open_after_withdraw
            # Only posts actually taken down count (not pushes cancelled before they ran).
            result.withdrawals_per_s = round(wcounts.get("withdrawn", 0) / timeout, 1)
        result.attempt_outcomes, result.errors = self._attempts(dispatches)
        result.cpu_s = {f"worker{i}": _cpu_s(p.pid) for i, p in enumerate(workers)}
        result.cpu_s["sandbox"] = _cpu_s(self.processes[0].pid)
        result.peak_rss_mb = self._stop(workers)
        result.peak_rss_mb["sandbox"] = _peak_rss_mb(self.processes[0].pid)
        result.peak_rss_mb["hub_api_and_bench"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        self.log(f"[{design}] withdraw: {result.withdraw_s}s {wcounts} "
                 f"live_after={result.live_after_withdraw} dup={result.duplicates}")
        return result

    def _attempts(self, dispatches: list[str]) -> tuple[dict[str, int], dict[str, int]]:
        from hub.models import DeliveryAttempt

        assert self.runtime is not None
        with self.runtime.db.session() as session:
            ids = select(Delivery.id).where(Delivery.dispatch_id.in_(dispatches))
            outcomes = session.execute(
                select(DeliveryAttempt.action + ":" + DeliveryAttempt.outcome, func.count())
                .where(DeliveryAttempt.delivery_id.in_(ids)).group_by(
                    DeliveryAttempt.action, DeliveryAttempt.outcome)).all()
            head = func.substr(DeliveryAttempt.error, literal_column("1"), literal_column("80"))
            errors = session.execute(
                select(head, func.count())
                .where(DeliveryAttempt.delivery_id.in_(ids), DeliveryAttempt.error.is_not(None))
                .group_by(head)
                .order_by(func.count().desc()).limit(10)).all()
        return {k: n for k, n in outcomes}, {k: n for k, n in errors}

    def _enqueue_one_per_delivery(self, action: str, column, keys: list[str]) -> None:
        from rq import Queue

        from hub.fanout.queueing import queue

        from .baseline import BASELINE_QUEUE

        assert self.runtime is not None
        with self.runtime.db.session() as session:
            rows = session.execute(select(Delivery.id, Delivery.platform).where(
                column.in_(keys))).all()
        q = queue(self.runtime.redis, BASELINE_QUEUE)
        jobs = [Queue.prepare_data("bench.baseline.deliver_one",
                                   args=(action, platform, delivery_id), result_ttl=0,
                                   timeout=120) for delivery_id, platform in rows]
        for start in range(0, len(jobs), 1000):
            q.enqueue_many(jobs[start:start + 1000])


def reviewers(api) -> list[str]:
    """Three reviewers, one per stage (初审, 复审, 终审); returns their tokens."""
    return [api("POST", "/api/v1/users", {"org": "yun", "name": f"审核员{stage}",
                                          "roles": ["reviewer"], "review_stage": stage})["token"]
            for stage in (1, 2, 3)]


def approve(api, item: str, tokens: list[str]) -> None:
    """Submit and pass the three reviews."""
    api("POST", f"/api/v1/items/{item}/submit")
    for token in tokens:
        api("POST", f"/api/v1/items/{item}/reviews", {"decision": "approve", "comment": "同意"},
            token=token)


def run(*, accounts: int, latency_ms: float, baseline: bool, json_path: Path | None,
        workers: int = 2, timeout: float = 1800, baseline_timeout: float | None = None,
        kill_worker_at: float | None = None, withdraw_at: float | None = None,
        log=print, profile_dir: Path | None = None) -> dict[str, Any]:
    settings = load_settings()
    bench = Bench(settings, accounts=accounts, latency_ms=latency_ms, workers=workers, log=log,
                  profile_dir=profile_dir)
    try:
        bench.setup()
        if withdraw_at is not None:
            from .emergency import run_emergency

            emergency = run_emergency(bench, withdraw_at, timeout)
            results: dict[str, Any] = {"emergency": emergency,
                                       "emergency_ratio": emergency["emergency_ratio"]}
            return _report(bench, settings, results, json_path, accounts=accounts,
                           latency_ms=latency_ms, workers=workers, kill_worker_at=None,
                           withdraw_at=withdraw_at)
        batched = bench.run_design("batched", timeout)
        results = {"batched": asdict(batched)}
        if batched.withdraw_calls and batched.withdraw_s:
            in_flight = workers * settings.concurrency
            floor = measure_floor(batched.withdraw_calls, latency_ms, in_flight)
            same_loop = measure_floor(batched.withdraw_calls, latency_ms, in_flight,
                                      loop="uvloop")
            results["floor"] = floor_summary(batched, floor, same_loop)
            log(floor_line(results["floor"]))
        if kill_worker_at is not None:
            killed = bench.run_design("batched", timeout, kill_at=kill_worker_at)
            results["batched_worker_killed"] = asdict(killed)
            results["kill"] = kill_summary(batched, killed)
        if baseline:
            base_timeout = baseline_timeout or timeout
            base = bench.run_design("baseline", base_timeout)
            results["baseline"] = asdict(base)
            results["ratios"] = {
                # Wall-clock ratios; when the baseline ran out of time, the timeout over the
                # batched time is a lower bound, and the throughput ratio is measured.
                "push_speedup": _ratio(base.push_s, batched.push_s),
                "push_speedup_at_least": _ratio(base.push_s or base_timeout, batched.push_s),
                "withdraw_speedup": _ratio(base.withdraw_s, batched.withdraw_s),
                "withdraw_speedup_at_least": _ratio(base.withdraw_s or base_timeout,
                                                    batched.withdraw_s),
                "push_throughput_ratio": _ratio(batched.deliveries_per_s, base.deliveries_per_s),
                "withdraw_throughput_ratio": _ratio(batched.withdrawals_per_s,
                                                    base.withdrawals_per_s),
                "baseline_timeout_s": base_timeout,
            }
    finally:
        bench.close()
    return _report(bench, settings, results, json_path, accounts=accounts,
                   latency_ms=latency_ms, workers=workers, kill_worker_at=kill_worker_at,
                   withdraw_at=None)


def _report(bench: Bench, settings: Settings, results: dict[str, Any], json_path: Path | None,
            *, accounts: int, latency_ms: float, workers: int, kill_worker_at: float | None,
            withdraw_at: float | None) -> dict[str, Any]:
    report = {
        "scenario": {"accounts": accounts, "latency_ms": latency_ms, "workers": workers,
                     "kill_worker_at": kill_worker_at, "withdraw_at": withdraw_at,
                     "lease_s": settings.lease_s,
                     "worker_alive_s": settings.worker_alive_s,
                     "reconcile_interval_s": settings.reconcile_interval_s,
                     "platforms": "wechat+weibo+cityapp article, douyin video",
                     "database": "postgresql" if "postgresql" in bench.database_url else "sqlite",
                     "batch_size": settings.batch_size, "concurrency": settings.concurrency,
                     "sandbox_weibo_app_calls_per_hour": bench.weibo_app_hourly},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "platform": host_platform.platform(),
                    "calibration_s": calibrate(),
                    "calibration_memory_s": calibrate_memory()},
        "when": utcnow().isoformat(),
        **results,
    }
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return report


def floor_summary(withdrawal: DesignResult, floor: FloorResult,
                  same_loop: FloorResult | None = None) -> dict[str, Any]:
    """The withdrawal against the bare floor for the same calls: wall time and CPU per call.
    ``floor`` runs on asyncio's own loop (the floor the targets were set against);
    ``same_loop``, when given, on uvloop like the workers and the sandbox (``uvloop_*``)."""
    withdraw_cpu = withdrawal.cpu_s_by_phase.get("withdraw", {})
    worker_cpu_s = sum(v for k, v in withdraw_cpu.items() if k.startswith("worker"))
    worker_per_call_ms = round(worker_cpu_s / withdrawal.withdraw_calls * 1000, 4)
    summary = {**asdict(floor), "withdraw_s": withdrawal.withdraw_s,
               "withdraw_floor_ratio": _ratio(withdrawal.withdraw_s, floor.floor_s, 2),
               "worker_cpu_s": round(worker_cpu_s, 2),
               "worker_cpu_per_call_ms": worker_per_call_ms,
               "floor_client_cpu_per_call_ms": floor.client_cpu_per_call_ms,
               "worker_client_cpu_ratio": _ratio(worker_per_call_ms,
                                                 floor.client_cpu_per_call_ms, 2)}
    if same_loop is not None:
        summary |= {
            "uvloop_floor_s": same_loop.floor_s,
            "withdraw_uvloop_floor_ratio": _ratio(withdrawal.withdraw_s, same_loop.floor_s, 2),
            "uvloop_client_cpu_per_call_ms": same_loop.client_cpu_per_call_ms,
            "worker_uvloop_client_cpu_ratio": _ratio(worker_per_call_ms,
                                                     same_loop.client_cpu_per_call_ms, 2)}
    return summary


def floor_line(floor: dict[str, Any]) -> str:
    return (f"[floor] {floor['calls']} calls, {floor['concurrency']} in flight, "
            f"{floor['latency_ms']:g} ms: floor {floor['floor_s']}s, withdraw "
            f"{floor['withdraw_s']}s = {floor['withdraw_floor_ratio']}x the floor; CPU per call: "
            f"workers {floor['worker_cpu_per_call_ms']} ms, bare client "
            f"{floor['floor_client_cpu_per_call_ms']} ms "
            f"({floor['worker_client_cpu_ratio']}x)" + (
                f"; on uvloop: floor {floor['uvloop_floor_s']}s "
                f"({floor['withdraw_uvloop_floor_ratio']}x), bare client "
                f"{floor['uvloop_client_cpu_per_call_ms']} ms "
                f"({floor['worker_uvloop_client_cpu_ratio']}x)"
                if "uvloop_floor_s" in floor else ""))


def kill_summary(undisturbed: DesignResult, killed: DesignResult) -> dict[str, Any]:
    """The withdrawal with a worker SIGKILLed against the one without, same invocation."""
    added = (round(killed.withdraw_s - undisturbed.withdraw_s, 3)
             if killed.withdraw_s is not None and undisturbed.withdraw_s is not None else None)
    return {**killed.kill, "withdraw_s_undisturbed": undisturbed.withdraw_s,
            "withdraw_s_worker_killed": killed.withdraw_s, "kill_added_s": added,
            "duplicates": killed.duplicates, "live_after_withdraw": killed.live_after_withdraw,
            "lost": killed.lost}


def _ratio(slow: float | None, fast: float | None, digits: int = 1) -> float | None:
    if not slow or not fast:
        return None
    return round(slow / fast, digits)
