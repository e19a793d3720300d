"""A hub whose Weibo and Douyin apps point at the sandbox, and the holder's side of consent."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

DOUYIN_SCOPES = ("video.create.bind", "video.delete", "renew_refresh_token")


def connect_to_sandbox(hub, sandbox, **extra: Any) -> None:
    runtime = hub.runtime
    runtime.settings = runtime.settings.with_overrides(
        api_bases=(("weibo", sandbox.platform_url("weibo")),
                   ("douyin", sandbox.platform_url("douyin"))),
        weibo_app_key="yc_weibo_app", weibo_app_secret="yc-weibo-secret",
        douyin_client_key="yc_douyin_app", douyin_client_secret="yc-douyin-secret",
        public_url="https://hub.test", **extra)


def consent(url: str, *, account: str, decision: str = "approve",
            scopes: tuple[str, ...] = DOUYIN_SCOPES) -> str:
    """The holder answers the consent page; returns the hub path + query it is sent back to."""
    answer = requests.post(url, data={"account": account, "decision": decision,
                                      "scope": list(scopes)},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.netloc == "hub.test", back
    return f"{back.path}?{back.query}"


def start(hub, org: str, platform: str, token: str | None = None, **body: Any):
    return hub.post(f"/api/v1/orgs/{org}/authorizations", {"platform": platform, **body},
                    token=token)


def authorize(hub, org: str, platform: str, account: str, token: str | None = None,
              **body: Any) -> dict[str, Any]:
    """Start, consent, come back: the attempt as the API then shows it."""
    started = start(hub, org, platform, token, **body)
    assert started.status_code == 201, started.json
    page = hub.client.get(consent(started.json["url"], account=account))
    assert page.status_code == 200
    return hub.get(f"/api/v1/authorizations/{started.json['id']}", token=token).json
