"""Helpers for the WeChat tests: real JPEG renditions, accounts, rendered posts, a live adapter."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import aiohttp
from PIL import Image

from adapters.base import AccountRef
from adapters.wechat import WeChatAdapter
from channels.base import AssetView, ItemVersionView, Post
from channels.wechat import WeChatChannel
from tests.platform_core.scaffold import redis_token_cache
from tests.platforms.samples import png_bytes

T = TypeVar("T")
HUB = "http://127.0.0.1:8000"


def jpeg_bytes(
    width: int = 47, height: int = 20, color: tuple[int, int, int] = (20, 90, 160)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()


class ImageMedia:
    """Real image bytes for every rendition (the sandbox sniffs formats and sizes)."""

    def original(self, asset: AssetView) -> bytes:
        raise AssertionError("the WeChat channel uses renditions only")

    def rendition(self, asset: AssetView, spec: str) -> tuple[bytes, str]:
        if asset.content_type == "image/png":
            return png_bytes(), "image/png"
        return jpeg_bytes(), "image/jpeg"


COVER = AssetView(
    id="as_cover", kind="image", content_type="image/jpeg", sha256="c" * 64, bytes=900,
    url=f"{HUB}/media/as_cover.jpg",
)  # fmt: skip
PHOTO = AssetView(
    id="as_photo", kind="image", content_type="image/png", sha256="p" * 64, bytes=300,
    url=f"{HUB}/media/as_photo.png",
)  # fmt: skip


def make_item(item_id: str = "it_flood", **changes: Any) -> ItemVersionView:
    item = ItemVersionView(
        item_id=item_id,
        version=1,
        kind="article",
        title="市政府召开防汛工作会议",
        body_html=f'<p>会议部署了强降雨应对工作。</p><p><img src="{PHOTO.url}"></p>',
        summary="会议部署了本周强降雨应对工作。",
        author="融媒体中心",
        source="江城发布",
        cover=COVER,
        assets=(PHOTO,),
        public_url=f"{HUB}/p/{item_id}",
    )
    return replace(item, **changes)


def make_post(item_id: str = "it_flood", **changes: Any) -> Post:
    return WeChatChannel().render(make_item(item_id, **changes), ImageMedia())


def account_for(
    api_base: str, appid: str = "wx0000000000000001", secret: str = "s3cr3t"
) -> AccountRef:
    return AccountRef(
        id=f"acc_{appid}",
        platform="wechat",
        api_base=api_base,
        credentials={"appid": appid, "secret": secret},
    )


def run_with_adapter(
    redis_url: str,
    scenario: Callable[[WeChatAdapter], Awaitable[T]],
    **options: Any,
) -> T:
    """Run ``scenario(adapter)`` on a fresh loop: real aiohttp session, real Redis token cache."""

    async def main() -> T:
        async with redis_token_cache(redis_url, "wx") as cache, aiohttp.ClientSession() as session:
            return await scenario(WeChatAdapter(session, cache, **options))

    return asyncio.run(main())
