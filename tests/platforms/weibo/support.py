"""Helpers for the Weibo tests: accounts, rendered posts, a real session, a scripted server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from adapters.base import AccountRef
from adapters.weibo import WeiboAdapter
from channels.base import AssetView, Post
from channels.weibo import WeiboChannel
from sandbox.weibo import uid_for_token
from tests.platform_core.scaffold import answering
from tests.platforms.samples import item_version, png_bytes
from tests.support.token_cache import MemoryTokenCache

T = TypeVar("T")
COVER = AssetView(id="as_cover", kind="image", content_type="image/png", sha256="c" * 64, bytes=100)


class PngMedia:
    def original(self, asset: AssetView) -> bytes:
        raise AssertionError("the Weibo channel uses renditions only")

    def rendition(self, asset: AssetView, spec: str) -> tuple[bytes, str]:
        return png_bytes(), "image/png"


def account_for(api_base: str, token: str = "2.00tok_jiangcheng", **extra: str) -> AccountRef:
    return AccountRef(
        id="acc_weibo",
        platform="weibo",
        api_base=api_base,
        credentials={"access_token": token, **extra},
    )


def uid_of(account: AccountRef) -> str:
    return uid_for_token(account.credentials["access_token"])


def make_post(
    item_id: str = "it_flood",
    *,
    public_base: str = "http://127.0.0.1:8000",
    title: str = "市政府召开防汛工作会议",
    with_picture: bool = False,
) -> Post:
    item = item_version(item_id=item_id, version=1, title=title,
                        summary="会议部署了本周强降雨应对工作。#防汛#",
                        cover=COVER if with_picture else None,
                        public_url=f"{public_base}/p/{item_id}", org_name="")
    return WeiboChannel().render(item, PngMedia())


def run_with_adapter(scenario: Callable[[WeiboAdapter], Awaitable[T]], **options: Any) -> T:
    """Run ``scenario(adapter)`` on a fresh event loop with a real aiohttp session."""

    async def main() -> T:
        async with aiohttp.ClientSession() as session:
            return await scenario(WeiboAdapter(session, MemoryTokenCache(), **options))

    return asyncio.run(main())


@dataclass
class Scripted:
    """A server that answers from a script (the last answer repeats) and counts requests."""

    answers: list[tuple[int, str, bytes]]
    paths: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.paths.append(request.path)
        status, content_type, body = self.answers[min(len(self.paths), len(self.answers)) - 1]
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})


@contextlib.asynccontextmanager
async def scripted_server(*answers: tuple[int, str, bytes]) -> AsyncIterator[Scripted]:
    scripted = Scripted(list(answers))
    async with answering(scripted.handle) as base:
        scripted.url = base
        yield scripted
