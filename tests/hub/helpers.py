"""Builders the hub tests share."""

from __future__ import annotations

from typing import Any


def make_org(hub, slug: str, kind: str = "county", parent: str | None = None,
             name: str | None = None) -> dict[str, Any]:
    r = hub.post("/api/v1/orgs", {"slug": slug, "name": name or f"机构{slug}", "kind": kind,
                                  "parent": parent})
    assert r.status_code == 201, r.json
    return r.json


def make_tree(hub) -> None:
    make_org(hub, "yun", "province")
    make_org(hub, "c1", "city", "yun")
    make_org(hub, "c1-k1", "county", "c1")
    make_org(hub, "c2", "city", "yun")


def wechat_account(org: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"org": org, "platform": "wechat", "name": name,
            "credentials": {"appid": f"wx-{name}", "secret": f"s3cr3t-{name}-XYZ"}, **extra}


def make_account(hub, org: str, name: str, **extra: Any) -> dict[str, Any]:
    r = hub.post("/api/v1/accounts", wechat_account(org, name, **extra))
    assert r.status_code == 201, r.json
    return r.json


def error_of(response) -> dict[str, Any]:
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"]), body
    assert "Traceback" not in response.get_data(as_text=True)
    return body["error"]
