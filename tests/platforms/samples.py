"""The item every channel test starts from (市政府召开防汛工作会议) and its assets; each test file
changes only what its platform cares about."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from PIL import Image

from channels.base import AssetView, CannotRender, ItemVersionView, OriginView
from tests.storage.samples import encode

HUB = "https://hub.example.gov.cn"
MB = 1024 * 1024
ORIGIN = OriginView(
    item_id="it_origin", org_name="省融媒体中心", source="湖北日报", url=f"{HUB}/p/it_origin"
)


def asset(asset_id: str, kind: str = "image", **changes: Any) -> AssetView:
    """A stored asset as a channel sees it: a JPEG image, or with ``kind="video"`` an MP4."""
    base = AssetView(
        id=asset_id,
        kind=kind,
        content_type="image/jpeg" if kind == "image" else "video/mp4",
        sha256=(asset_id.removeprefix("as_")[0] * 64),
        bytes=2000,
        url=None,
    )
    return replace(base, **changes)


def png_bytes() -> bytes:
    """A real 8x8 PNG (the sandboxes sniff formats and sizes)."""
    return encode(Image.new("RGB", (8, 8), (200, 30, 30)), "PNG")


def item_version(**changes: Any) -> ItemVersionView:
    base = ItemVersionView(
        item_id="it_flood",
        version=2,
        kind="article",
        title="市政府召开防汛工作会议",
        body_html="<p>会议部署了强降雨应对工作。</p>",
        summary="会议部署了本周强降雨应对工作。",
        author="张三",
        source="江城发布",
        public_url=f"{HUB}/p/it_flood",
        org_name="江城市融媒体中心",
    )
    return replace(base, **changes)


def refusal(render: Callable[..., Any], *args: Any) -> CannotRender:
    """The CannotRender that ``render(*args)`` must raise."""
    with pytest.raises(CannotRender) as caught:
        render(*args)
    return caught.value
