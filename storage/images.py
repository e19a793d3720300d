"""Pillow pieces shared by upload checking and renditions: open safely, orient, flatten, encode.

Only JPEG, PNG, GIF and WebP are opened (MPO, the multi-picture JPEG some phones write, counts
as JPEG). The pixel count is checked from the header, before any pixel is decoded. Pillow's own
process-wide bomb guard (``Image.MAX_IMAGE_PIXELS``) stays in force as a second fence and is
never changed here; its error counts as too large.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageSequence, UnidentifiedImageError

from .media_errors import MediaTooLarge, UnsupportedMedia

# MPO has no opener of its own: the JPEG opener returns an MPO image when it finds one.
OPENABLE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
ANIMATABLE_FORMATS = frozenset({"PNG", "GIF", "WEBP"})
JPEG_QUALITY = 90
WEBP_QUALITY = 90
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class OutputFormat:
    pillow: str
    content_type: str
    ext: str


OUTPUT_FORMATS = {
    "JPEG": OutputFormat("JPEG", "image/jpeg", "jpg"),
    "MPO": OutputFormat("JPEG", "image/jpeg", "jpg"),
    "PNG": OutputFormat("PNG", "image/png", "png"),
    "GIF": OutputFormat("GIF", "image/gif", "gif"),
    "WEBP": OutputFormat("WEBP", "image/webp", "webp"),
}

_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Per-frame facts needed to draw the frame again; everything else (EXIF, XMP, comments,
# text chunks, ...) is dropped.
_KEPT_FRAME_INFO = ("transparency", "duration")

# Errors Pillow raises on corrupt or truncated data.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


def too_many_pixels(pixels: int, limit: int) -> MediaTooLarge:
    return MediaTooLarge(
        f"图片像素过多，超过 {limit} 像素 (image has {pixels} pixels, the limit is {limit})"
    )


def open_image(data: bytes, *, max_pixels: int | None) -> Image.Image:
    """Open (header only) an image of an allowed format; check the pixel count before decoding."""
    Image.init()  # registers the WebP and MPO plugins; a no-op after the first call
    try:
        image = Image.open(io.BytesIO(data), formats=OPENABLE_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning arrives as an exception when warnings are turned into errors.
        raise MediaTooLarge(
            "图片像素过多，疑似解压炸弹 (image declares too many pixels: decompression bomb)"
        ) from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia(
            "不支持的文件类型，只接受 JPEG、PNG、GIF、WebP 图片和 MP4、MOV 视频 "
            "(unsupported file: only JPEG, PNG, GIF, WebP images and MP4, MOV videos)"
        ) from exc
    except DECODE_ERRORS as exc:
        raise damaged_image() from exc
    pixels = image.width * image.height
    limit = _effective_limit(max_pixels)
    if limit is not None and pixels > limit:
        image.close()
        raise too_many_pixels(pixels, limit)
    if pixels == 0:
        image.close()
        raise damaged_image()
    return image


def _effective_limit(max_pixels: int | None) -> int | None:
    """The caller's limit, never above the size at which Pillow starts warning of a bomb."""
    if max_pixels is None or Image.MAX_IMAGE_PIXELS is None:
        return max_pixels
    return min(max_pixels, Image.MAX_IMAGE_PIXELS)


def damaged_image() -> UnsupportedMedia:
    return UnsupportedMedia("图片已损坏或不完整 (the image is damaged or truncated)")


def orientation_of(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # a malformed EXIF block only loses its orientation; it is dropped anyway
        return 1


def apply_orientation(frame: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
    return frame.transpose(method) if method is not None else frame


def decode_frames(
    image: Image.Image, *, max_pixels: int | None, animated: bool
) -> list[Image.Image]:
    """Decode the first frame, or every frame when ``animated``; pixels summed over frames.

    Every returned frame is a detached copy with its metadata (``info``) dropped, oriented
    upright by the EXIF orientation of the file.
    """
    frames: list[Image.Image] = []
    total_pixels = 0
    orientation = 1
    try:
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            total_pixels += frame.width * frame.height
            if max_pixels is not None and total_pixels > max_pixels:
                raise too_many_pixels(total_pixels, max_pixels)
            frame.load()
            if index == 0:
                orientation = orientation_of(image)
            copy = apply_orientation(frame.copy(), orientation)
            copy.info = {k: frame.info[k] for k in _KEPT_FRAME_INFO if k in frame.info}
            frames.append(copy)
            if not animated:
                break
    except Image.DecompressionBombError as exc:
        raise MediaTooLarge(
            "图片像素过多，疑似解压炸弹 (image declares too many pixels: decompression bomb)"
        ) from exc
    except DECODE_ERRORS as exc:
        raise damaged_image() from exc
    if not frames:
        raise damaged_image()
    return frames


def has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA", "La", "RGBa"} or "transparency" in image.info


def to_rgb(image: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """An RGB copy, transparent areas painted on ``background`` (JPEG has no alpha)."""
    if image.mode == "RGB":
        return image
    if has_alpha(image):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if image.mode in {"I;16", "I;16B", "I;16L", "I", "F"}:
        # 16/32-bit grey: scale to 8 bits instead of clipping at 255.
        return image.convert("F").point(lambda v: v / 257).convert("L").convert("RGB")
    return image.convert("RGB")


def encode_jpeg(
    image: Image.Image, *, quality: int = JPEG_QUALITY, icc: bytes | None = None
) -> bytes:
    if image.mode not in {"RGB", "L"}:
        image = to_rgb(image)
    out = io.BytesIO()
    options: dict = {"quality": quality, "optimize": True}
    if icc:
        options["icc_profile"] = icc
    image.save(out, "JPEG", **options)
    return out.getvalue()


def encode_png(image: Image.Image, *, icc: bytes | None = None) -> bytes:
    out = io.BytesIO()
    options: dict = {}
    if icc:
        options["icc_profile"] = icc
    if "transparency" in image.info:
        options["transparency"] = image.info["transparency"]
    image.save(out, "PNG", **options)
    return out.getvalue()


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    output: OutputFormat
    width: int
    height: int
    frames: int


def clean_image(data: bytes, *, max_pixels: int) -> CleanImage:
    """Decode, orient and re-encode an image so that no metadata but the colour profile survives.

    JPEG (and MPO) become a baseline JPEG at quality 90; PNG, GIF and WebP keep their format.
    Animated GIF, PNG (APNG) and WebP keep every frame and its duration, and the loop count.
    """
    image = open_image(data, max_pixels=max_pixels)
    with image:
        source_format = image.format or ""
        output = OUTPUT_FORMATS[source_format]
        icc = image.info.get("icc_profile") or None
        loop = image.info.get("loop")
        animated = source_format in ANIMATABLE_FORMATS and bool(
            getattr(image, "is_animated", False)
        )
        frames = decode_frames(image, max_pixels=max_pixels, animated=animated)
    first = frames[0]
    try:
        encoded = _encode_clean(frames, output.pillow, icc=icc, loop=loop)
    except DECODE_ERRORS as exc:  # e.g. a palette Pillow cannot write back
        raise damaged_image() from exc
    return CleanImage(encoded, output, first.width, first.height, len(frames))


def _encode_clean(
    frames: list[Image.Image], pillow_format: str, *, icc: bytes | None, loop: int | None
) -> bytes:
    first = frames[0]
    if pillow_format == "JPEG":
        return encode_jpeg(first, icc=icc)
    if pillow_format == "PNG" and len(frames) == 1:
        return encode_png(first, icc=icc)
    if pillow_format == "WEBP":
        frames = [f.convert("RGBA" if has_alpha(f) else "RGB") for f in frames]
        first = frames[0]
    options: dict = {}
    if len(frames) > 1:
        options.update(
            save_all=True,
            append_images=frames[1:],
            duration=[int(f.info.get("duration") or 100) for f in frames],
        )
        if loop is not None or pillow_format == "WEBP":
            options["loop"] = int(loop or 0)
    if pillow_format == "WEBP":
        options["quality"] = WEBP_QUALITY
    if icc and pillow_format in {"PNG", "WEBP"}:
        options["icc_profile"] = icc
    out = io.BytesIO()
    first.save(out, pillow_format, **options)
    return out.getvalue()
