"""A browser for the admin UI (the Flask test client keeping cookies) and a small newsroom:
users with passwords in several orgs, items in each state, pushes and withdrawals."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from tests.hub.helpers import make_account, make_org, make_tree
from tests.hub.security.support import make_user

PASSWORD = "云厨-test-password-2024"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')

# who -> (roles, org, review stage)
PEOPLE: dict[str, tuple[list[str], str, int | None]] = {
    "province_admin": (["admin"], "yun", None),
    "admin": (["admin"], "c1", None),
    "editor": (["editor"], "c1", None),
    "reviewer1": (["reviewer"], "c1", 1),
    "reviewer2": (["reviewer"], "c1", 2),
    "reviewer3": (["reviewer"], "c1", 3),
    "operator": (["operator"], "c1-k1", None),
    "auditor": (["auditor"], "c1", None),
    "other_operator": (["operator"], "c2-k1", None),
}
ALL_ROLES = tuple(p for p in PEOPLE if p != "other_operator")


class Browser:
    """One user's browser: cookies persist, forms carry the CSRF token the last page held."""

    def __init__(self, app: Any):
        self.client = app.test_client()
        self.csrf: str | None = None

    def get(self, path: str, **kw: Any):
        response = self.client.get(path, **kw)
        self._remember(response)
        return response

    def text(self, path: str, status: int = 200) -> str:
        response = self.get(path)
        assert response.status_code == status, (response.status_code, response.location)
        return response.get_data(as_text=True)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool | str = True,
             **kw: Any):
        data = dict(data or {})
        if csrf is True:
            if self.csrf is None:
                self.get("/admin/")
            data["csrf_token"] = self.csrf
        elif isinstance(csrf, str):
            data["csrf_token"] = csrf
        response = self.client.post(path, data=data, **kw)
        self._remember(response)
        return response

    def login(self, name: str, password: str = PASSWORD, **extra: Any):
        self.get("/admin/login")
        response = self.post("/admin/login", {"name": name, "password": password, **extra})
        self.csrf = None  # the login form's token; the session has its own
        return response

    def follow(self, response) -> str:
        assert response.status_code in (302, 303), response.status_code
        return self.text(response.location)

    def _remember(self, response) -> None:
        if response.mimetype == "text/html":
            found = CSRF_FIELD.search(response.get_data(as_text=True))
            if found and found.group(1):
                self.csrf = found.group(1)


@dataclass
class Newsroom:
    hub: Any
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    cover_id: str | None = None

    def __post_init__(self) -> None:
        make_tree(self.hub)  # yun > c1 > c1-k1, yun > c2
        make_org(self.hub, "c2-k1", "county", "c2")

    def user(self, who: str) -> dict[str, Any]:
        if who not in self.users:
            roles, org, stage = PEOPLE[who]
            self.users[who] = make_user(self.hub, who, roles, org=org, stage=stage,
                                        password=PASSWORD)
        return self.users[who]

    def token(self, who: str) -> str:
        return self.user(who)["token"]

    def browser(self, who: str | None = None) -> Browser:
        browser = Browser(self.hub.app)
        if who is not None:
            self.user(who)
            response = browser.login(who)
            assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return browser

    def account(self, org: str, name: str, **extra: Any) -> dict[str, Any]:
        return make_account(self.hub, org, name, **extra)

    def cover(self) -> str:
        """A small JPEG asset: a WeChat article needs a cover, or its accounts are skipped."""
        if self.cover_id is None:
            buffer = io.BytesIO()
            Image.new("RGB", (470, 200), (20, 90, 160)).save(buffer, format="JPEG")
            buffer.seek(0)
            r = self.hub.client.post(
                "/api/v1/assets", content_type="multipart/form-data",
                data={"file": (buffer, "cover.jpg")},
                headers={"Authorization": f"Bearer {self.hub.token}"})
            assert r.status_code == 201, r.json
            self.cover_id = r.json["id"]
        return self.cover_id

    def item(self, org: str = "c1", status: str = "draft", title: str = "全省防汛工作会议召开",
             **extra: Any) -> str:
        extra.setdefault("cover", self.cover())
        body = {"org": org, "kind": "article", "title": title,
                "body": "<p>会议要求各地做好防汛准备。</p>", "summary": "部署防汛",
                "author": "记者 王敏", "source": "云省日报", **extra}
        r = self.hub.post("/api/v1/items", body, token=self.token("editor")
                          if org.startswith("c1") else None)
        assert r.status_code == 201, r.json
        item_id = r.json["id"]
        if status == "draft":
            return item_id
        r = self.hub.post(f"/api/v1/items/{item_id}/submit", {})
        assert r.status_code == 200, r.json
        if status == "in_review":
            return item_id
        for stage in (1, 2, 3):
            r = self.hub.post(f"/api/v1/items/{item_id}/reviews",
                              {"decision": "approve", "comment": "同意"},
                              token=self.token(f"reviewer{stage}"))
            assert r.status_code == 200, r.json
        return item_id

    def push(self, item_id: str, org: str) -> str:
        r = self.hub.post(f"/api/v1/items/{item_id}/push", {"targets": {"orgs": [org]}})
        assert r.status_code == 202, r.json
        return r.json["dispatch_id"]

    def withdraw(self, item_id: str, reason: str = "内容有误") -> str:
        r = self.hub.post(f"/api/v1/items/{item_id}/withdraw", {"reason": reason})
        assert r.status_code == 202, r.json
        return r.json["withdrawal_id"]

    def status(self, item_id: str) -> str:
        return self.hub.get(f"/api/v1/items/{item_id}").json["status"]
