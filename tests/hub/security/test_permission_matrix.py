"""Every /api/v1 endpoint × every role × in-scope / out-of-scope org: 401 without a token,
403 for a role not allowed or an org outside the caller's subtree, never 401/403 otherwise.
Beyond the route table: reviewer appointments (only from an org above) and the token-cache
case (no org registers another's platform identity, nor receives its cached token).

``EXPECTATIONS`` is the one table to extend when a route is added: a route the app serves
that has no entry fails ``test_every_route_has_an_expectation``. Callers live in org c1
(plus a province admin); "out of scope" resources belong to the sibling city c2. Out-of-scope
ids answer 403, consistently (not 404).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from adapters.base import AccountRef, AuthFailed
from adapters.wechat import WeChatAdapter, app_of
from hub.infra.ids import new_id
from hub.models import Account, Org, Task
from hub.security.outbound_policy import outbound_fields
from tests.hub.helpers import make_account, make_tree, wechat_account
from tests.platform_core.scaffold import redis_token_cache, scripted_server

from .support import make_user, newsroom

IN, OUT = "c1", "c2"
ROLES = ("admin", "editor", "reviewer1", "reviewer2", "reviewer3", "operator", "auditor",
         "province_admin")
READERS = frozenset(ROLES)
ADMINS = frozenset({"admin", "province_admin"})
WRITERS = frozenset({"admin", "editor", "operator", "province_admin"})
REVIEWERS = frozenset({"reviewer1", "reviewer2", "reviewer3"})
AUDIT = frozenset({"admin", "auditor", "province_admin"})
SAFETY_READERS = frozenset({"admin", "editor", "auditor", "province_admin"}) | REVIEWERS
MATRIX_READERS = frozenset({"admin", "editor", "operator", "auditor", "province_admin"})
TASK_DOERS = frozenset({"admin", "operator", "province_admin"})
# Withdrawal: a province admin or the origin's final reviewer everywhere; an admin or operator
# below the province only from their own subtree's accounts, whoever owns the item.
WITHDRAWERS = frozenset({"admin", "operator", "reviewer3", "province_admin"})
OWN_ACCOUNTS_WITHDRAWERS = frozenset({"admin", "operator"})


@dataclass
class Call:
    method: str
    path: str
    json: Any = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Expect:
    allowed: frozenset[str]
    build: Callable[[Matrix, str], Call]
    scoped: bool = True  # False: the org does not matter (global or self-filtered routes)
    mutates: bool = True  # True: build a fresh resource after an allowed call
    public: bool = False  # no token needed (login, the OpenAPI document)
    allowed_anywhere: frozenset[str] = frozenset()  # roles whose right does not end at the org


class Matrix:
    """Builds resources in an org with the bootstrap admin's token and the org's reviewers."""

    def __init__(self, hub):
        self.hub = hub
        make_tree(hub)
        self.tokens: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}
        people = {"admin": (["admin"], None), "editor": (["editor"], None),
                  "reviewer1": (["reviewer"], 1), "reviewer2": (["reviewer"], 2),
                  "reviewer3": (["reviewer"], 3), "operator": (["operator"], None),
                  "auditor": (["auditor"], None)}
        for role, (roles, stage) in people.items():
            self.users[role] = make_user(hub, f"m-{role}", roles, org=IN, stage=stage)
            self.tokens[role] = self.users[role]["token"]
        self.users["province_admin"] = make_user(hub, "m-province", ["admin"], org="yun")
        self.tokens["province_admin"] = self.users["province_admin"]["token"]
        self.reviewers = {IN: {"r1": self.tokens["reviewer1"], "r2": self.tokens["reviewer2"],
                               "r3": self.tokens["reviewer3"]},
                          OUT: newsroom(hub, OUT, prefix="c2-"),
                          # the province's newsroom shares the library items that get pulled
                          "yun": newsroom(hub, "yun", prefix="yun-")}
        self.org_admin = {IN: self.tokens["admin"],
                          OUT: make_user(hub, "c2-admin", ["admin"], org=OUT)["token"]}
        self.accounts = {org: make_account(hub, org, f"{org}-main")["id"] for org in (IN, OUT)}
        self.serial = itertools.count()

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self.serial)}"

    def ok(self, response, *statuses: int) -> Any:
        assert response.status_code in (statuses or (200, 201, 202)), response.get_json()
        return response.get_json()

    def item(self, org: str, status: str = "draft", **extra: Any) -> str:
        body = {"org": org, "kind": "article", "title": self.unique("矩阵测试稿"),
                "body": "<p>正文</p>", "summary": "摘要", **extra}
        item_id = self.ok(self.hub.post("/api/v1/items", body))["id"]
        if status == "draft":
            return item_id
        self.ok(self.hub.post(f"/api/v1/items/{item_id}/submit", {}))
        if status == "in_review":
            return item_id
        for stage in (1, 2, 3):
            self.ok(self.hub.post(f"/api/v1/items/{item_id}/reviews",
                                  {"decision": "approve", "comment": "同意"},
                                  token=self.reviewers[org][f"r{stage}"]))
        return item_id

    def dispatch(self, org: str) -> str:
        item_id = self.item(org, "approved")
        answer = self.ok(self.hub.post(f"/api/v1/items/{item_id}/push",
                                       {"targets": {"orgs": [org]}}))
        return answer["dispatch_id"]

    def withdrawal(self, org: str) -> str:
        item_id = self.item(org, "approved")
        self.ok(self.hub.post(f"/api/v1/items/{item_id}/push", {"targets": {"orgs": [org]}}))
        answer = self.ok(self.hub.post(f"/api/v1/items/{item_id}/withdraw", {"reason": "测试"}))
        return answer["withdrawal_id"]

    def task(self, org: str) -> str:
        with self.hub.runtime.db.session() as session:
            org_id = session.query(Org.id).filter(Org.slug == org).scalar()
            task = Task(id=new_id("tsk"), kind="manual_check", org_id=org_id, title="人工核查")
            session.add(task)
        return task.id

    def conversation(self, org: str) -> str:
        """A WeChat comment conversation with one message, on the org's account."""
        from hub.models import Conversation, InteractionMessage, utcnow

        now = utcnow()
        with self.hub.runtime.db.session() as session:
            org_id = session.query(Org.id).filter(Org.slug == org).scalar()
            key = self.unique("100_0:")
            conversation = Conversation(
                id=new_id("cv"), org_id=org_id, account_id=self.accounts[org], platform="wechat",
                kind="comment", thread_key=key, remote_post_id="100_0",
                remote_comment_id="1", state="new", first_inbound_at=now, last_inbound_at=now)
            session.add(conversation)
            session.flush()
            session.add(InteractionMessage(
                id=new_id("im"), conversation_id=conversation.id, account_id=self.accounts[org],
                platform="wechat", direction="in", remote_id=key, text="请问", created_at=now))
        return conversation.id

    def reply(self, org: str) -> str:
        """A reply waiting for a reviewer (written by no caller of the matrix)."""
        from hub.models import Reply

        conversation = self.conversation(org)
        with self.hub.runtime.db.session() as session:
            reply = Reply(id=new_id("rp"), conversation_id=conversation, text="感谢留言",
                          state="pending_approval")
            session.add(reply)
        return reply.id

    def template(self, org: str) -> str:
        return self.ok(self.hub.post("/api/v1/reply-templates", {
            "org": org, "title": self.unique("模板"), "text": "感谢您的留言"}))["id"]

    def matrix(self, org: str) -> str:
        slug = self.unique(f"mx-{org}-")
        self.ok(self.hub.post("/api/v1/matrices", {"slug": slug, "name": "矩阵", "orgs": [org]},
                              token=self.org_admin[org]))
        return slug

    def user(self, org: str) -> dict[str, Any]:
        return make_user(self.hub, self.unique(f"target-{org}-"), ["editor"], org=org)

    def token_id(self, org: str) -> str:
        user = self.user(org)
        return self.ok(self.hub.get(f"/api/v1/users/{user['id']}/tokens"))["items"][0]["id"]

    def asset(self, org: str) -> str:
        """A fresh upload (new bytes, so not someone else's deduplicated asset) by ``org``."""
        return self.ok(self.hub.client.post(
            "/api/v1/assets", data={"file": (io.BytesIO(_png(next(self.serial))), "a.png")},
            headers={"Authorization": f"Bearer {self.org_admin[org]}"}))["id"]

    def safety_version(self) -> int:
        return self.ok(self.hub.get("/api/v1/safety/terms"))["version"]


def _png(seed: int = 0) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, seed // 256 % 256, seed % 256)).save(out, "PNG")
    return out.getvalue()


def _org_body(m: Matrix, org: str) -> dict[str, Any]:
    return {"slug": m.unique("sub-"), "name": "下级机构", "kind": "department", "parent": org}


AUTHORIZERS = frozenset({"admin", "operator", "province_admin"})  # account.authorize


def _authorizing(m: Matrix) -> None:
    """The hub has a Weibo app (no call is made: starting an attempt only builds its link)."""
    m.hub.runtime.settings = m.hub.runtime.settings.with_overrides(
        weibo_app_key="matrix_app", weibo_app_secret="matrix-secret")


def _attempt(m: Matrix, o: str) -> str:
    _authorizing(m)
    return m.ok(m.hub.post(f"/api/v1/orgs/{o}/authorizations", {"platform": "weibo"}))["id"]


def _start_attempt(m: Matrix, o: str) -> Call:
    _authorizing(m)
    return Call("POST", f"/api/v1/orgs/{o}/authorizations", {"platform": "weibo"})


EXPECTATIONS: dict[str, Expect] = {
    "POST /api/v1/orgs/<>/authorizations": Expect(AUTHORIZERS, _start_attempt),
    "GET /api/v1/authorizations/<>": Expect(AUTHORIZERS, lambda m, o: Call(
        "GET", f"/api/v1/authorizations/{_attempt(m, o)}"), mutates=False),
    "GET /api/v1/authorizations/<>/qr.png": Expect(AUTHORIZERS, lambda m, o: Call(
        "GET", f"/api/v1/authorizations/{_attempt(m, o)}/qr.png"), mutates=False),
    "GET /api/v1/authorizations/<>/qr.svg": Expect(AUTHORIZERS, lambda m, o: Call(
        "GET", f"/api/v1/authorizations/{_attempt(m, o)}/qr.svg"), mutates=False),
    "GET /api/v1/accounts/authorization-summary": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/accounts/authorization-summary?org={o}"), mutates=False),
    "POST /api/v1/orgs": Expect(ADMINS, lambda m, o: Call("POST", "/api/v1/orgs",
                                                          _org_body(m, o))),
    # Each imported org must land in the caller's subtree: under "yun", the province's admin.
    "POST /api/v1/orgs/import": Expect(
        frozenset({"province_admin"}), scoped=False,
        build=lambda m, o: Call("POST", "/api/v1/orgs/import", {"orgs": [_org_body(m, "yun")]})),
    "GET /api/v1/orgs": Expect(READERS, lambda m, o: Call("GET", "/api/v1/orgs"), scoped=False,
                               mutates=False),
    "GET /api/v1/orgs/<>": Expect(READERS, lambda m, o: Call("GET", f"/api/v1/orgs/{o}"),
                                  mutates=False),
    "POST /api/v1/accounts": Expect(ADMINS, lambda m, o: Call(
        "POST", "/api/v1/accounts", wechat_account(o, m.unique("acc-")))),
    "POST /api/v1/accounts/import": Expect(ADMINS, lambda m, o: Call(
        "POST", "/api/v1/accounts/import", {"accounts": [wechat_account(o, m.unique("imp-"))]})),
    "GET /api/v1/accounts": Expect(READERS, lambda m, o: Call("GET", f"/api/v1/accounts?org={o}"),
                                   mutates=False),
    "GET /api/v1/inspection": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/inspection?org={o}"), mutates=False),
    "GET /api/v1/rankings": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/rankings?org={o}&platform=wechat"), mutates=False),
    "GET /api/v1/stats/accounts/<>": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/stats/accounts/{m.accounts[o]}"), mutates=False),
    "GET /api/v1/stats/items/<>": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/stats/items/{m.item(o)}"), mutates=False),
    "GET /api/v1/accounts/<>": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/accounts/{m.accounts[o]}"), mutates=False),
    "PATCH /api/v1/accounts/<>": Expect(ADMINS, lambda m, o: Call(
        "PATCH", f"/api/v1/accounts/{m.accounts[o]}", {"responsible_person": "张三"}),
        mutates=False),
    "POST /api/v1/assets": Expect(WRITERS, scoped=False, build=lambda m, o: Call(
        "POST", "/api/v1/assets", data={"file": (io.BytesIO(_png()), "a.png")})),
    # An asset's metadata is read in the uploader's org subtree (or through an item there).
    "GET /api/v1/assets/<>": Expect(READERS, mutates=False, build=lambda m, o: Call(
        "GET", f"/api/v1/assets/{m.asset(o)}")),
    "GET /api/v1/audit": Expect(AUDIT, lambda m, o: Call("GET", "/api/v1/audit?limit=5"),
                                scoped=False, mutates=False),
    "POST /api/v1/items": Expect(WRITERS, lambda m, o: Call(
        "POST", "/api/v1/items", {"org": o, "kind": "article", "title": "新稿件",
                                  "body": "<p>x</p>"})),
    "PATCH /api/v1/items/<>": Expect(WRITERS, lambda m, o: Call(
        "PATCH", f"/api/v1/items/{m.item(o)}", {"title": "改过的标题"})),
    "GET /api/v1/items/<>": Expect(READERS, lambda m, o: Call("GET", f"/api/v1/items/{m.item(o)}"),
                                   mutates=False),
    "POST /api/v1/items/<>/submit": Expect(WRITERS, lambda m, o: Call(
        "POST", f"/api/v1/items/{m.item(o)}/submit", {})),
    "POST /api/v1/items/<>/reviews": Expect(REVIEWERS, lambda m, o: Call(
        "POST", f"/api/v1/items/{m.item(o, 'in_review')}/reviews",
        {"decision": "approve", "comment": "同意"})),
    "POST /api/v1/items/<>/push": Expect(WRITERS, lambda m, o: Call(
        "POST", f"/api/v1/items/{m.item(o, 'approved')}/push", {"targets": {"orgs": [o]}})),
    "POST /api/v1/items/<>/push/preview": Expect(WRITERS, lambda m, o: Call(
        "POST", f"/api/v1/items/{m.item(o, 'approved')}/push/preview",
        {"targets": {"orgs": [o]}}), mutates=False),
    "POST /api/v1/items/<>/withdraw": Expect(WITHDRAWERS, lambda m, o: Call(
        "POST", f"/api/v1/items/{m.item(o, 'approved')}/withdraw", {"reason": "内容有误"}),
        allowed_anywhere=OWN_ACCOUNTS_WITHDRAWERS),
    "POST /api/v1/items/<>/withdraw/preview": Expect(WITHDRAWERS, lambda m, o: Call(
        "POST", f"/api/v1/items/{m.item(o, 'approved')}/withdraw/preview", {}),
        mutates=False, allowed_anywhere=OWN_ACCOUNTS_WITHDRAWERS),
    "POST /api/v1/dispatches/<>/retry": Expect(WRITERS, lambda m, o: Call(
        "POST", f"/api/v1/dispatches/{m.dispatch(o)}/retry", {})),
    "GET /api/v1/dispatches/<>": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/dispatches/{m.dispatch(o)}"), mutates=False),
    "GET /api/v1/dispatches/<>/deliveries": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/dispatches/{m.dispatch(o)}/deliveries"), mutates=False),
    "GET /api/v1/withdrawals/<>": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/withdrawals/{m.withdrawal(o)}"), mutates=False),
    "GET /api/v1/withdrawals/<>/deliveries": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/withdrawals/{m.withdrawal(o)}/deliveries"), mutates=False),
    "GET /api/v1/library": Expect(READERS, lambda m, o: Call("GET", "/api/v1/library"),
                                  scoped=False, mutates=False),
    "POST /api/v1/library/<>/pull": Expect(WRITERS, lambda m, o: Call(
        "POST", f"/api/v1/library/{m.item('yun', 'approved', shared_to_library=True)}/pull",
        {"org": o})),
    "POST /api/v1/matrices": Expect(ADMINS, lambda m, o: Call(
        "POST", "/api/v1/matrices", {"slug": m.unique("new-mx-"), "name": "新矩阵",
                                     "orgs": [o]})),
    # Matrices are province-wide groupings: anyone with matrix.read may read any of them.
    "GET /api/v1/matrices/<>": Expect(MATRIX_READERS, lambda m, o: Call(
        "GET", f"/api/v1/matrices/{m.matrix(o)}"), mutates=False, scoped=False),
    "PATCH /api/v1/matrices/<>": Expect(ADMINS, lambda m, o: Call(
        "PATCH", f"/api/v1/matrices/{m.matrix(o)}", {"name": "改名"})),
    "GET /api/v1/matrices": Expect(MATRIX_READERS, lambda m, o: Call("GET", "/api/v1/matrices"),
                                   mutates=False, scoped=False),
    "DELETE /api/v1/matrices/<>": Expect(ADMINS, lambda m, o: Call(
        "DELETE", f"/api/v1/matrices/{m.matrix(o)}")),
    "GET /api/v1/inbox": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/inbox?org={o}"), mutates=False),
    "GET /api/v1/inbox/summary": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/inbox/summary?org={o}"), mutates=False),
    "GET /api/v1/inbox/indicator": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/inbox/indicator?org={o}"), mutates=False),
    "GET /api/v1/conversations/<>": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/conversations/{m.conversation(o)}"), mutates=False),
    "POST /api/v1/conversations/<>/assign": Expect(WRITERS, lambda m, o: Call(
        "POST", f"/api/v1/conversations/{m.conversation(o)}/assign", {"user": None})),
    "POST /api/v1/conversations/<>/state": Expect(WRITERS, lambda m, o: Call(
        "POST", f"/api/v1/conversations/{m.conversation(o)}/state", {"state": "closed"})),
    "POST /api/v1/conversations/<>/moderate": Expect(WRITERS, lambda m, o: Call(
        "POST", f"/api/v1/conversations/{m.conversation(o)}/moderate", {"action": "elect"})),
    "POST /api/v1/conversations/<>/replies": Expect(WRITERS, lambda m, o: Call(
        "POST", f"/api/v1/conversations/{m.conversation(o)}/replies", {"text": "感谢留言"})),
    "GET /api/v1/replies": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/replies?org={o}"), mutates=False),
    "POST /api/v1/replies/<>/approve": Expect(ADMINS | REVIEWERS, lambda m, o: Call(
        "POST", f"/api/v1/replies/{m.reply(o)}/approve", {})),
    "POST /api/v1/replies/<>/reject": Expect(ADMINS | REVIEWERS, lambda m, o: Call(
        "POST", f"/api/v1/replies/{m.reply(o)}/reject", {"note": "请改"})),
    "GET /api/v1/reply-templates": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/reply-templates?org={o}"), mutates=False),
    "POST /api/v1/reply-templates": Expect(WRITERS, lambda m, o: Call(
        "POST", "/api/v1/reply-templates", {"org": o, "title": "模板", "text": "感谢"})),
    "DELETE /api/v1/reply-templates/<>": Expect(WRITERS, lambda m, o: Call(
        "DELETE", f"/api/v1/reply-templates/{m.template(o)}")),
    "GET /api/v1/interaction-settings/<>": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/interaction-settings/{o}"), mutates=False),
    "PUT /api/v1/interaction-settings/<>": Expect(ADMINS, lambda m, o: Call(
        "PUT", f"/api/v1/interaction-settings/{o}", {"deadline_working_days": 4})),
    "GET /api/v1/tasks": Expect(READERS, lambda m, o: Call(
        "GET", f"/api/v1/tasks?org={o}"), mutates=False),
    "POST /api/v1/tasks/<>/done": Expect(TASK_DOERS, lambda m, o: Call(
        "POST", f"/api/v1/tasks/{m.task(o)}/done", {"note": "已处理"})),
    "POST /api/v1/users": Expect(ADMINS, lambda m, o: Call(
        "POST", "/api/v1/users", {"org": o, "name": m.unique("new-user-"), "roles": ["editor"]})),
    "GET /api/v1/users": Expect(frozenset({"admin", "auditor", "province_admin"}), lambda m, o: Call(
        "GET", f"/api/v1/users?org={o}"), mutates=False),
    "GET /api/v1/users/<>": Expect(frozenset({"admin", "auditor", "province_admin"}),
                                   lambda m, o: Call("GET", f"/api/v1/users/{m.user(o)['id']}"),
                                   mutates=False),
    "PATCH /api/v1/users/<>": Expect(ADMINS, lambda m, o: Call(
        "PATCH", f"/api/v1/users/{m.user(o)['id']}", {"roles": ["operator"]})),
    "GET /api/v1/users/<>/tokens": Expect(
        frozenset({"admin", "auditor", "province_admin"}), mutates=False,
        build=lambda m, o: Call("GET", f"/api/v1/users/{m.user(o)['id']}/tokens")),
    # Only its holder mints a token (test_separation_of_duties.py): nobody, for someone else.
    "POST /api/v1/users/<>/tokens": Expect(frozenset(), lambda m, o: Call(
        "POST", f"/api/v1/users/{m.user(o)['id']}/tokens", {"label": "x"})),
    "POST /api/v1/tokens/<>/revoke": Expect(ADMINS, lambda m, o: Call(
        "POST", f"/api/v1/tokens/{m.token_id(o)}/revoke", {})),
    "GET /api/v1/safety/terms": Expect(SAFETY_READERS, lambda m, o: Call(
        "GET", "/api/v1/safety/terms"), scoped=False, mutates=False),
    "PUT /api/v1/safety/terms": Expect(frozenset({"province_admin"}), scoped=False,
                                       build=lambda m, o: Call("PUT", "/api/v1/safety/terms", {
                                           "version": m.safety_version() + 1, "terms": []})),
    "POST /api/v1/safety/rescan": Expect(AUDIT, lambda m, o: Call(
        "POST", "/api/v1/safety/rescan", {}), scoped=False, mutates=False),
    "POST /api/v1/session": Expect(frozenset(), public=True, scoped=False, build=lambda m, o: Call(
        "POST", "/api/v1/session", {"name": "m-editor", "password": "no password set"})),
    "GET /api/v1/session": Expect(READERS, lambda m, o: Call("GET", "/api/v1/session"),
                                  scoped=False, mutates=False),
    "DELETE /api/v1/session": Expect(READERS, lambda m, o: Call("DELETE", "/api/v1/session"),
                                     scoped=False, mutates=False),
    "POST /api/v1/session/password": Expect(READERS, scoped=False, mutates=False, build=lambda m, o: Call(
        "POST", "/api/v1/session/password",
        {"current_password": "whatever it is", "new_password": "short"})),
    "GET /api/v1/openapi.json": Expect(frozenset(), lambda m, o: Call("GET", "/api/v1/openapi.json"),
                                       public=True, scoped=False, mutates=False),
}


# Pointing an account somewhere (api_base, the city app's webhook_url) is a province admin's
# alone: every route that writes accounts × every outbound URL field.
ACCOUNT_WRITES = ("POST /api/v1/accounts", "POST /api/v1/accounts/import",
                  "PATCH /api/v1/accounts/<>")
PROVINCE = frozenset({"province_admin"})
PLATFORM_BASE = "https://api.weixin.qq.com"


def _cityapp(o: str, name: str, n: str) -> dict[str, Any]:
    return {"org": o, "platform": "cityapp", "name": name, "credentials": {
        "webhook_url": f"https://app.example.gov.cn/hook/{n}", "signing_secret": "whsec_eA=="}}


def _cityapp_id(m: Matrix, o: str) -> str:
    body = _cityapp(o, m.unique("app-"), m.unique("first-"))  # each its own endpoint
    return m.ok(m.hub.post("/api/v1/accounts", body))["id"]


OUTBOUND_EXPECTATIONS: dict[tuple[str, str], Callable[[Matrix, str], Call]] = {
    ("POST /api/v1/accounts", "api_base"): lambda m, o: Call(
        "POST", "/api/v1/accounts", wechat_account(o, m.unique("ob-"), api_base=PLATFORM_BASE)),
    ("POST /api/v1/accounts", "credentials.webhook_url"): lambda m, o: Call(
        "POST", "/api/v1/accounts", _cityapp(o, m.unique("ob-app-"), m.unique("h"))),
    ("POST /api/v1/accounts/import", "api_base"): lambda m, o: Call(
        "POST", "/api/v1/accounts/import", {"accounts": [
            wechat_account(o, m.unique("ob-imp-"), api_base=PLATFORM_BASE)]}),
    ("POST /api/v1/accounts/import", "credentials.webhook_url"): lambda m, o: Call(
        "POST", "/api/v1/accounts/import", {"accounts": [
            _cityapp(o, m.unique("ob-imp-app-"), m.unique("h"))]}),
    ("PATCH /api/v1/accounts/<>", "api_base"): lambda m, o: Call(
        "PATCH", f"/api/v1/accounts/{m.accounts[o]}",
        {"api_base": f"{PLATFORM_BASE}/{m.unique('v')}"}),
    ("PATCH /api/v1/accounts/<>", "credentials.webhook_url"): lambda m, o: Call(
        "PATCH", f"/api/v1/accounts/{_cityapp_id(m, o)}", {"credentials": {
            "webhook_url": f"https://app.example.gov.cn/hook/{m.unique('h')}",
            "signing_secret": "whsec_eA=="}}),
}


def route_keys(app) -> set[str]:
    keys = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<[^>]+>", "<>", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            keys.add(f"{method} {path}")
    return keys


def _send(hub, call: Call, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if call.data is not None:
        data = {k: (io.BytesIO(v[0].getvalue()), v[1]) for k, v in call.data.items()}
        return hub.client.open(call.path, method=call.method, data=data, headers=headers,
                               content_type="multipart/form-data")
    return hub.client.open(call.path, method=call.method, json=call.json, headers=headers)


def test_every_route_has_an_expectation(sqlite_hub):
    missing = sorted(route_keys(sqlite_hub.app) - set(EXPECTATIONS))
    assert not missing, f"add these routes to EXPECTATIONS: {missing}"


@dataclass
class Escapes:
    found: list[str] = field(default_factory=list)

    def check(self, key: str, who: str, scope: str, status: int, expected: str) -> None:
        if expected == "denied" and status != 403:
            self.found.append(f"{key} as {who} ({scope}): {status}, expected 403")
        if expected == "allowed" and status in (401, 403):
            self.found.append(f"{key} as {who} ({scope}): {status}, expected allowed")


def test_permission_matrix(sqlite_hub):
    m = Matrix(sqlite_hub)
    served = route_keys(sqlite_hub.app)
    escapes = Escapes()
    cells = 0
    for key, expect in EXPECTATIONS.items():
        if key not in served:
            continue  # listed in EXPECTATIONS, not served yet
        orgs = (IN, OUT) if expect.scoped else (IN,)
        calls = {org: expect.build(m, org) for org in orgs}
        anonymous = _send(sqlite_hub, calls[IN], None)
        if not expect.public and anonymous.status_code != 401:
            escapes.found.append(f"{key} without a token: {anonymous.status_code}, expected 401")
        if expect.public:
            continue
        for who, org in itertools.product(ROLES, orgs):
            in_scope = org == IN or who == "province_admin" or who in expect.allowed_anywhere
            allowed = who in expect.allowed and in_scope
            response = _send(sqlite_hub, calls[org], m.tokens[who])
            cells += 1
            scope = "in scope" if org == IN else "out of scope"
            escapes.check(key, who, scope, response.status_code,
                          "allowed" if allowed else "denied")
            if allowed and expect.mutates:
                calls[org] = expect.build(m, org)
    assert not escapes.found, "\n".join(escapes.found)
    assert cells > 400


def test_every_outbound_field_of_every_account_write_has_an_expectation(sqlite_hub):
    served = route_keys(sqlite_hub.app)
    writes = {key for key in served if key.endswith(("/api/v1/accounts", "/accounts/import",
                                                     "/accounts/<>"))
              and not key.startswith("GET ")}
    assert writes == set(ACCOUNT_WRITES)
    assert set(OUTBOUND_EXPECTATIONS) == {(route, name) for route in ACCOUNT_WRITES
                                          for name in outbound_fields()}


def test_only_a_province_admin_points_accounts_anywhere(sqlite_hub):
    m = Matrix(sqlite_hub)
    escapes = Escapes()
    for (route, name), build in OUTBOUND_EXPECTATIONS.items():
        key = f"{route} [{name}]"
        calls = {org: build(m, org) for org in (IN, OUT)}
        for who, org in itertools.product(ROLES, (IN, OUT)):
            response = _send(sqlite_hub, calls[org], m.tokens[who])
            scope = "in scope" if org == IN else "out of scope"
            escapes.check(key, who, scope, response.status_code,
                          "allowed" if who in PROVINCE else "denied")
            if who in PROVINCE:
                assert response.status_code in (200, 201), (key, response.get_json())
                calls[org] = build(m, org)
    assert not escapes.found, "\n".join(escapes.found)


@pytest.mark.parametrize("token", ["", "Bearer", "Bearer ", "Basic abc", "Bearer yc_forged"])
def test_malformed_or_unknown_tokens_are_401(sqlite_hub, token):
    r = sqlite_hub.client.get("/api/v1/orgs", headers={"Authorization": token})
    assert r.status_code == 401


# ---------------------------------------------------------------- beyond the route table


def test_reviewers_are_appointed_only_from_above(sqlite_hub):
    """三审 cannot be staffed from inside one org: a reviewer role in c1 comes from the
    province, one in c1-k1 (below c1) from c1's admin or the province; nobody else."""
    m = Matrix(sqlite_hub)
    escapes = Escapes()
    appointers = {IN: frozenset({"province_admin"}), OUT: frozenset({"province_admin"}),
                  "c1-k1": ADMINS}
    for org, allowed in appointers.items():
        for who in ROLES:
            appoint = Call("POST", "/api/v1/users", {"org": org, "name": m.unique("rv-"),
                                                     "roles": ["reviewer"], "review_stage": 1})
            response = _send(sqlite_hub, appoint, m.tokens[who])
            escapes.check(f"POST /api/v1/users reviewer in {org}", who, org,
                          response.status_code, "allowed" if who in allowed else "denied")
            editor = m.user(org)
            promote = Call("PATCH", f"/api/v1/users/{editor['id']}",
                           {"roles": ["reviewer"], "review_stage": 2})
            response = _send(sqlite_hub, promote, m.tokens[who])
            escapes.check(f"PATCH /api/v1/users/<> to reviewer in {org}", who, org,
                          response.status_code, "allowed" if who in allowed else "denied")
    assert not escapes.found, "\n".join(escapes.found)


def test_no_org_reaches_anothers_account_through_its_platform_identity(sqlite_hub, redis_url):
    """The token-cache case: c1 names c2's appid with a wrong secret and its own listener as
    api_base. The hub refuses to register it for every role; and even given such an account,
    the worker's adapter never sends c2's cached token to the listener."""
    m = Matrix(sqlite_hub)
    runtime = sqlite_hub.runtime
    with runtime.db.session() as session:
        refs = {}
        for org in (IN, OUT):
            account = session.get(Account, m.accounts[org])
            refs[org] = AccountRef(  # as the worker builds it
                id=account.id, platform=account.platform,
                api_base=account.api_base or runtime.settings.api_base(account.platform),
                credentials=runtime.box.open(account.credentials_sealed, bound_to=account.id))
    stolen = {"appid": refs[OUT].credentials["appid"], "secret": "a-guess-0123456789"}
    listener = "http://127.0.0.1:9/listener"
    escapes = Escapes()
    for who in ROLES:
        for attempt in (
            Call("POST", "/api/v1/accounts", {"org": IN, "platform": "wechat", "api_base": listener,
                                              "name": m.unique("impostor-"),
                                              "credentials": stolen}),
            Call("POST", "/api/v1/accounts/import", {"accounts": [{
                "org": IN, "platform": "wechat", "name": m.unique("impostor-"),
                "api_base": listener, "credentials": stolen}]}),
            Call("PATCH", f"/api/v1/accounts/{m.accounts[IN]}", {"credentials": stolen,
                                                                  "api_base": listener}),
        ):
            status = _send(sqlite_hub, attempt, m.tokens[who]).status_code
            if 200 <= status < 300:
                escapes.found.append(f"{attempt.method} {attempt.path} as {who} registered "
                                     f"c2's appid in c1: {status}")

    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(f"{request.path_qs} {await request.text()}")
        return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})

    async def worker_side() -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.+}", record)
        async with (scripted_server(app) as server,
                    redis_token_cache(redis_url, "matrix") as cache):
            await cache.set(app_of(refs[OUT]).token_key, "TOKEN-OF-C2", 3600)
            impostor = replace(refs[IN], credentials=stolen,
                               api_base=str(server.make_url("/listener")))
            async with aiohttp.ClientSession() as session:
                with contextlib.suppress(AuthFailed):
                    await WeChatAdapter(session, cache).status(impostor, "100")

    asyncio.run(worker_side())
    if any("TOKEN-OF-C2" in line for line in seen):
        escapes.found.append("the worker sent c2's cached token to c1's listener")
    assert seen, "the impostor's call reached its listener"
    assert not escapes.found, "\n".join(escapes.found)
