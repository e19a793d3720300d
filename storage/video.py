"""Video probing and frame grabbing with PyAV (which ships its own FFmpeg).

Only MP4 and QuickTime (ISO base media) files with a video stream are accepted. They are
judged by their bytes: the box type at offset 4 and FFmpeg's ``mov`` demuxer, never the name.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
from PIL import Image

from .media_errors import UnsupportedMedia

# Box types that may open an ISO-BMFF / QuickTime file.
_LEADING_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
# ISO-BMFF brands that are still images or audio, not video (HEIC/AVIF photos, m4a songs).
_NON_VIDEO_BRANDS = {
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"hevc",
    b"hevx",
    b"mif1",
    b"msf1",
    b"avif",
    b"avis",
    b"M4A ",
    b"M4B ",
    b"M4P ",
    b"jp2 ",
    b"crx ",
}
_QUICKTIME_BRAND = b"qt  "
_DECODE_ERRORS = (av.FFmpegError, OSError, ValueError, IndexError, EOFError)
MAX_FRAMES_TO_COVER = 600  # frames decoded while looking for the cover time, at most


@dataclass(frozen=True)
class VideoInfo:
    content_type: str
    ext: str
    width: int
    height: int
    duration_s: float | None
    codec: str


def looks_like_iso_media(data: bytes) -> bool:
    return len(data) >= 12 and data[4:8] in _LEADING_BOXES


def _unsupported_video() -> UnsupportedMedia:
    return UnsupportedMedia(
        "不支持的视频，只接受含视频轨的 MP4 或 MOV 文件 "
        "(unsupported video: only MP4 or MOV files with a video track are accepted)"
    )


def probe_video(data: bytes) -> VideoInfo:
    """Container, codec, size and duration of an MP4/MOV video, read without decoding it."""
    if not looks_like_iso_media(data):
        raise _unsupported_video()
    brand = data[8:12] if data[4:8] == b"ftyp" else b""
    if brand in _NON_VIDEO_BRANDS:
        raise _unsupported_video()
    try:
        with av.open(io.BytesIO(data), mode="r", format="mov") as container:
            if not container.streams.video:
                raise _unsupported_video()
            stream = container.streams.video[0]
            codec = stream.codec_context
            width, height = int(codec.width or 0), int(codec.height or 0)
            duration_s = _duration_seconds(container, stream)
            codec_name = codec.name or ""
    except UnsupportedMedia:
        raise
    except _DECODE_ERRORS as exc:
        raise UnsupportedMedia(
            "视频文件已损坏或不是 MP4/MOV (the video is damaged or not an MP4/MOV file)"
        ) from exc
    if width <= 0 or height <= 0 or not codec_name:
        raise _unsupported_video()
    quicktime = brand == _QUICKTIME_BRAND
    return VideoInfo(
        content_type="video/quicktime" if quicktime else "video/mp4",
        ext="mov" if quicktime else "mp4",
        width=width,
        height=height,
        duration_s=duration_s,
        codec=codec_name,
    )


def _duration_seconds(container, stream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return round(container.duration / av.time_base, 3)
    if stream.duration is not None and stream.time_base is not None:
        return round(float(stream.duration * stream.time_base), 3)
    return None


def frame_at(data: bytes, at_s: float = 1.0) -> Image.Image:
    """The video frame shown at ``at_s`` seconds, or the first frame of a shorter video."""
    try:
        with av.open(io.BytesIO(data), mode="r", format="mov") as container:
            if not container.streams.video:
                raise _unsupported_video()
            stream = container.streams.video[0]
            duration = _duration_seconds(container, stream)
            target = at_s if duration is not None and duration > at_s else 0.0
            if target > 0:
                # Lands on the key frame at or before the target; decode forward from there.
                container.seek(int(target * av.time_base), backward=True, any_frame=False)
            chosen = None
            for count, frame in enumerate(container.decode(stream)):
                chosen = frame
                if frame.time is None or frame.time >= target or count >= MAX_FRAMES_TO_COVER:
                    break
            if chosen is None:
                raise UnsupportedMedia(
                    "无法从视频中取出画面 (could not decode a frame of the video)"
                )
            return chosen.to_image()
    except UnsupportedMedia:
        raise
    except _DECODE_ERRORS as exc:
        raise UnsupportedMedia(
            "视频文件已损坏，无法取出画面 (the video is damaged: no frame could be decoded)"
        ) from exc
