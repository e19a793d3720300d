"""Named renditions of stored assets, computed once and cached in the object store.

``Renditions(store)`` is the channels' ``MediaSource``. A rendition lives at
``renditions/<sha256>/<spec>``; since the key is the content hash of the original, a cached
rendition never goes stale. Two workers computing the same rendition at once write the same
bytes, so there is nothing to lock.

Specs (limits from docs/dev/platform-kit.md and docs/platforms/):

========================  ====================================================================
``wechat_cover_235``      centre crop to 2.35:1, scaled to exactly 900×383, JPEG
``wechat_cover_1``        centre crop to 1:1, scaled to exactly 383×383, JPEG
``wechat_thumb``          JPEG ≤ 64,000 bytes (quality, then size, lowered until it fits)
``wechat_inline``         ≤ 1080 px wide, < 1,000,000 bytes; PNG kept if it fits, else JPEG
``weibo_pic``             JPEG/PNG/GIF < 5,000,000 bytes; the original when it already fits
``video_cover``           JPEG of the frame at 1 s (the first frame of shorter videos),
                          ≤ 1920 px; for an image asset, the image itself as JPEG
``thumb_feed``            ≤ 640 px wide JPEG
``thumb_ui``              ≤ 240×240 px JPEG
========================  ====================================================================

Any other spec of a video asset is made from its ``video_cover``. Byte limits use decimal
units (1 MB = 1,000,000 bytes), the stricter reading of the platforms' documents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageOps

from .base import ObjectNotFound, ObjectStore, StoreError
from .images import decode_frames, encode_jpeg, encode_png, has_alpha, open_image, to_rgb
from .keys import asset_key, rendition_key
from .video import frame_at

log = logging.getLogger(__name__)

JPEG = "image/jpeg"
PNG = "image/png"
GIF = "image/gif"
WEBP = "image/webp"

WECHAT_COVER_235_SIZE = (900, 383)
WECHAT_COVER_1_SIZE = (383, 383)
WECHAT_THUMB_MAX_BYTES = 64_000
WECHAT_THUMB_MAX_SIDE = 640
WECHAT_INLINE_MAX_BYTES = 1_000_000 - 1
WECHAT_INLINE_MAX_WIDTH = 1080
WEIBO_PIC_MAX_BYTES = 5_000_000 - 1
WEIBO_PIC_MAX_SIDE = 2048
VIDEO_COVER_AT_S = 1.0
VIDEO_COVER_MAX_SIDE = 1920
THUMB_FEED_MAX_WIDTH = 640
THUMB_UI_MAX_SIDE = 240
COVER_QUALITY = 88
THUMB_QUALITY = 85
QUALITY_LADDER = (88, 80, 70, 60, 50, 40, 30)
SHRINK_STEP = 0.75

SPECS = (
    "wechat_cover_235",
    "wechat_cover_1",
    "wechat_thumb",
    "wechat_inline",
    "weibo_pic",
    "video_cover",
    "thumb_feed",
    "thumb_ui",
)


class Renditions:
    """Implements ``channels.base.MediaSource`` over an object store.

    An asset is anything with ``sha256`` and ``kind`` (``image``/``video``) or
    ``content_type`` attributes. Safe to call from several threads: the only shared state is
    the store.
    """

    def __init__(self, store: ObjectStore):
        self.store = store

    def __repr__(self) -> str:
        return f"Renditions({self.store!r})"

    def original(self, asset: Any) -> bytes:
        return self.store.get(asset_key(asset.sha256))

    def rendition(self, asset: Any, spec: str) -> tuple[bytes, str]:
        if spec not in SPECS:
            raise ValueError(f"未知的图片规格 (unknown rendition spec {spec!r})")
        key = rendition_key(asset.sha256, spec)
        try:
            cached = self.store.get(key)
        except ObjectNotFound:
            pass
        else:
            return cached, sniff_image_type(cached)
        data, content_type = self._make(asset, spec)
        try:
            self.store.put(key, data, content_type)
        except StoreError:
            # The caller still gets its rendition; the next call will try to cache it again.
            log.warning("rendition %s of %s could not be cached", spec, asset.sha256, exc_info=True)
        return data, content_type

    def _make(self, asset: Any, spec: str) -> tuple[bytes, str]:
        if is_video(asset):
            if spec == "video_cover":
                return render_video_cover(self.original(asset))
            cover, _ = self.rendition(asset, "video_cover")
            return render_image(cover, spec)
        return render_image(self.original(asset), spec)


def is_video(asset: Any) -> bool:
    kind = getattr(asset, "kind", None)
    if kind:
        return kind == "video"
    return str(getattr(asset, "content_type", "")).startswith("video/")


def sniff_image_type(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return "application/octet-stream"


def render_video_cover(video: bytes) -> tuple[bytes, str]:
    frame = frame_at(video, VIDEO_COVER_AT_S)
    frame = shrink_to(to_rgb(frame), VIDEO_COVER_MAX_SIDE, VIDEO_COVER_MAX_SIDE)
    return encode_jpeg(frame, quality=COVER_QUALITY), JPEG


def render_image(source: bytes, spec: str) -> tuple[bytes, str]:
    """One rendition of an image (the stored original, or a video's cover JPEG)."""
    return _IMAGE_SPECS[spec](source)


def _first_frame(source: bytes, draft_size: tuple[int, int] | None = None) -> Image.Image:
    # Originals were size-checked at upload; Pillow's global bomb guard still applies.
    image = open_image(source, max_pixels=None)
    with image:
        if draft_size and image.format in {"JPEG", "MPO"}:
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still covers the target.
            image.draft(None, draft_size)
        return decode_frames(image, max_pixels=None, animated=False)[0]


def shrink_to(image: Image.Image, max_width: int, max_height: int | None = None) -> Image.Image:
    """Scale down (never up) to fit within the bounds, keeping the aspect ratio."""
    scale = max_width / image.width
    if max_height is not None:
        scale = min(scale, max_height / image.height)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def jpeg_within(image: Image.Image, *, max_bytes: int) -> bytes:
    """A JPEG of at most ``max_bytes``: lower the quality first, then the size."""
    image = to_rgb(image)
    while True:
        for quality in QUALITY_LADDER:
            data = encode_jpeg(image, quality=quality)
            if len(data) <= max_bytes:
                return data
        if image.width == 1 and image.height == 1:
            raise ValueError(f"cannot fit a JPEG into {max_bytes} bytes")
        image = image.resize(
            (max(1, int(image.width * SHRINK_STEP)), max(1, int(image.height * SHRINK_STEP))),
            Image.Resampling.LANCZOS,
        )


def _cover(size: tuple[int, int]) -> Callable[[bytes], tuple[bytes, str]]:
    def render(source: bytes) -> tuple[bytes, str]:
        image = to_rgb(_first_frame(source, draft_size=size))
        cropped = ImageOps.fit(image, size, Image.Resampling.LANCZOS)
        return encode_jpeg(cropped, quality=COVER_QUALITY), JPEG

    return render


def _wechat_thumb(source: bytes) -> tuple[bytes, str]:
    box = (WECHAT_THUMB_MAX_SIDE, WECHAT_THUMB_MAX_SIDE)
    image = shrink_to(_first_frame(source, draft_size=box), *box)
    return jpeg_within(image, max_bytes=WECHAT_THUMB_MAX_BYTES), JPEG


def _wechat_inline(source: bytes) -> tuple[bytes, str]:
    kind = sniff_image_type(source)
    if (
        kind in {JPEG, PNG}
        and len(source) <= WECHAT_INLINE_MAX_BYTES
        and _width_of(source) <= WECHAT_INLINE_MAX_WIDTH
    ):
        return source, kind
    image = _first_frame(source, draft_size=(WECHAT_INLINE_MAX_WIDTH, 1))
    image = shrink_to(image, WECHAT_INLINE_MAX_WIDTH)
    return _png_or_jpeg_within(image, prefer_png=kind == PNG, max_bytes=WECHAT_INLINE_MAX_BYTES)


def _width_of(source: bytes) -> int:
    with open_image(source, max_pixels=None) as image:
        return image.width


def _weibo_pic(source: bytes) -> tuple[bytes, str]:
    kind = sniff_image_type(source)
    if kind in {JPEG, PNG, GIF} and len(source) <= WEIBO_PIC_MAX_BYTES:
        return source, kind  # already cleaned at upload; an animated GIF stays animated
    box = (WEIBO_PIC_MAX_SIDE, WEIBO_PIC_MAX_SIDE)
    image = shrink_to(_first_frame(source, draft_size=box), *box)
    return _png_or_jpeg_within(image, prefer_png=kind == PNG, max_bytes=WEIBO_PIC_MAX_BYTES)


def _png_or_jpeg_within(
    image: Image.Image, *, prefer_png: bool, max_bytes: int
) -> tuple[bytes, str]:
    """PNG when the source is a PNG or has transparency and it fits, else a JPEG that fits."""
    if prefer_png or has_alpha(image):
        data = encode_png(image)
        if len(data) <= max_bytes:
            return data, PNG
    return jpeg_within(image, max_bytes=max_bytes), JPEG


def _video_cover_of_image(source: bytes) -> tuple[bytes, str]:
    box = (VIDEO_COVER_MAX_SIDE, VIDEO_COVER_MAX_SIDE)
    image = shrink_to(to_rgb(_first_frame(source, draft_size=box)), *box)
    return encode_jpeg(image, quality=COVER_QUALITY), JPEG


def _thumb_feed(source: bytes) -> tuple[bytes, str]:
    image = shrink_to(
        _first_frame(source, draft_size=(THUMB_FEED_MAX_WIDTH, 1)), THUMB_FEED_MAX_WIDTH
    )
    return encode_jpeg(to_rgb(image), quality=THUMB_QUALITY), JPEG


def _thumb_ui(source: bytes) -> tuple[bytes, str]:
    box = (THUMB_UI_MAX_SIDE, THUMB_UI_MAX_SIDE)
    image = shrink_to(_first_frame(source, draft_size=box), *box)
    return encode_jpeg(to_rgb(image), quality=THUMB_QUALITY), JPEG


_IMAGE_SPECS: dict[str, Callable[[bytes], tuple[bytes, str]]] = {
    "wechat_cover_235": _cover(WECHAT_COVER_235_SIZE),
    "wechat_cover_1": _cover(WECHAT_COVER_1_SIZE),
    "wechat_thumb": _wechat_thumb,
    "wechat_inline": _wechat_inline,
    "weibo_pic": _weibo_pic,
    "video_cover": _video_cover_of_image,
    "thumb_feed": _thumb_feed,
    "thumb_ui": _thumb_ui,
}
