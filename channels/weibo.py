"""Weibo (微博): an item version -> one ``statuses/share`` status
(docs/platforms/weibo.md).

The status is ``【标题】摘要（转载自…） <link>``: at most 140 characters counted the Weibo way,
no ``#话题#`` topic markers, and a link to the item's public page (the app's safe domain, which
share.json requires). The adapter appends ``?d=<delivery id>`` to that link so ``lookup`` can
find the post after a crash; its length is reserved here (``MAX_MARKER_CHARS``).

Decisions where Weibo's documentation leaves a choice:

- Length: a non-ASCII character counts 1, an ASCII character counts ½, and the total is rounded
  up (the commonly used rule; Weibo does not document it). The link is counted at its
  full length, never as a shortened ``t.cn`` link, so the count errs on the safe side.
- Video items go out as text + link + cover picture: video upload to Weibo is out of scope.
- ``#话题#`` pairs lose their ``#`` but keep their words; a lone ``#`` cannot form a topic and stays.
- The reprint mark is the hub-wide ``转载自<org>`` (docs/dev/platform-kit.md), kept whole at the end of
  the text; the title and summary are cut to make room for it and for the link.

``Post.fields``: ``text`` (everything before the link), ``link`` (the public page, no marker),
``pic`` (the name of the one ``MediaBlob`` or None). :func:`compose_status` joins them.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import re
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from channels.base import AssetView, CannotRender, ItemVersionView, MediaBlob, MediaSource, Post

PLATFORM = "weibo"
MAX_CHARS = 140
# Half-character units: ASCII = 1 unit, anything else = 2 units, 140 characters = 280 units.
MAX_UNITS = MAX_CHARS * 2
# Longest marker (delivery id, URL-quoted) the adapter may append as "?d=<marker>".
MAX_MARKER_CHARS = 40
MARKER_PARAM = "d"
ELLIPSIS = "…"
# Below this the text would be little more than an ellipsis: refuse instead.
MIN_BODY_UNITS = 12
# A summary cut shorter than this is noise after the title: drop it instead.
MIN_SUMMARY_UNITS = 12
PIC_SPEC = "weibo_pic"
VIDEO_FRAME_SPEC = "video_cover"
PIC_NAME = "pic"
PIC_MAX_BYTES = 5 * 1024 * 1024
PIC_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}

_TOPIC_RE = re.compile(r"[#＃]([^#＃\n]+)[#＃]")
_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")


class WeiboChannel:
    platform = PLATFORM

    def render(self, item: ItemVersionView, media: MediaSource) -> Post:
        link = public_link(item)
        text = status_text(item, link)
        blob = picture(item, media)
        fields: dict[str, Any] = {"text": text, "link": link, "pic": blob.name if blob else None}
        return Post(
            platform=PLATFORM,
            fields=fields,
            media=(blob,) if blob else (),
            content_hash=content_hash(fields, blob),
        )


# ---------------------------------------------------------------- the status text


def weibo_length(text: str) -> int:
    """Characters as Weibo counts them: ASCII ½, everything else 1, rounded up."""
    return (text_units(text) + 1) // 2


def text_units(text: str) -> int:
    return sum(char_units(char) for char in text)


def char_units(char: str) -> int:
    return 1 if ord(char) < 128 else 2


def marked_link(link: str, marker: str) -> str:
    """The public link with the delivery marker as its ``d`` query parameter."""
    separator = "&" if urlsplit(link).query else "?"
    return f"{link}{separator}{MARKER_PARAM}={quote(marker, safe='')}"


def compose_status(text: str, link: str, marker: str) -> str:
    """The status as sent: the rendered text, a space, the link carrying the marker."""
    if len(quote(marker, safe="")) > MAX_MARKER_CHARS:
        raise ValueError(f"marker longer than {MAX_MARKER_CHARS} characters")
    return f"{text} {marked_link(link, marker)}"


def public_link(item: ItemVersionView) -> str:
    url = item.public_url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise CannotRender(
            "稿件没有公开页面链接，微博要求正文带安全域名链接 "
            "(the item has no public page link; Weibo requires a safe-domain link)",
            field="public_url",
        )
    # A fragment would swallow the marker appended after it.
    return urlunsplit(parts._replace(fragment=""))


def status_text(item: ItemVersionView, link: str) -> str:
    """Title and summary cut to fit 140 characters next to the reprint mark and the link."""
    title = clean_text(item.title)
    summary = clean_text(item.summary) or clean_text(html_to_text(item.body_html))
    if not title and not summary:
        raise CannotRender(
            "稿件缺少标题和摘要 (the item has neither title nor summary)", field="title"
        )
    mark = reprint_mark(item)
    reserved = text_units(mark) + 1 + text_units(link) + len(f"?{MARKER_PARAM}=") + MAX_MARKER_CHARS
    budget = MAX_UNITS - reserved
    if budget < MIN_BODY_UNITS:
        raise CannotRender(
            f"链接和转载标识已占去 {(reserved + 1) // 2} 字，微博 {MAX_CHARS} 字内放不下标题 "
            f"(the link and reprint mark take {(reserved + 1) // 2} of Weibo's {MAX_CHARS} "
            "characters; no room is left for the title)",
            field="public_url",
        )
    return fit_body(title, summary, budget) + mark


def fit_body(title: str, summary: str, budget: int) -> str:
    """``【title】summary`` within ``budget`` units: cut the summary first, then the title."""
    head = f"【{title}】" if title else ""
    full = head + summary
    if text_units(full) <= budget:
        return full
    if not head:
        return cut(summary, budget)
    if text_units(head) > budget:
        return f"【{cut(title, budget - text_units('【】'))}】"
    room = budget - text_units(head)
    return head + cut(summary, room) if room >= MIN_SUMMARY_UNITS else head


def cut(text: str, budget: int) -> str:
    """The longest prefix of ``text`` that fits ``budget`` units with an ellipsis after it."""
    if text_units(text) <= budget:
        return text
    room = budget - text_units(ELLIPSIS)
    kept: list[str] = []
    for char in text:
        room -= char_units(char)
        if room < 0:
            break
        kept.append(char)
    prefix = "".join(kept).rstrip(" ，,。.、；;：:")
    return prefix + ELLIPSIS if prefix else ""


def clean_text(text: str) -> str:
    """One line, no ``#话题#`` markers (share.json refuses them)."""
    return _SPACE_RE.sub(" ", _TOPIC_RE.sub(r"\1", text)).strip()


def html_to_text(body_html: str) -> str:
    return html_lib.unescape(_TAG_RE.sub(" ", body_html))


def reprint_mark(item: ItemVersionView) -> str:
    if item.origin is None or not item.origin.org_name.strip():
        return ""
    return f"（转载自{clean_text(item.origin.org_name)}）"


# ---------------------------------------------------------------- the picture


def picture(item: ItemVersionView, media: MediaSource) -> MediaBlob | None:
    """At most one picture: the cover, else the first image, else a frame of the video."""
    source = picture_source(item)
    if source is None:
        return None
    asset, spec = source
    data, content_type = media.rendition(asset, spec)
    content_type = content_type.split(";")[0].strip().lower()
    extension = PIC_TYPES.get(content_type)
    if extension is None:
        raise CannotRender(
            f"配图格式 {content_type} 不被微博接受，只能是 JPEG/PNG/GIF "
            f"(Weibo takes JPEG/PNG/GIF pictures only, not {content_type})",
            field="cover",
        )
    if len(data) >= PIC_MAX_BYTES:
        raise CannotRender(
            f"配图 {len(data) / 1024 / 1024:.1f} MB，微博要求小于 5 MB "
            f"(the picture is {len(data) / 1024 / 1024:.1f} MB; Weibo takes less than 5 MB)",
            field="cover",
        )
    return MediaBlob.holding(PIC_NAME, f"{asset.id}.{extension}", content_type, data)


def picture_source(item: ItemVersionView) -> tuple[AssetView, str] | None:
    if item.cover is not None:
        return item.cover, PIC_SPEC if item.cover.kind == "image" else VIDEO_FRAME_SPEC
    image = next((asset for asset in item.assets if asset.kind == "image"), None)
    if image is not None:
        return image, PIC_SPEC
    video = next((asset for asset in item.assets if asset.kind == "video"), None)
    if item.kind == "video" and video is not None:
        return video, VIDEO_FRAME_SPEC
    return None


def content_hash(fields: dict[str, Any], blob: MediaBlob | None) -> str:
    hashed = {**fields, "pic_sha256": blob.sha256 if blob else None}
    canonical = json.dumps(hashed, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
