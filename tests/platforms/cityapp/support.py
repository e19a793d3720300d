"""Helpers for the city-app tests: accounts, rendered posts, a scripted receiver, signing."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from adapters.base import AccountRef
from adapters.cityapp import CityAppAdapter
from channels.base import AssetView, ItemVersionView, Post
from channels.cityapp import CityAppChannel
from tests.platform_core.scaffold import answering
from tests.support.token_cache import MemoryTokenCache

T = TypeVar("T")


class NoMedia:
    """The city app takes media by URL: any byte access is a bug."""

    def original(self, asset: AssetView) -> bytes:
        raise AssertionError("the city-app channel must not read media bytes")

    def rendition(self, asset: AssetView, spec: str) -> tuple[bytes, str]:
        raise AssertionError("the city-app channel must not read media bytes")


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def account_for(webhook_url: str, secret: str, account_id: str = "acc_city") -> AccountRef:
    return AccountRef(
        id=account_id,
        platform="cityapp",
        api_base=webhook_url,
        credentials={"webhook_url": webhook_url, "signing_secret": secret},
    )


def make_post(
    item_id: str = "it_flood", version: int = 1, title: str = "市政府召开防汛工作会议"
) -> Post:
    item = ItemVersionView(
        item_id=item_id,
        version=version,
        kind="article",
        title=title,
        body_html="<p>会议部署了强降雨应对工作。</p>",
        summary=f"{title}：第{version}版摘要",
        author="张三",
        source="江城发布",
        tags=("时政",),
        public_url=f"https://hub.example.gov.cn/p/{item_id}",
    )
    return CityAppChannel().render(item, NoMedia())


def run_with_adapter(scenario: Callable[[CityAppAdapter], Awaitable[T]], **attrs: Any) -> T:
    """Run ``scenario(adapter)`` on a fresh event loop with a real aiohttp session."""

    async def main() -> T:
        async with aiohttp.ClientSession() as session:
            adapter = CityAppAdapter(session, MemoryTokenCache())
            for name, value in attrs.items():
                setattr(adapter, name, value)
            return await scenario(adapter)

    return asyncio.run(main())


@dataclass
class Captured:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Scripted:
    """A receiver that answers from a script (the last answer repeats) and records requests."""

    answers: list[tuple[int, dict[str, str], bytes]]
    requests: list[Captured] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            Captured(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=await request.read(),
            )
        )
        status, headers, body = self.answers[min(len(self.requests), len(self.answers)) - 1]
        return web.Response(status=status, headers=headers, body=body)


@contextlib.asynccontextmanager
async def scripted_receiver(
    *answers: tuple[int, dict[str, str], bytes],
) -> AsyncIterator[Scripted]:
    scripted = Scripted(list(answers) or [(200, {}, b"")])
    async with answering(scripted.handle) as base:
        scripted.url = f"{base}/hooks/city"
        yield scripted
