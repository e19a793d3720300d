"""What every channel is: an item version in, the payload one platform accepts out.

Rendering happens once per (item version, platform), before any network call; the
result is reused for every account of that platform. A channel never talks to a platform.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class CannotRender(Exception):
    """This item cannot go to this platform (e.g. a text article to Douyin).

    ``reason`` is shown to editors as is: Chinese, one sentence, no jargon.
    """

    def __init__(self, reason: str, *, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class AssetView:
    """A stored media asset as the channels see it."""

    id: str
    kind: str  # image | video
    content_type: str
    sha256: str
    bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    url: str | None = None  # public URL of the stored bytes on the hub


@dataclass(frozen=True)
class OriginView:
    """Where a pulled (republished) item came from: drives the reprint mark (转载标识)."""

    item_id: str
    org_name: str
    source: str
    url: str


@dataclass(frozen=True)
class ItemVersionView:
    """One immutable item version, plus the links a post needs."""

    item_id: str
    version: int
    kind: str  # article | video
    title: str
    body_html: str
    summary: str
    author: str
    source: str
    tags: tuple[str, ...] = ()
    cover: AssetView | None = None
    assets: tuple[AssetView, ...] = ()
    public_url: str = ""  # the item's public page /p/<id>
    org_name: str = ""
    origin: OriginView | None = None


@dataclass(frozen=True)
class MediaBlob:
    """Bytes the adapter must upload to the platform before (or while) publishing."""

    name: str  # stable placeholder name referenced from the post (e.g. in HTML)
    filename: str
    content_type: str
    size: int
    sha256: str
    read: Callable[[], bytes] = field(repr=False, compare=False)

    @classmethod
    def holding(cls, name: str, filename: str, content_type: str, data: bytes) -> MediaBlob:
        """A blob over bytes already in memory (a rendition), hashed once here."""
        return cls(name=name, filename=filename, content_type=content_type, size=len(data),
                   sha256=hashlib.sha256(data).hexdigest(), read=lambda: data)


@dataclass(frozen=True)
class Post:
    """A platform-ready payload. ``fields`` is platform-specific; ``media`` is to be uploaded."""

    platform: str
    fields: dict[str, Any]
    media: tuple[MediaBlob, ...] = ()
    # Hash of the rendered content: same item version + same rendering = same value.
    content_hash: str = ""


class MediaSource(Protocol):
    """How a channel gets bytes and cached renditions of an asset (storage.renditions)."""

    def original(self, asset: AssetView) -> bytes: ...

    def rendition(self, asset: AssetView, spec: str) -> tuple[bytes, str]:
        """Bytes and content type of a named rendition (e.g. ``wechat_cover_235``); cached."""
        ...


class Channel(Protocol):
    platform: str

    def render(self, item: ItemVersionView, media: MediaSource) -> Post:
        """Raise CannotRender with a readable reason when the item does not fit the platform."""
        ...
