"""The rig of the push / matrix / task API tests: the hub (SQLite or PostgreSQL) on a private
Redis database, the sandbox, a small org tree with users per org and role, sandbox-backed
accounts, approved items, row counts, and the real worker run in-process (burst mode)."""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from hub.fanout.queueing import pending_jobs
from hub.fanout.reconciler import SweepReport, sweep
from hub.models import AuditEntry, Delivery, Dispatch, Matrix, MatrixAccount, Task, Withdrawal
from hub.worker import run_worker
from tests.plugins.hub import HubClient

# yun ─┬─ c1 ─┬─ c1-k1, c1-k2 (counties with accounts), c1-empty (a county with none)
#      └─ c2 ── c2-k1
TREE = (("yun", "province", None), ("c1", "city", "yun"), ("c1-k1", "county", "c1"),
        ("c1-k2", "county", "c1"), ("c1-empty", "county", "c1"), ("c2", "city", "yun"),
        ("c2-k1", "county", "c2"))
WRITTEN = {"dispatches": Dispatch, "deliveries": Delivery, "withdrawals": Withdrawal,
           "tasks": Task, "matrices": Matrix, "matrix_accounts": MatrixAccount}
ROLE_USERS = {"admin": (["admin"], None), "editor": (["editor"], None),
              "operator": (["operator"], None)}


def error_of(response) -> dict[str, Any]:
    """The API's error shape (docs/contract.md), and never a traceback."""
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"]), body
    assert body["error"]["message"], body
    assert "Traceback" not in response.get_data(as_text=True)
    return body["error"]


def parse_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ApiRig:
    hub: HubClient
    sandbox: Any
    tokens: dict[str, str] = field(default_factory=dict)
    reviewers: list[str] = field(default_factory=list)
    cover_id: str | None = None
    serial: itertools.count = field(default_factory=itertools.count)

    # ------------------------------------------------------------------ people and orgs

    def build_tree(self) -> None:
        for slug, kind, parent in TREE:
            r = self.hub.post("/api/v1/orgs", {"slug": slug, "name": f"机构{slug}", "kind": kind,
                                                "parent": parent})
            assert r.status_code == 201, r.json
        for stage in (1, 2, 3):
            r = self.hub.post("/api/v1/users", {"org": "yun", "name": f"审核{stage}",
                                                "roles": ["reviewer"], "review_stage": stage})
            assert r.status_code == 201, r.json
            self.reviewers.append(r.json["token"])

    def token(self, org: str, role: str) -> str:
        """A user with one role in ``org`` (made on first use)."""
        key = f"{org}:{role}"
        if key not in self.tokens:
            roles, stage = ROLE_USERS[role]
            body: dict[str, Any] = {"org": org, "name": f"{role}-{org}", "roles": roles}
            if stage:
                body["review_stage"] = stage
            r = self.hub.post("/api/v1/users", body)
            assert r.status_code == 201, r.json
            self.tokens[key] = r.json["token"]
        return self.tokens[key]

    # ------------------------------------------------------------------ accounts

    def account(self, org: str, platform: str = "wechat", *, status: str | None = None,
                callback: tuple[str, ...] | None = None, **sandbox_knobs: Any) -> str:
        """An account on the sandbox; ``sandbox_knobs`` register the WeChat app (can_delete…);
        ``callback`` (hub URL, token[, EncodingAESKey for safe mode]) has the app push its
        publish events to the hub."""
        n = next(self.serial)
        if platform == "wechat":
            appid = f"wx{org.replace('-', '')}{n:04d}"
            credentials = {"appid": appid, "secret": f"secret-{n}-0123456789"}
            if callback:
                credentials["callback_token"] = callback[1]
                if len(callback) > 2:
                    credentials["callback_aes_key"] = sandbox_knobs["callback_aes_key"] = \
                        callback[2]
            if sandbox_knobs:
                self.sandbox.register("wechat", appid, **sandbox_knobs)
        elif platform == "weibo":
            credentials = {"access_token": f"2.00tok{org}{n:04d}0123456789"}
        elif platform == "douyin":
            credentials = {"client_key": f"awkey{n:04d}", "client_secret": f"dysecret-{n}",
                           "open_id": f"dy-{org}-{n:04d}", "access_token": f"act.{n:04d}tok",
                           "refresh_token": f"rft.{n:04d}tok"}
        else:
            raise AssertionError(f"no builder for {platform}")
        r = self.hub.post("/api/v1/accounts", {
            "org": org, "platform": platform, "name": f"{org}-{platform}-{n}",
            "credentials": credentials, "api_base": self.sandbox.platform_url(platform)})
        assert r.status_code == 201, r.json
        if callback:
            self.sandbox.register("wechat", appid, **sandbox_knobs, callback_token=callback[1],
                                  callback_url=f"{callback[0]}/callbacks/wechat/{r.json['id']}")
        if status:
            r = self.hub.patch(f"/api/v1/accounts/{r.json['id']}", {"status": status})
            assert r.status_code == 200 and r.json["status"] == status, r.json
        return r.json["id"]

    # ------------------------------------------------------------------ items

    def cover(self) -> str:
        if self.cover_id is None:
            from tests.storage.samples import encode, halves

            r = self.hub.client.post(
                "/api/v1/assets", content_type="multipart/form-data",
                data={"file": (io.BytesIO(encode(halves((900, 500)), "JPEG")), "cover.jpg")},
                headers={"Authorization": f"Bearer {self.hub.token}"})
            assert r.status_code == 201, r.json
            self.cover_id = r.json["id"]
        return self.cover_id

    def item(self, org: str = "c1", status: str = "approved", *, shared: bool = False) -> str:
        """An article in ``status``: draft, in_review, approved, edited (approved, then
        changed: back to draft) or withdrawn (approved, pushed nowhere, withdrawn);
        ``shared`` puts it in the library (云稿库)."""
        r = self.hub.post("/api/v1/items", {
            "org": org, "kind": "article", "title": f"全省防汛工作会议召开{next(self.serial)}",
            "body": "<p>会议要求各地压实防汛责任，做好强降雨应对。</p>",
            "summary": "部署本周强降雨应对工作", "author": "王敏", "source": "云省日报",
            "cover": self.cover(), "shared_to_library": shared})
        assert r.status_code == 201, r.json
        return self.approve(r.json["id"], status)

    def pulled(self, origin: str, org: str) -> str:
        """A copy of a library item pulled by ``org`` (转载), through its own review."""
        r = self.hub.post(f"/api/v1/library/{origin}/pull", {"org": org})
        assert r.status_code == 201, r.json
        assert r.json["origin"], r.json
        return self.approve(r.json["id"], "approved")

    def approve(self, item: str, status: str) -> str:
        """Take a draft to ``status`` (see ``item``) through submit and the three reviews."""
        if status == "draft":
            return item
        assert self.hub.post(f"/api/v1/items/{item}/submit").status_code == 200
        if status == "in_review":
            return item
        for token in self.reviewers:
            r = self.hub.post(f"/api/v1/items/{item}/reviews",
                              {"decision": "approve", "comment": "同意"}, token=token)
            assert r.status_code == 200, r.json
        if status == "edited":
            r = self.hub.patch(f"/api/v1/items/{item}", {"title": "改过的标题"})
            assert r.status_code == 200, r.json
        elif status == "withdrawn":
            r = self.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "内容有误"})
            assert r.status_code == 202, r.json
        expected = {"edited": "draft"}.get(status, status)
        assert self.hub.get(f"/api/v1/items/{item}").json["status"] == expected
        return item

    def push(self, item: str, targets: dict[str, Any], *, token: str | None = None,
             **extra: Any):
        return self.hub.post(f"/api/v1/items/{item}/push", {"targets": targets, **extra},
                             token=token)

    def pushed(self, item: str, targets: dict[str, Any], **extra: Any) -> dict[str, Any]:
        r = self.push(item, targets, **extra)
        assert r.status_code == 202, r.json
        return r.json

    def live_everywhere(self, orgs: Sequence[str], platforms: Sequence[str]) -> str:
        """An article of c1 pushed to c1 and c2, with one account per platform on each of
        ``orgs`` (all within them), and sent: every copy live."""
        for org in orgs:
            for platform in platforms:
                self.account(org, platform)
        item = self.item("c1")
        self.pushed(item, {"orgs": ["c1", "c2"]})
        self.drain()
        assert self.live_posts() == len(orgs) * len(platforms)
        return item

    def delete(self, path: str, *, token: str | None = None):
        return self.hub.client.delete(
            path, headers={"Authorization": f"Bearer {token or self.hub.token}"})

    # ------------------------------------------------------------------ observing

    def rows(self) -> dict[str, int]:
        """Rows per fan-out table, plus audit entries other than access denials."""
        with self.hub.runtime.db.session() as session:
            counts = {name: session.execute(select(func.count()).select_from(model)).scalar_one()
                      for name, model in WRITTEN.items()}
            counts["audit"] = session.execute(select(func.count()).where(
                AuditEntry.action != "access.denied")).scalar_one()
        counts["jobs"] = pending_jobs(self.hub.runtime.redis)
        return counts

    def deliveries(self, path: str, **query: str) -> list[dict[str, Any]]:
        """Every page of a deliveries listing."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {**query, **({"cursor": cursor} if cursor else {})}
            r = self.hub.get(path, query_string=params)
            assert r.status_code == 200, r.json
            items += r.json["items"]
            cursor = r.json["next_cursor"]
            if cursor is None:
                return items

    def deliveries_per_account(self, item: str) -> dict[str, int]:
        with self.hub.runtime.db.session() as session:
            return dict(session.execute(select(Delivery.account_id, func.count())
                                        .where(Delivery.item_id == item)
                                        .group_by(Delivery.account_id)).all())

    def live_posts(self) -> int:
        return sum(v["live"] for v in self.sandbox.stats().values())

    # ------------------------------------------------------------------ running the work

    def drain(self) -> None:
        """`yunchu worker` in burst mode: runs every queued batch job, then returns."""
        run_worker(self.hub.runtime, burst=True)

    def sweep(self) -> SweepReport:
        """One reconciler pass (what the worker's reconciler thread runs every interval)."""
        return sweep(self.hub.runtime, self.hub.runtime.redis)

    def audited(self, action: str) -> int:
        with self.hub.runtime.db.session() as session:
            return session.execute(select(func.count()).where(
                AuditEntry.action == action)).scalar_one()
