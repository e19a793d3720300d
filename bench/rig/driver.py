"""Drives the hub of a running ``Rig`` the way its users do: seed a province, approve items,
push and withdraw over the HTTP API, run workers on the worker hosts, and read what happened
from the database (``runtime``) and the sandbox's ledger. Call it from a thread that is
``rig.inside()``."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from .cluster import PUBLIC_URL, TOKEN, Rig

ARTICLE_PLATFORMS = ["wechat", "weibo", "cityapp"]


@dataclass
class Worker:
    host: str
    proc: subprocess.Popen
    name: str = ""  # its lease_owner (host:pid:random) once known

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class Driver:
    rig: Rig
    runtime: Any = None
    workers: list[Worker] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    started: int = 0
    server_errors: int = 0  # 5xx answers to reads (see ``ok``)

    def __post_init__(self) -> None:
        from hub.infra.config import load_settings
        from hub.infra.runtime import Runtime

        settings = load_settings(
            env={}, database_url=self.rig.database_url, redis_url=self.rig.redis_url,
            data_dir=self.rig.workdir / "driver", secret_key=self.rig.secret,
            public_url=PUBLIC_URL, outbound_allow=self.rig.sandbox_entry, bootstrap_token=TOKEN)
        self.runtime = Runtime(settings)

    def close(self) -> None:
        self.stop_workers()
        self.runtime.close()

    # ------------------------------------------------------------------ HTTP

    def api(self, method: str, path: str, body: Any = None, *, token: str | None = None,
            raw: bytes | None = None, content_type: str = "application/json") -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(
            self.rig.hub_url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {token or TOKEN}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def ok(self, method: str, path: str, body: Any = None, expect: int = 200, **kw: Any) -> Any:
        status, data = self.api(method, path, body, **kw)
        for _ in range(3):
            # A read right after PostgreSQL restarted meets a pooled connection that died
            # with it (the pool then renews itself): the driver asks again, and counts it.
            if method != "GET" or status < 500:
                break
            self.server_errors += 1
            time.sleep(0.5)
            status, data = self.api(method, path, body, **kw)
        assert status == expect, (method, path, status, data)
        return data

    def sandbox(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.rig.sandbox_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    # ------------------------------------------------------------------ content

    def seed(self, accounts: int) -> dict[str, int]:
        from cli.province import seed

        return seed(self.runtime, accounts=accounts, sandbox=self.rig.sandbox_url).by_platform

    def upload(self, data: bytes, name: str) -> str:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        return self.ok("POST", "/api/v1/assets", raw=body, expect=201,
                       content_type=f"multipart/form-data; boundary={boundary}")["id"]

    def cover(self) -> str:
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (1200, 600), (200, 30, 30)).save(out, "JPEG")
        return self.upload(out.getvalue(), "cover.jpg")

    def approved_item(self, title: str, kind: str = "article", **fields: Any) -> str:
        if not self.reviewers:
            for stage in (1, 2, 3):
                made = self.ok("POST", "/api/v1/users", {
                    "org": "yun", "name": f"审核{stage}", "roles": ["reviewer"],
                    "review_stage": stage}, expect=201)
                self.reviewers.append(made["token"])
        body = {"org": "yun", "kind": kind, "title": title, "cover": self.cover(),
                "body": "<p>会议要求各地压实防汛责任，做好强降雨应对。</p>",
                "summary": "部署本周强降雨应对工作", "author": "王敏", "source": "云省日报",
                **fields}
        item = self.ok("POST", "/api/v1/items", body, expect=201)["id"]
        self.ok("POST", f"/api/v1/items/{item}/submit")
        for token in self.reviewers:
            self.ok("POST", f"/api/v1/items/{item}/reviews",
                    {"decision": "approve", "comment": "同意"}, token=token)
        return item

    def push_all(self, label: str, video: bytes | None = None) -> tuple[list[str], list[str]]:
        """An article to every WeChat, Weibo and city-app account, and (given a clip) a video
        to every Douyin account: returns (items, dispatches)."""
        items = [self.approved_item(f"{label}：全省防汛工作会议召开")]
        targets = [{"orgs": ["yun"], "platforms": ARTICLE_PLATFORMS}]
        if video is not None:
            clip = self.upload(video, "clip.mp4")
            items.append(self.approved_item(f"{label}：防汛一线直击", kind="video",
                                            assets=[clip]))
            targets.append({"orgs": ["yun"], "platforms": ["douyin"]})
        dispatches = [self.ok("POST", f"/api/v1/items/{item}/push", {"targets": t},
                              expect=202)["dispatch_id"] for item, t in zip(items, targets,
                                                                            strict=True)]
        return items, dispatches

    def withdraw_all(self, items: list[str]) -> list[str]:
        return [self.ok("POST", f"/api/v1/items/{item}/withdraw", {"reason": "内容有误"},
                        expect=202)["withdrawal_id"] for item in items]

    def wait_done(self, paths: list[str], timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        last: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            last = [self.ok("GET", path) for path in paths]
            if all(p["state"] == "done" for p in last):
                return last
            time.sleep(0.25)
        states = self.states()
        raise AssertionError(f"not done after {timeout}s: {last} (rows by state: {states}; "
                             f"workers alive: {[w.proc.poll() is None for w in self.workers]})")

    def progress(self, paths: list[str]) -> list[dict[str, Any]]:
        return [self.ok("GET", path) for path in paths]

    # ------------------------------------------------------------------ workers

    def start_workers(self, hosts: list[str] | None = None, **env: str) -> None:
        for host in hosts or self.rig.worker_hosts:
            self.started += 1
            proc = self.rig.host(host).spawn([sys.executable, "-m", "cli", "worker"],
                                             env=self.rig.env(**env),
                                             log=f"{host}-worker-{self.started}.log")
            self.workers.append(Worker(host, proc))

    def stop_workers(self) -> None:
        for w in self.workers:
            if w.proc.poll() is None:
                w.proc.send_signal(signal.SIGCONT)
                w.proc.kill()
        for w in self.workers:
            w.proc.wait(timeout=10)
        self.workers.clear()

    def beating(self) -> list[Worker]:
        """The running workers whose alive key exists."""
        import redis

        from hub.fanout.liveness import ALIVE_PREFIX

        connection = redis.Redis.from_url(self.rig.redis_url, socket_timeout=5)
        try:
            keys = [k.decode() for k in connection.scan_iter(f"{ALIVE_PREFIX}*")]
        finally:
            connection.close()
        return [w for w in self.workers if w.proc.poll() is None
                and any(f":{w.pid}:" in k for k in keys)]

    def wait_beating(self, timeout: float = 60) -> None:
        """Until every worker beats (one that was cut off or stopped has come back)."""
        deadline = time.monotonic() + timeout
        while len(self.beating()) < len(self.workers):
            if time.monotonic() > deadline:
                raise AssertionError(f"workers not beating after {timeout}s: "
                                     f"{[w.host for w in self.workers if w not in self.beating()]}")
            time.sleep(0.1)

    def owners_in_flight(self) -> Counter:
        from hub.models import Delivery

        with self.runtime.db.session() as session:
            return Counter(session.execute(select(Delivery.lease_owner).where(
                Delivery.state.in_(("sending", "withdrawing")))).scalars())

    def worker_of(self, owner: str) -> Worker | None:
        pid = int(owner.split(":")[1])  # worker names are host:pid:random
        return next((w for w in self.workers if w.pid == pid), None)

    def wait_in_flight(self, host: str | None = None, least: int = 1,
                       timeout: float = 60) -> tuple[Worker, int]:
        """The worker (on ``host``) holding the most claims, once it holds ``least``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            held = [(self.worker_of(o), n) for o, n in self.owners_in_flight().items() if o]
            held = [(w, n) for w, n in held if w is not None and (host is None or w.host == host)]
            if held:
                worker, count = max(held, key=lambda x: x[1])
                if count >= least:
                    return worker, count
            time.sleep(0.05)
        raise AssertionError(f"no worker{' on ' + host if host else ''} held {least} claims")

    def wait_terminal_share(self, dispatches_or_withdrawals: list[str], share: float,
                            timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.terminal_share(dispatches_or_withdrawals) >= share:
                return
            time.sleep(0.05)
        raise AssertionError(f"{share:.0%} not terminal after {timeout}s: {self.states()}")

    def terminal_share(self, paths: list[str]) -> float:
        done = total = 0
        for p in self.progress(paths):
            counts = p["counts"]
            total += p["total"]
            if "remaining" in p:
                done += p["total"] - p["remaining"]
            else:
                done += sum(counts.get(s, 0) for s in ("published", "pending_review", "failed",
                                                       "skipped", "cancelled"))
        return done / total if total else 0.0

    # ------------------------------------------------------------------ what happened

    def states(self) -> dict[str, int]:
        from hub.models import Delivery

        with self.runtime.db.session() as session:
            return dict(session.execute(select(Delivery.state, func.count())
                                        .group_by(Delivery.state)).all())

    def outcomes_since(self, since: Any) -> dict[str, int]:
        """History rows (``delivery_attempts.outcome``) written after ``since``."""
        from hub.models import DeliveryAttempt

        with self.runtime.db.session() as session:
            return dict(session.execute(select(DeliveryAttempt.outcome, func.count())
                                        .where(DeliveryAttempt.at >= since)
                                        .group_by(DeliveryAttempt.outcome)).all())

    def attempts_by(self, worker: Worker, since: Any) -> int:
        from hub.models import DeliveryAttempt

        with self.runtime.db.session() as session:
            return session.execute(select(func.count()).where(
                DeliveryAttempt.at >= since,
                DeliveryAttempt.worker.like(f"%:{worker.pid}:%"))).scalar_one()

    def ledger(self) -> dict[str, int]:
        """The sandbox's ledger over all platforms: created, deleted, live, duplicates ever
        created (a post made while a twin was live), and duplicates live now."""
        stats = self.sandbox("GET", "/_sandbox/stats")
        totals = {k: sum(v[k] for v in stats.values())
                  for k in ("created", "deleted", "live", "duplicates", "requests")}
        live = self.sandbox("GET", "/_sandbox/posts?state=live")["items"]
        copies = Counter((p["platform"], p["account"], p["title"]) for p in live)
        totals["live_duplicates"] = sum(n - 1 for n in copies.values() if n > 1)
        return totals

    def sandbox_config(self, **changes: Any) -> None:
        self.sandbox("POST", "/_sandbox/config", changes)

    def query(self, statement: Any) -> Any:
        with self.runtime.db.session() as session:
            return session.execute(statement)
