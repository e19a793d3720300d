"""A complete fan-out rig: hub on PostgreSQL, real Redis (a private db index), the sandbox,
worker subprocesses that can be killed, and helpers to approve, push and wait."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.plugins.hub import BOOT_TOKEN, HubClient, database_url_for, make_hub

REPO = Path(__file__).resolve().parents[2]
FANOUT_REDIS_DB = 5
PUBLIC_URL = "http://127.0.0.1:8000"


@dataclass
class FanoutRig:
    hub: HubClient
    sandbox: Any
    redis_url: str
    env: dict[str, str]
    log_dir: Path
    workers: list[subprocess.Popen] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    started: int = 0
    killed: dict[int, float] = field(default_factory=dict)  # pid -> time.time() of the kill

    # -------------------------------------------------------------- workers

    def _spawn(self, env: dict[str, str]) -> subprocess.Popen:
        # Logs go to files: an unread pipe fills up and then blocks the worker mid-write.
        self.started += 1
        self.env.update(env)  # replacements started later keep the same settings
        with open(self.log_dir / f"worker-{self.started}.log", "wb") as log:
            return subprocess.Popen([sys.executable, "-m", "cli", "worker"], cwd=REPO,
                                    env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start_workers(self, count: int = 2, **env: str) -> None:
        for _ in range(count):
            self.workers.append(self._spawn(env))

    def kill_worker(self, index: int = 0) -> float:
        """SIGKILL a worker; returns when (``time.time()``) it was killed."""
        proc = self.workers[index]
        proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        proc.wait(timeout=10)
        self.killed[proc.pid] = killed_at
        return killed_at

    def beating(self, index: int) -> bool:
        """Whether the worker has started and its heartbeat's alive key exists."""
        from hub.fanout.liveness import ALIVE_PREFIX

        pid = self.workers[index].pid
        connection = redis.Redis.from_url(self.redis_url)
        try:
            return any(True for _ in connection.scan_iter(f"{ALIVE_PREFIX}*:{pid}:*"))
        finally:
            connection.close()

    def replace_worker(self, index: int = 0, **env: str) -> None:
        self.kill_worker(index)
        self.workers[index] = self._spawn(env)

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for proc in self.workers:
            proc.wait(timeout=10)
        self.workers.clear()

    # -------------------------------------------------------------- content

    def seed(self, accounts: int) -> None:
        from cli.province import seed

        seed(self.hub.runtime, accounts=accounts, sandbox=self.sandbox.url)

    def upload(self, data: bytes, name: str) -> str:
        import io

        r = self.hub.client.post("/api/v1/assets", data={"file": (io.BytesIO(data), name)},
                                 headers={"Authorization": f"Bearer {self.hub.token}"},
                                 content_type="multipart/form-data")
        assert r.status_code == 201, r.json
        return r.json["id"]

    def cover(self) -> str:
        from tests.storage.samples import encode, halves

        return self.upload(encode(halves((1200, 600)), "JPEG"), "cover.jpg")

    def approved_video(self, title: str = "防汛一线直击", org: str = "yun") -> str:
        from tests.storage.samples import video

        clip = self.upload(video(), "clip.mp4")
        return self.approved_item(title=title, org=org, kind="video", assets=[clip],
                                  cover=self.cover())

    def approved_item(self, title: str = "全省防汛工作会议召开", org: str = "yun",
                      **fields: Any) -> str:
        if not self.reviewers:
            for stage in (1, 2, 3):
                r = self.hub.post("/api/v1/users", {"org": "yun", "name": f"审核{stage}",
                                                    "roles": ["reviewer"], "review_stage": stage})
                assert r.status_code == 201, r.json
                self.reviewers.append(r.json["token"])
        fields.setdefault("cover", self.cover())
        body = {"org": org, "kind": "article", "title": title,
                "body": "<p>会议要求各地压实防汛责任，做好强降雨应对。</p>",
                "summary": "部署本周强降雨应对工作", "author": "王敏", "source": "云省日报",
                **fields}
        r = self.hub.post("/api/v1/items", body)
        assert r.status_code == 201, r.json
        item = r.json["id"]
        assert self.hub.post(f"/api/v1/items/{item}/submit").status_code == 200
        for token in self.reviewers:
            r = self.hub.post(f"/api/v1/items/{item}/reviews", {"decision": "approve",
                                                                "comment": "同意"}, token=token)
            assert r.status_code == 200, r.json
        assert self.hub.get(f"/api/v1/items/{item}").json["status"] == "approved"
        return item

    def push(self, item: str, targets: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.hub.post(f"/api/v1/items/{item}/push", {"targets": targets or {"orgs": ["yun"]}})
        assert r.status_code == 202, r.json
        return r.json

    def withdraw(self, item: str, reason: str = "内容有误") -> dict[str, Any]:
        r = self.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": reason})
        assert r.status_code == 202, r.json
        return r.json

    def wait(self, path: str, done, timeout: float = 120.0, poll: float = 0.25) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            last = self.hub.get(path).json
            if done(last):
                return last
            time.sleep(poll)
        dead = [p.returncode for p in self.workers if p.poll() is not None]
        raise AssertionError(f"{path} not done after {timeout}s: {last} (dead workers: {dead})")

    def wait_dispatch(self, dispatch_id: str, timeout: float = 120.0) -> dict[str, Any]:
        return self.wait(f"/api/v1/dispatches/{dispatch_id}", lambda d: d["state"] == "done",
                         timeout)

    def wait_withdrawal(self, withdrawal_id: str, timeout: float = 120.0) -> dict[str, Any]:
        return self.wait(f"/api/v1/withdrawals/{withdrawal_id}",
                         lambda d: d["state"] == "done", timeout)

    def failures(self, dispatch_id: str) -> list[dict[str, Any]]:
        """The failed deliveries of a dispatch (first page), to explain a failed assertion."""
        r = self.hub.get(f"/api/v1/dispatches/{dispatch_id}/deliveries",
                         query_string={"state": "failed"})
        return [{k: d.get(k) for k in ("account", "attempts", "error")} for d in r.json["items"]]

    def live_posts(self) -> int:
        return sum(v["live"] for v in self.sandbox.stats().values())

    def duplicates(self) -> int:
        return sum(v["duplicates"] for v in self.sandbox.stats().values())

    def redrive_delays(self) -> dict[int, float]:
        """For each killed worker that held claims: seconds from its SIGKILL until the
        reconciler took the last of them back (its 'interrupted' history rows)."""
        from sqlalchemy import func, select

        from hub.models import DeliveryAttempt

        with self.hub.runtime.db.session() as session:
            rows = session.execute(
                select(DeliveryAttempt.worker, func.max(DeliveryAttempt.at))
                .where(DeliveryAttempt.outcome == "interrupted")
                .group_by(DeliveryAttempt.worker)).all()
        delays = {}
        for worker, at in rows:
            pid = int(worker.split(":")[1])  # worker names are host:pid:random
            if pid in self.killed:
                delays[pid] = at.timestamp() - self.killed[pid]
        return delays


@pytest.fixture
def fanout(request: pytest.FixtureRequest, redis_server_url: str, sandbox,
           tmp_path: Path) -> Iterator[FanoutRig]:
    redis_url = redis_server_url.rsplit("/", 1)[0] + f"/{FANOUT_REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    database_url = database_url_for(request, "postgres", tmp_path)
    secret = "fanout-secret-" + uuid.uuid4().hex
    hub = make_hub(database_url, redis_url, tmp_path, public_url=PUBLIC_URL, secret_key=secret,
                   outbound_allow=sandbox.allow_entry)
    env = {**os.environ, "YUNCHU_DATABASE_URL": database_url, "YUNCHU_REDIS_URL": redis_url,
           "YUNCHU_OUTBOUND_ALLOW": sandbox.allow_entry,
           "YUNCHU_SECRET_KEY": secret, "YUNCHU_DATA_DIR": str(tmp_path / "data"),
           "YUNCHU_PUBLIC_URL": PUBLIC_URL, "YUNCHU_BOOTSTRAP_TOKEN": BOOT_TOKEN,
           # Lease, alive key and sweep interval at their defaults: the fault tests measure
           # what a deployment gets.
           "YUNCHU_BATCH_SIZE": "100", "YUNCHU_CONCURRENCY": "100",
           "YUNCHU_REACH_INTERVAL_S": "0"}
    log_dir = tmp_path / "worker-logs"
    log_dir.mkdir()
    rig = FanoutRig(hub=hub, sandbox=sandbox, redis_url=redis_url, env=env, log_dir=log_dir)
    try:
        yield rig
    finally:
        rig.stop_workers()
        hub.runtime.close()
