"""Builders shared by the library (pull) and feed tests: a province newsroom that shares items,
a county newsroom that pulls them, each with its own 三审 reviewers."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from hub.models import AuditEntry, Item, ItemVersion
from tests.hub.helpers import make_tree
from tests.hub.security.support import approve_all, make_user, newsroom

PROVINCE, COUNTY, OTHER_CITY = "yun", "c1-k1", "c2"


@dataclass
class Library:
    hub: Any
    province: dict[str, str]  # editor, r1, r2, r3 tokens in yun
    county: dict[str, str]  # editor, r1, r2, r3 tokens in c1-k1
    serial: itertools.count = field(default_factory=itertools.count)

    def article(self, org: str = PROVINCE, **extra: Any) -> dict[str, Any]:
        return {"org": org, "kind": "article",
                "title": f"全省防汛工作会议召开{next(self.serial)}",
                "body": "<p>会议要求各地压实防汛责任，做好强降雨应对。</p>",
                "summary": "部署本周强降雨应对工作", "author": "记者 王敏", "source": "云省日报",
                "tags": ["防汛"], "shared_to_library": True, **extra}

    def people(self, org: str) -> dict[str, str]:
        return self.province if org == PROVINCE else self.county

    def item(self, status: str = "approved", org: str = PROVINCE, **extra: Any) -> str:
        """An item of ``org`` in ``status``: draft, in_review, approved or withdrawn."""
        people = self.people(org)
        r = self.hub.post("/api/v1/items", self.article(org, **extra), token=people["editor"])
        assert r.status_code == 201, r.json
        item_id = r.json["id"]
        if status == "draft":
            return item_id
        self.submit(item_id, people["editor"])
        if status == "in_review":
            return item_id
        approve_all(self.hub, item_id, people)
        if status == "withdrawn":
            r = self.hub.post(f"/api/v1/items/{item_id}/withdraw", {"reason": "内容有误"})
            assert r.status_code == 202, r.json
        return item_id

    def submit(self, item_id: str, token: str) -> None:
        r = self.hub.post(f"/api/v1/items/{item_id}/submit", {}, token=token)
        assert r.status_code == 200, r.json

    def pull(self, item_id: str, org: str = COUNTY, token: str | None = None, **body: Any):
        return self.hub.post(f"/api/v1/library/{item_id}/pull", {"org": org, **body},
                             token=token or self.county["editor"])

    def pulled(self, item_id: str, **body: Any) -> dict[str, Any]:
        r = self.pull(item_id, **body)
        assert r.status_code == 201, r.json
        return r.json

    def approve_copy(self, copy_id: str) -> None:
        """The county's own 三审 of a pulled item."""
        self.submit(copy_id, self.county["editor"])
        approve_all(self.hub, copy_id, self.county)

    def png(self, color: tuple[int, int, int] = (200, 30, 30)) -> str:
        out = io.BytesIO()
        Image.new("RGB", (64, 48), color).save(out, "PNG")
        r = self.hub.client.post("/api/v1/assets", content_type="multipart/form-data",
                                 data={"file": (io.BytesIO(out.getvalue()), "cover.png")},
                                 headers={"Authorization": f"Bearer {self.hub.token}"})
        assert r.status_code == 201, r.json
        return r.json["id"]

    def rows(self) -> dict[str, int]:
        """Items, versions and audit entries other than access denials and rejected pulls."""
        with self.hub.runtime.db.session() as session:
            return {
                "items": session.execute(select(func.count()).select_from(Item)).scalar_one(),
                "versions": session.execute(
                    select(func.count()).select_from(ItemVersion)).scalar_one(),
                "audit_ok": session.execute(select(func.count()).where(
                    AuditEntry.outcome == "ok")).scalar_one(),
            }


def library(hub) -> Library:
    make_tree(hub)
    return Library(hub=hub, province=newsroom(hub, PROVINCE, prefix="p-"),
                   county=newsroom(hub, COUNTY, prefix="k1-"))


def user(hub, name: str, roles: list[str], org: str) -> str:
    return make_user(hub, name, roles, org=org)["token"]
