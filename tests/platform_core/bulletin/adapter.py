"""The notice board's API client, and its platform spec.

``POST /notices`` (bearer token of the board) publishes and answers ``{"id": …}``;
``GET /notices/<id>`` and ``GET /notices?board=&marker=`` read; ``DELETE /notices/<id>``
takes a notice down (already gone: 404, which counts as done).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from urllib.parse import quote

import aiohttp

from adapters.base import (
    AccountMisconfigured,
    AccountRef,
    AuthFailed,
    Capabilities,
    Receipt,
    Retryable,
    TokenCache,
)
from adapters.http import HttpReply, call
from adapters.spec import CredentialField, PlatformSpec, Rate
from channels.base import Post

PLATFORM = "bulletin"
DEFAULT_API_BASE = "https://api.bulletin.example.gov.cn"

CAPABILITIES = Capabilities(publish=True, withdraw=True, status_polling=False, lookup=True,
                            notes="测试用公告栏 (a notice board for the tests)")


class BulletinAdapter:
    platform = PLATFORM
    capabilities = CAPABILITIES

    def __init__(self, session: aiohttp.ClientSession, tokens: TokenCache) -> None:
        self._session = session

    async def publish(self, account: AccountRef, post: Post, *, marker: str) -> Receipt:
        body = {"board": board_of(account), "marker": marker, **post.fields}
        reply = await self._call(account, "POST", "/notices", json=body)
        return Receipt(remote_id=str(reply.json["id"]))

    async def status(self, account: AccountRef, remote_id: str) -> Receipt:
        reply = await self._call(account, "GET", f"/notices/{quote(remote_id, safe='')}")
        if reply.status == 404:
            return Receipt(remote_id=remote_id, state="deleted")
        return Receipt(remote_id=remote_id)

    async def withdraw(self, account: AccountRef, remote_id: str) -> None:
        await self._call(account, "DELETE", f"/notices/{quote(remote_id, safe='')}")

    async def lookup(self, account: AccountRef, marker: str) -> Receipt | None:
        reply = await self._call(account, "GET", "/notices",
                                 params={"board": board_of(account), "marker": marker})
        live = [n for n in reply.json["items"] if n["state"] == "live"]
        return Receipt(remote_id=str(live[0]["id"])) if live else None

    async def _call(self, account: AccountRef, method: str, path: str, **kw) -> HttpReply:
        token = account.credentials.get("token") or ""
        reply = await call(self._session, method, f"{account.api_base.rstrip('/')}{path}",
                           platform=PLATFORM, headers={"Authorization": f"Bearer {token}"}, **kw)
        if reply.status in (401, 403):
            raise AuthFailed("公告栏拒绝了令牌 (the board refused the token)")
        if reply.status >= 500 or reply.status == 429:
            raise Retryable(f"公告栏暂不可用 (board answered {reply.status})")
        if reply.status >= 400 and reply.status != 404:
            raise AccountMisconfigured(f"公告栏拒绝了请求 (board answered {reply.status})")
        return reply


def board_of(account: AccountRef) -> str:
    return account.credentials.get("board") or ""


def seed_credentials(index: int, sandbox: str) -> dict[str, str]:
    return {"board": f"board{index:05d}", "token": secrets.token_hex(8)}


def enrolment(credentials: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    return credentials["board"], {"token": credentials["token"]}


SPEC = PlatformSpec(
    name=PLATFORM, label_zh="公告栏", label_en="Notice board",
    channel="tests.platform_core.bulletin.channel:BulletinChannel",
    adapter="tests.platform_core.bulletin.adapter:BulletinAdapter",
    capabilities=CAPABILITIES,
    credentials=(CredentialField("board", secret=False, pattern=r"board\d{5}",
                                 hint="board 须为 board 加五位数字 (board: 'board' and 5 digits)"),
                 CredentialField("token")),
    identity=lambda c: (c.get("board") or "").strip(), external_id=lambda c: c.get("board"),
    app_budget=Rate(100, 100), account_budget=Rate(5, 5),
    api_base=DEFAULT_API_BASE, api_hosts=("api.bulletin.example.gov.cn",),
    emulator="tests.platform_core.bulletin.emulator",
    callback="tests.platform_core.bulletin.callback:notice_event",
    seed_share=0.25, seed_credentials=seed_credentials, sandbox_account=enrolment,
)
