"""Helpers for the Douyin tests: a tiny real MP4, rendered posts, accounts, an adapter runner."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import aiohttp

from adapters.base import AccountRef
from adapters.douyin import DouyinAdapter
from adapters.tokens import RedisTokenCache
from channels.base import AssetView, OriginView, Post
from channels.douyin import DouyinChannel
from sandbox.douyin import seed_credentials
from tests.platform_core.scaffold import redis_token_cache
from tests.platforms.samples import HUB, item_version

T = TypeVar("T")


@dataclass
class BytesMedia:
    """MediaSource serving fixed bytes per asset id."""

    blobs: dict[str, bytes]

    def original(self, asset: AssetView) -> bytes:
        return self.blobs[asset.id]

    def rendition(self, asset: AssetView, spec: str) -> tuple[bytes, str]:
        return self.blobs[asset.id], "image/jpeg"


def video_asset(content: bytes) -> AssetView:
    return AssetView(
        id="as_clip",
        kind="video",
        content_type="video/mp4",
        sha256=hashlib.sha256(content).hexdigest(),
        bytes=len(content),
        width=64,
        height=64,
        duration_s=2.0,
    )


def render_post(
    content: bytes,
    *,
    title: str = "暴雨预警：今晚到明天有强降雨",
    cover: bytes | None = None,
    origin: OriginView | None = None,
) -> Post:
    video = video_asset(content)
    blobs = {video.id: content}
    item = item_version(item_id="it_rain", version=1, kind="video", title=title, body_html="",
                        summary="请市民减少外出。", author="李四", tags=("防汛",),
                        assets=(video,), public_url=f"{HUB}/p/it_rain", origin=origin)
    if cover is not None:
        cover_asset = AssetView(
            id="as_cover",
            kind="image",
            content_type="image/jpeg",
            sha256=hashlib.sha256(cover).hexdigest(),
            bytes=len(cover),
        )
        blobs[cover_asset.id] = cover
        item = replace(item, cover=cover_asset)
    return DouyinChannel().render(item, BytesMedia(blobs))


def new_open_id() -> str:
    return str(uuid.uuid4())


def account_for(api_base: str, open_id: str | None = None, **overrides: str) -> AccountRef:
    credentials = seed_credentials(open_id or new_open_id())
    credentials.update(overrides)
    return AccountRef(id="acc_dy", platform="douyin", api_base=api_base, credentials=credentials)


class Clock:
    """The adapter's clock, moved by hand alongside the sandbox clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run_adapter(
    redis_url: str,
    scenario: Callable[[DouyinAdapter, RedisTokenCache], Awaitable[T]],
    **options: Any,
) -> T:
    """Run ``scenario`` on a fresh loop with a real session and a Redis token cache."""

    async def main() -> T:
        async with redis_token_cache(redis_url, "dy") as cache, aiohttp.ClientSession() as session:
            return await scenario(DouyinAdapter(session, cache, **options), cache)

    return asyncio.run(main())
