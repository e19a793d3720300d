"""City app (城市客户端): an item version -> the `article.published` story
(docs/platforms/cityapp.md).

The city app gets a thin payload: sanitised HTML and media *by URL* (no uploads), so the
story can be rendered once and signed for every city-app endpoint. ``Post.fields`` is the
event's ``data`` object minus ``delivery_id``, which the adapter adds per delivery.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import re
from datetime import UTC, datetime
from typing import Any

import nh3

from channels.base import AssetView, CannotRender, ItemVersionView, MediaSource, Post

PLATFORM = "cityapp"
CHANNEL_NAME = "city-app"
# The webhook contract: the whole request body is at most 256 KB.
MAX_BODY_BYTES = 256 * 1024
# Room left for the envelope ({"type","timestamp","data":…}) and the adapter's delivery_id.
ENVELOPE_RESERVE_BYTES = 512
SUMMARY_FALLBACK_CHARS = 120
URL_SCHEMES = {"http", "https", "mailto", "tel"}
# Render-time stamp: informative only, so it stays out of the content hash.
UNHASHED_FIELDS = ("published_at",)

_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")


class CityAppChannel:
    platform = PLATFORM

    def render(self, item: ItemVersionView, media: MediaSource) -> Post:
        title = item.title.strip()
        if not title:
            raise CannotRender("稿件缺少标题 (the story has no title)", field="title")
        content_html = sanitise_html(item.body_html)
        data: dict[str, Any] = {
            "article_id": item.item_id,
            "revision": item.version,
            "channel": CHANNEL_NAME,
            "kind": item.kind,
            "title": title,
            "summary": item.summary.strip() or summary_from_html(content_html),
            "content_html": content_html,
            "cover_url": cover_url(item),
            "canonical_url": item.public_url or None,
            "category": item.tags[0] if item.tags else None,
            "tags": list(item.tags),
            "author": item.author or None,
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **source_fields(item),
        }
        if item.kind == "video":
            data["video"] = video_fields(item)
        check_size(data)
        return Post(platform=PLATFORM, fields=data, content_hash=content_hash(data))


def sanitise_html(body_html: str) -> str:
    return nh3.clean(body_html, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer")


def summary_from_html(html: str) -> str:
    text = _SPACE_RE.sub(" ", html_lib.unescape(_TAG_RE.sub(" ", html))).strip()
    return text[:SUMMARY_FALLBACK_CHARS]


def cover_url(item: ItemVersionView) -> str | None:
    """The cover's public hub URL; a video item without a cover image has none here."""
    if item.cover is not None and item.cover.url:
        return item.cover.url
    return None


def source_fields(item: ItemVersionView) -> dict[str, Any]:
    """Own items name their source; pulled items carry the reprint mark (转载标识) in ``source``."""
    if item.origin is None:
        return {"source": item.source or item.org_name or None, "reprint": None}
    origin = item.origin
    return {
        "source": f"转载自{origin.org_name}",
        "reprint": {
            "org_name": origin.org_name,
            "source": origin.source or None,
            "url": origin.url or None,
            "item_id": origin.item_id,
        },
    }


def video_fields(item: ItemVersionView) -> dict[str, Any]:
    video = first_video(item.assets)
    if video is None:
        raise CannotRender(
            "视频稿件缺少视频文件 (the video item has no video file)", field="assets"
        )
    if not video.url:
        raise CannotRender(
            "视频文件没有可访问的地址 (the video file has no public URL yet)", field="assets"
        )
    return {
        "url": video.url,
        "content_type": video.content_type,
        "duration_s": video.duration_s,
        "width": video.width,
        "height": video.height,
        "bytes": video.bytes,
    }


def first_video(assets: tuple[AssetView, ...]) -> AssetView | None:
    return next((asset for asset in assets if asset.kind == "video"), None)


def check_size(data: dict[str, Any]) -> None:
    size = len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
    limit = MAX_BODY_BYTES - ENVELOPE_RESERVE_BYTES
    if size > limit:
        raise CannotRender(
            f"正文过长：{size // 1024} KB，城市客户端最多接收 {limit // 1024} KB "
            f"(the story is {size // 1024} KB; the city app accepts at most {limit // 1024} KB)",
            field="body_html",
        )


def content_hash(data: dict[str, Any]) -> str:
    hashed = {key: value for key, value in data.items() if key not in UNHASHED_FIELDS}
    canonical = json.dumps(hashed, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
