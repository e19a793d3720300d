"""Builders the security tests share: users with roles, items, the three reviews."""

from __future__ import annotations

from typing import Any

from tests.hub.helpers import make_tree


def make_user(hub, name: str, roles: list[str], *, org: str | None = "c1",
              stage: int | None = None, password: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"org": org, "name": name, "roles": roles}
    if stage is not None:
        body["review_stage"] = stage
    if password is not None:
        body["password"] = password
    r = hub.post("/api/v1/users", body)
    assert r.status_code == 201, r.json
    return r.json


def newsroom(hub, org: str = "c1", prefix: str = "") -> dict[str, str]:
    """An editor and one reviewer per stage in ``org``; returns role -> token."""
    people = {"editor": make_user(hub, f"{prefix}editor", ["editor"], org=org)["token"]}
    for stage in (1, 2, 3):
        people[f"r{stage}"] = make_user(hub, f"{prefix}reviewer{stage}", ["reviewer"], org=org,
                                        stage=stage)["token"]
    return people


def setup(hub) -> dict[str, str]:
    make_tree(hub)
    return newsroom(hub)


def article(org: str = "c1", **extra: Any) -> dict[str, Any]:
    return {"org": org, "kind": "article", "title": "全省防汛工作会议召开",
            "body": "<p>会议要求各地做好防汛准备。</p>", "summary": "部署防汛",
            "author": "记者 王敏", "source": "云省日报", **extra}


def create_item(hub, token: str, **extra: Any) -> dict[str, Any]:
    r = hub.post("/api/v1/items", article(**extra), token=token)
    assert r.status_code == 201, r.json
    return r.json


def submit(hub, item_id: str, token: str):
    return hub.post(f"/api/v1/items/{item_id}/submit", {}, token=token)


def review(hub, item_id: str, token: str, decision: str = "approve", **extra: Any):
    return hub.post(f"/api/v1/items/{item_id}/reviews",
                    {"decision": decision, "comment": extra.pop("comment", "同意"), **extra},
                    token=token)


def approve_all(hub, item_id: str, people: dict[str, str], **stage3: Any) -> dict[str, Any]:
    for stage in (1, 2):
        r = review(hub, item_id, people[f"r{stage}"])
        assert r.status_code == 200, r.json
    r = review(hub, item_id, people["r3"], **stage3)
    assert r.status_code == 200, r.json
    return r.json


def put_list(hub, version: int, terms: list[dict[str, str]], **extra: Any):
    return hub.put("/api/v1/safety/terms", {"version": version, "terms": terms, **extra})
