"""WeChat official account (微信公众号): an item version -> one draft article
(docs/platforms/wechat.md).

``Post.fields``:

- ``article``: the ``draft/add`` article minus ``thumb_media_id``; ``content`` carries
  ``{{media:<name>}}`` placeholders where in-body images go, and ``content_source_url`` is the
  page without the delivery marker (the adapter adds ``?d=<marker>``).
- ``cover``: name of the blob to upload with ``material/add_material`` (type ``image``); its
  permanent ``media_id`` becomes ``thumb_media_id``.
- ``inline_images``: names of the blobs to upload with ``media/uploadimg``; each returned URL
  replaces its placeholder in ``content``.

Only the 2.35:1 cover is uploaded: ``draft/add`` takes a single ``thumb_media_id`` and crops
the square share card out of it, so a separate 1:1 rendition would never be referenced.
Video items become an article with the video's cover (or a frame of it) and a note sending
readers to “阅读原文”, the hub page that plays the video: WeChat cannot embed a foreign video.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import re
from typing import Any
from urllib.parse import urlsplit

import nh3

from channels.base import AssetView, CannotRender, ItemVersionView, MediaBlob, MediaSource, Post

PLATFORM = "wechat"

MAX_TITLE_CHARS = 32
MAX_AUTHOR_CHARS = 16
MAX_DIGEST_CHARS = 128
MAX_CONTENT_CHARS = 19_999  # "< 20,000 characters"
MAX_CONTENT_BYTES = 1_000_000 - 1  # "< 1 MB"
MAX_SOURCE_URL_BYTES = 1024 - 64  # ≤ 1 KB, leaving room for the adapter's "?d=<marker>"
MAX_INLINE_BYTES = 1024 * 1024 - 1  # media/uploadimg: < 1 MB
MAX_COVER_BYTES = 10 * 1024 * 1024  # material/add_material type=image: ≤ 10 MB
# An uploadimg URL (http://mmbiz.qpic.cn/mmbiz_jpg/<id>/0) is far shorter; this errs high so
# a body that fits here still fits after the adapter swaps the placeholders for URLs.
UPLOADED_URL_RESERVE_CHARS = 256

COVER_SPEC = "wechat_cover_235"
INLINE_SPEC = "wechat_inline"
VIDEO_FRAME_SPEC = "video_cover"
COVER_NAME = "cover"

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "del", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre",
    "s", "section", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
ALLOWED_STYLE_PROPERTIES = {
    "background-color", "border", "border-bottom", "border-left", "border-radius",
    "border-right", "border-top", "box-sizing", "color", "display", "font-size",
    "font-style", "font-weight", "height", "letter-spacing", "line-height", "margin",
    "margin-bottom", "margin-left", "margin-right", "margin-top", "max-width", "padding",
    "padding-bottom", "padding-left", "padding-right", "padding-top", "text-align",
    "text-decoration", "text-indent", "vertical-align", "white-space", "width", "word-break",
}  # fmt: skip
# WeChat only keeps links to other WeChat articles; any other href is dropped (text stays).
WECHAT_LINK_HOSTS = ("mp.weixin.qq.com",)

_IMG_WITHOUT_SRC_RE = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")
_PLACEHOLDER_RE = re.compile(r"\{\{media:[A-Za-z0-9_]+\}\}")


def placeholder(name: str) -> str:
    return "{{media:" + name + "}}"


class WeChatChannel:
    platform = PLATFORM

    def render(self, item: ItemVersionView, media: MediaSource) -> Post:
        title = checked_title(item.title)
        cover_blob = cover_image(item, media)
        body = BodyImages(item, media)
        body_html = body.sanitise(item.body_html)
        content = body_html
        if item.kind == "video":
            content = body.video_intro(item) + content
        content += reprint_footer(item)
        check_content(content)
        article: dict[str, Any] = {
            "article_type": "news",
            "title": title,
            "author": author_for(item),
            "digest": digest_for(item, body_html),
            "content": content,
            "content_source_url": source_url_for(item),
            # Comments open: answering them is part of the job (the inbox takes them in).
            "need_open_comment": 1,
            "only_fans_can_comment": 0,
        }
        fields = {
            "article": article,
            "cover": COVER_NAME,
            "inline_images": [blob.name for blob in body.blobs],
        }
        blobs = (cover_blob, *body.blobs)
        return Post(
            platform=PLATFORM, fields=fields, media=blobs, content_hash=content_hash(fields, blobs)
        )


def checked_title(raw: str) -> str:
    title = raw.strip()
    if not title:
        raise CannotRender("稿件缺少标题 (the article has no title)", field="title")
    if len(title) > MAX_TITLE_CHARS:
        raise CannotRender(
            f"标题超过{MAX_TITLE_CHARS}字（现为{len(title)}字），请缩短后再推送到微信公众号 "
            f"(title longer than {MAX_TITLE_CHARS} characters: {len(title)})",
            field="title",
        )
    return title


def author_for(item: ItemVersionView) -> str:
    """Own items name their author; pulled items put the reprint mark here when it fits.

    The body footer always carries the full mark, so a long org name may fall back to the
    bare name or to no author at all rather than block the delivery.
    """
    if item.origin is not None:
        org = item.origin.org_name.strip()
        for candidate in (f"转载自{org}", org):
            if candidate and len(candidate) <= MAX_AUTHOR_CHARS:
                return candidate
        return ""
    author = item.author.strip()
    if len(author) > MAX_AUTHOR_CHARS:
        raise CannotRender(
            f"作者超过{MAX_AUTHOR_CHARS}字（现为{len(author)}字） "
            f"(author longer than {MAX_AUTHOR_CHARS} characters: {len(author)})",
            field="author",
        )
    return author


def digest_for(item: ItemVersionView, body_html: str) -> str:
    digest = _SPACE_RE.sub(" ", item.summary).strip() or plain_text(body_html)
    if len(digest) <= MAX_DIGEST_CHARS:
        return digest
    return digest[: MAX_DIGEST_CHARS - 1].rstrip(" ，,。.；;、：:") + "…"


def plain_text(html: str) -> str:
    text = _TAG_RE.sub(" ", _PLACEHOLDER_RE.sub("", html))
    return _SPACE_RE.sub(" ", html_lib.unescape(text)).strip()


def source_url_for(item: ItemVersionView) -> str:
    """“阅读原文”: the original for pulled items, else the item's own public page."""
    url = (item.origin.url if item.origin is not None and item.origin.url else "") or (
        item.public_url
    )
    if not url:
        raise CannotRender(
            "稿件缺少公开链接，无法生成“阅读原文” (the item has no public URL for “read more”)",
            field="public_url",
        )
    if len(url.encode()) > MAX_SOURCE_URL_BYTES:
        raise CannotRender(
            "原文链接过长，微信最多接受1KB (the source URL is longer than WeChat's 1 KB)",
            field="public_url",
        )
    return url


def reprint_footer(item: ItemVersionView) -> str:
    if item.origin is None:
        return ""
    origin = item.origin
    mark = f"本文转载自{origin.org_name}"
    if origin.source and origin.source != origin.org_name:
        mark += f"，来源：{origin.source}"
    return f'<p style="color:#888888;font-size:14px">{html_lib.escape(mark)}</p>'


def check_content(content: str) -> None:
    reserve = len(_PLACEHOLDER_RE.findall(content)) * UPLOADED_URL_RESERVE_CHARS
    chars = len(content) + reserve
    if chars > MAX_CONTENT_CHARS or len(content.encode()) + reserve > MAX_CONTENT_BYTES:
        raise CannotRender(
            f"正文过长：约{chars}字符，微信公众号正文须少于20000字符 "
            f"(the body is about {chars} characters; WeChat takes fewer than 20,000)",
            field="body_html",
        )


def cover_image(item: ItemVersionView, media: MediaSource) -> MediaBlob:
    """The permanent cover: WeChat requires ``thumb_media_id`` on every news article."""
    if item.cover is not None and item.cover.kind == "image":
        data, content_type = media.rendition(item.cover, COVER_SPEC)
    elif item.kind == "video" and (video := first_video(item)) is not None:
        data, content_type = media.rendition(video, VIDEO_FRAME_SPEC)
    else:
        raise CannotRender(
            "微信公众号图文必须有封面图，请为稿件添加封面后再推送 "
            "(WeChat articles need a cover image; add one to the item)",
            field="cover",
        )
    if len(data) > MAX_COVER_BYTES:
        raise CannotRender("封面图超过10MB (the cover image is larger than 10 MB)", field="cover")
    return blob(COVER_NAME, data, content_type)


def first_video(item: ItemVersionView) -> AssetView | None:
    return next((asset for asset in item.assets if asset.kind == "video"), None)


def blob(name: str, data: bytes, content_type: str) -> MediaBlob:
    extension = "png" if content_type == "image/png" else "jpg"
    return MediaBlob.holding(name, f"{name}.{extension}", content_type, data)


class BodyImages:
    """Sanitises the body and turns hub images into upload placeholders (one blob per asset)."""

    def __init__(self, item: ItemVersionView, media: MediaSource):
        self.media = media
        self.blobs: list[MediaBlob] = []
        self._names: dict[str, str] = {}  # asset id -> blob name
        self._assets: dict[str, AssetView] = {}
        images = [a for a in item.assets if a.kind == "image"]
        if item.cover is not None:
            images.append(item.cover)
        for asset in images:
            if asset.url:
                self._assets.setdefault(url_key(asset.url), asset)
                self._assets.setdefault(url_key(asset.url, with_host=False), asset)

    def sanitise(self, body_html: str) -> str:
        found: list[AssetView] = []
        cleaned = nh3.clean(
            body_html,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            attribute_filter=lambda tag, name, value: self._filter(tag, name, value, found),
            filter_style_properties=ALLOWED_STYLE_PROPERTIES,
            url_schemes={"http", "https"},
            link_rel=None,
        )
        # nh3 swallows exceptions raised in the filter, so renditions are fetched only now.
        for asset in found:
            self._add(asset, INLINE_SPEC)
        # Images that are not hub assets cannot be re-hosted; WeChat would drop them anyway.
        return _IMG_WITHOUT_SRC_RE.sub("", cleaned)

    def video_intro(self, item: ItemVersionView) -> str:
        intro = '<p style="text-align:center">本文含视频，请点击“阅读原文”观看</p>'
        video = first_video(item)
        if video is None:
            return intro
        name = self._add(video, VIDEO_FRAME_SPEC)
        return f'<p><img src="{placeholder(name)}" alt="视频封面"></p>' + intro

    def _filter(self, tag: str, attribute: str, value: str, found: list[AssetView]) -> str | None:
        if tag == "a" and attribute == "href":
            return value if urlsplit(value).hostname in WECHAT_LINK_HOSTS else None
        if tag == "img" and attribute == "src":
            asset = self._assets.get(url_key(value))
            if asset is None:
                return None
            if asset.id not in self._names:
                self._names[asset.id] = f"img{len(self._names) + 1}"
                found.append(asset)
            return placeholder(self._names[asset.id])
        return value

    def _add(self, asset: AssetView, spec: str) -> str:
        """Fetch the rendition behind a blob name (naming the asset first if it is new)."""
        name = self._names.setdefault(asset.id, f"img{len(self._names) + 1}")
        if any(blob.name == name for blob in self.blobs):
            return name
        data, content_type = self.media.rendition(asset, spec)
        if len(data) > MAX_INLINE_BYTES:
            raise CannotRender(
                "正文图片压缩后仍超过1MB (a body image is still larger than 1 MB)",
                field="body_html",
            )
        self.blobs.append(blob(name, data, content_type))
        return name


def url_key(url: str, *, with_host: bool = True) -> str:
    """Hub asset links may be absolute or site-relative; a relative link matches by path."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "") if with_host else ""
    return host + parts.path + ("?" + parts.query if parts.query else "")


def content_hash(fields: dict[str, Any], blobs: tuple[MediaBlob, ...]) -> str:
    canonical = json.dumps(
        {"fields": fields, "media": [[b.name, b.sha256] for b in blobs]},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
