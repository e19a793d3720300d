"""Douyin (抖音): a video item version -> the upload + ``create_video`` payload
(docs/platforms/douyin.md).

Rendering checks Douyin's upload constraints and builds the caption (``text``) once per item
version. The per-delivery marker is not known here: the adapter appends it as the item's public
link ``…?d=<marker>`` (or a bare ``d=<marker>``), so the caption keeps room for that suffix.

``Post.fields``:
  ``text``        caption without the marker suffix
  ``link``        the item's public URL ("" when there is none)
  ``video``       name of the video ``MediaBlob`` in ``Post.media``
  ``upload``      "single" or "chunked" (above ``CHUNKED_ABOVE_BYTES``)
  ``cover``       name of the custom-cover ``MediaBlob``, or None
  ``cover_tsp``   seconds into the video of the cover frame when there is no custom cover, else None
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from channels.base import AssetView, CannotRender, ItemVersionView, MediaBlob, MediaSource, Post

PLATFORM = "douyin"
VIDEO_TYPES = {"video/mp4": ".mp4", "video/webm": ".webm"}  # Douyin recommends mp4 and webm
COVER_TYPES = {"image/jpeg": ".jpg", "image/png": ".png"}
MB = 1024 * 1024
# Douyin: chunked upload recommended above 50 MB, required above 128 MB; total at most 4 GB.
CHUNKED_ABOVE_BYTES = 50 * MB
SINGLE_UPLOAD_MAX_BYTES = 128 * MB
MAX_VIDEO_BYTES = 4 * 1024 * MB
# Douyin's legacy upload page: at most 15 minutes. Applied to every upload, chunked or not (unconfirmed).
MAX_DURATION_S = 15 * 60
# Douyin does not document the caption limit; one client truncates to 150 characters.
CAPTION_MAX_CHARS = 150
# Room for the adapter's marker (a delivery id, ``dlv_`` + 26 characters) and its separator.
MARKER_MAX_CHARS = 40
# Custom cover images larger than this are sent as the ``thumb_feed`` rendition (limit unconfirmed).
COVER_MAX_BYTES = 5 * MB
DEFAULT_COVER_TSP_S = 1.0

_SPACE_RE = re.compile(r"\s+")
_TAG_JUNK_RE = re.compile(r"[\s#@＃]+")


class DouyinChannel:
    platform = PLATFORM

    def render(self, item: ItemVersionView, media: MediaSource) -> Post:
        if item.kind != "video":
            raise CannotRender(
                "抖音只接受视频稿件，这是一篇图文稿 (Douyin takes video items only)", field="kind"
            )
        video = checked_video(item)
        video_blob = original_blob(
            "video", f"{item.item_id}{VIDEO_TYPES[video.content_type]}", video, media
        )
        cover_blob = cover_image_blob(item, media)
        fields: dict[str, Any] = {
            "text": caption(item),
            "link": item.public_url,
            "video": video_blob.name,
            "upload": "chunked" if video.bytes > CHUNKED_ABOVE_BYTES else "single",
            "cover": cover_blob.name if cover_blob else None,
            "cover_tsp": None if cover_blob else cover_timestamp(video),
        }
        blobs = (video_blob,) if cover_blob is None else (video_blob, cover_blob)
        return Post(
            platform=PLATFORM, fields=fields, media=blobs, content_hash=content_hash(fields, blobs)
        )


# ---------------------------------------------------------------- video


def checked_video(item: ItemVersionView) -> AssetView:
    video = next((asset for asset in item.assets if asset.kind == "video"), None)
    if video is None:
        raise CannotRender(
            "视频稿件缺少视频文件 (the video item has no video file)", field="assets"
        )
    if video.content_type not in VIDEO_TYPES:
        raise CannotRender(
            f"抖音只接受 MP4 或 WebM 视频，这个文件是 {video.content_type} "
            f"(Douyin takes MP4 or WebM video, this file is {video.content_type})",
            field="assets",
        )
    if video.bytes <= 0:
        raise CannotRender("视频文件是空的 (the video file is empty)", field="assets")
    if video.bytes > MAX_VIDEO_BYTES:
        raise CannotRender(
            f"视频过大：{video.bytes / MB / 1024:.1f} GB，抖音最多接收 4 GB "
            f"(the video is {video.bytes / MB / 1024:.1f} GB; Douyin accepts at most 4 GB)",
            field="assets",
        )
    if video.duration_s is not None:
        if video.duration_s <= 0:
            raise CannotRender("视频时长为零 (the video has no duration)", field="assets")
        if video.duration_s > MAX_DURATION_S:
            minutes = video.duration_s / 60
            raise CannotRender(
                f"视频过长：{minutes:.1f} 分钟，抖音最长 15 分钟 "
                f"(the video runs {minutes:.1f} minutes; Douyin takes at most 15)",
                field="assets",
            )
    return video


def cover_timestamp(video: AssetView) -> float:
    """The frame the hub's ``video_cover`` rendition shows: at 1 s, or the first of shorter clips."""
    if video.duration_s is not None and video.duration_s <= DEFAULT_COVER_TSP_S:
        return 0.0
    return DEFAULT_COVER_TSP_S


def cover_image_blob(item: ItemVersionView, media: MediaSource) -> MediaBlob | None:
    """The item's own cover image as a custom cover; without one Douyin picks the frame."""
    cover = item.cover
    if cover is None or cover.kind != "image":
        return None
    if cover.content_type in COVER_TYPES and 0 < cover.bytes <= COVER_MAX_BYTES:
        return original_blob("cover", f"{cover.id}{COVER_TYPES[cover.content_type]}", cover, media)
    data, content_type = media.rendition(cover, "thumb_feed")
    return MediaBlob.holding("cover", f"{cover.id}{COVER_TYPES.get(content_type, '.jpg')}",
                             content_type, data)


def original_blob(name: str, filename: str, asset: AssetView, media: MediaSource) -> MediaBlob:
    """A blob read lazily: the bytes are fetched per upload, never held by the rendered post."""
    return MediaBlob(
        name=name,
        filename=filename,
        content_type=asset.content_type,
        size=asset.bytes,
        sha256=asset.sha256,
        read=lambda: media.original(asset),
    )


# ---------------------------------------------------------------- caption


def caption(item: ItemVersionView) -> str:
    """``title summary #tags 转载自…``; summary and tags give way first when space runs out.

    ``@`` becomes a full-width ``＠``: a mention needs the user's open_id in ``at_users``,
    which the hub does not have.
    """
    title = clean_text(item.title)
    if not title:
        raise CannotRender("稿件缺少标题 (the item has no title)", field="title")
    reprint = reprint_mark(item)
    budget = CAPTION_MAX_CHARS - marker_reserve(item.public_url)
    mandatory = " ".join(part for part in (title, reprint) if part)
    if len(mandatory) > budget:
        raise CannotRender(
            f"标题过长：抖音文案最多 {CAPTION_MAX_CHARS} 字，除去稿件链接后标题"
            f"{'和转载标识' if reprint else ''}最多 {budget - len(reprint) - bool(reprint)} 字 "
            f"(the title is too long for the {CAPTION_MAX_CHARS}-character Douyin caption)",
            field="title",
        )
    room = budget - len(mandatory)
    optional = []
    summary = clean_text(item.summary)
    if summary and summary != title and room > 1:
        summary = summary if len(summary) + 1 <= room else summary[: room - 2] + "…"
        optional.append(summary)
        room -= len(summary) + 1
    for tag in topic_tags(item.tags):
        if len(tag) + 1 <= room:
            optional.append(tag)
            room -= len(tag) + 1
    return " ".join([title, *optional, *([reprint] if reprint else [])])


def clean_text(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip().replace("@", "＠")


def topic_tags(tags: tuple[str, ...]) -> list[str]:
    topics = []
    for tag in tags:
        name = _TAG_JUNK_RE.sub("", tag)
        if name and f"#{name}" not in topics:
            topics.append(f"#{name}")
    return topics


def reprint_mark(item: ItemVersionView) -> str:
    origin = item.origin
    if origin is None:
        return ""
    mark = f"转载自{clean_text(origin.org_name)}"
    source = clean_text(origin.source)
    if source and source != clean_text(origin.org_name):
        mark += f"（来源：{source}）"
    return mark


def marker_reserve(link: str) -> int:
    """Characters the adapter's `` <link>?d=<marker>`` suffix may take."""
    return 1 + len(link) + len("?d=") + MARKER_MAX_CHARS if link else len(" d=") + MARKER_MAX_CHARS


def content_hash(fields: dict[str, Any], blobs: tuple[MediaBlob, ...]) -> str:
    hashed = {**fields, "media": [[blob.name, blob.sha256] for blob in blobs]}
    canonical = json.dumps(hashed, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
