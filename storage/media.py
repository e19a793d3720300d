"""Upload checking: what a file is, judged by its content, and the bytes we are willing to keep.

Images (JPEG, PNG, GIF, WebP) are decoded, turned upright by their EXIF orientation and
re-encoded, which drops EXIF (GPS included), XMP, comments and text chunks; only the colour
profile is kept. Animated GIF/PNG/WebP keep all their frames. Videos (MP4/MOV with a video
track) are probed, not re-encoded: their bytes are kept as uploaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

from .images import clean_image
from .keys import asset_key
from .media_errors import MediaError, MediaTooLarge, UnsupportedMedia
from .video import looks_like_iso_media, probe_video

__all__ = [
    "Inspected",
    "MediaError",
    "MediaTooLarge",
    "UnsupportedMedia",
    "asset_key",
    "inspect_upload",
]


@dataclass(frozen=True)
class Inspected:
    kind: Literal["image", "video"]
    content_type: str
    data: bytes = field(repr=False)
    sha256: str  # of ``data``, the bytes to store
    width: int
    height: int
    duration_s: float | None
    ext: str
    codec: str | None = None  # video codec (e.g. "h264"); None for images
    frames: int = 1  # image frames kept (> 1 for animations)

    @property
    def size(self) -> int:
        return len(self.data)


def inspect_upload(data: bytes, *, max_bytes: int, max_image_pixels: int) -> Inspected:
    """Check an upload and return what to store; raise UnsupportedMedia or MediaTooLarge."""
    if len(data) > max_bytes:
        raise MediaTooLarge(
            f"文件过大，超过 {max_bytes} 字节 (file has {len(data)} bytes, the limit is {max_bytes})"
        )
    if not data:
        raise UnsupportedMedia("文件是空的 (the file is empty)")
    if looks_like_iso_media(data):
        video = probe_video(data)
        return Inspected(
            kind="video",
            content_type=video.content_type,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            width=video.width,
            height=video.height,
            duration_s=video.duration_s,
            ext=video.ext,
            codec=video.codec,
        )
    image = clean_image(data, max_pixels=max_image_pixels)
    return Inspected(
        kind="image",
        content_type=image.output.content_type,
        data=image.data,
        sha256=hashlib.sha256(image.data).hexdigest(),
        width=image.width,
        height=image.height,
        duration_s=None,
        ext=image.output.ext,
        frames=image.frames,
    )
