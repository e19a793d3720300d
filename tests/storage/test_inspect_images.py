"""inspect_upload on images: judged by content, cleaned of metadata, turned upright, bounded."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from storage.keys import asset_key
from storage.media import MediaTooLarge, UnsupportedMedia, inspect_upload

from . import samples
from .samples import BLUE, RED, close_to, encode

LIMITS = {"max_bytes": 20_000_000, "max_image_pixels": 64_000_000}


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_jpeg_loses_exif_gps_and_comment_and_is_turned_upright():
    upload = samples.jpeg_with_gps_and_orientation(size=(40, 20), orientation=6)
    assert b"PhoneMaker" in upload and b"shot at home" in upload

    result = inspect_upload(upload, **LIMITS)

    assert (result.kind, result.content_type, result.ext) == ("image", "image/jpeg", "jpg")
    assert (result.width, result.height) == (20, 40)  # orientation 6: turned a quarter clockwise
    stored = reopen(result.data)
    assert stored.size == (20, 40)
    assert close_to(stored.getpixel((10, 5)), RED)  # the left half is now on top
    assert close_to(stored.getpixel((10, 35)), BLUE)
    assert len(stored.getexif()) == 0
    assert stored.getexif().get_ifd(0x8825) == {}
    assert "exif" not in stored.info and "comment" not in stored.info
    assert b"PhoneMaker" not in result.data and b"shot at home" not in result.data
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    assert result.duration_s is None and result.frames == 1


def test_png_keeps_format_and_alpha_but_drops_text_and_exif():
    image = Image.new("RGBA", (30, 10), (0, 0, 0, 0))
    image.paste((10, 200, 10, 255), (0, 0, 15, 10))
    exif = Image.Exif()
    exif.get_ifd(0x8825)[2] = (30.0, 15.0, 12.5)
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Author", "Zhang San, 13800000000")
    upload = encode(image, "PNG", pnginfo=text, exif=exif)
    assert b"13800000000" in upload

    result = inspect_upload(upload, **LIMITS)

    assert samples.described(result) == ("image/png", "png", 30, 10)
    stored = reopen(result.data)
    assert stored.format == "PNG" and stored.mode == "RGBA"
    assert stored.getpixel((25, 5))[3] == 0 and stored.getpixel((5, 5))[3] == 255
    assert "Author" not in stored.info and "exif" not in stored.info
    assert b"13800000000" not in result.data


def test_animated_gif_keeps_every_frame_and_drops_its_comment():
    upload = samples.animated_gif(frames=3)
    result = inspect_upload(upload, **LIMITS)
    assert (result.content_type, result.frames) == ("image/gif", 3)
    stored = Image.open(io.BytesIO(result.data))
    assert stored.n_frames == 3
    assert stored.info.get("duration") == 120
    assert b"secret tool" not in result.data


def test_webp_stays_webp():
    upload = encode(Image.new("RGB", (16, 12), (1, 2, 3)), "WEBP", quality=80)
    result = inspect_upload(upload, **LIMITS)
    assert samples.described(result) == ("image/webp", "webp", 16, 12)
    assert reopen(result.data).format == "WEBP"


def test_cmyk_jpeg_becomes_rgb():
    upload = encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG")
    result = inspect_upload(upload, **LIMITS)
    assert reopen(result.data).mode == "RGB"


def test_the_name_does_not_matter_only_the_content():
    with pytest.raises(UnsupportedMedia) as caught:
        inspect_upload(b"just some text someone renamed to photo.jpg\n" * 10, **LIMITS)
    assert caught.value.http_status == 415
    assert "不支持" in caught.value.reason


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_real_images_of_other_formats_are_refused(fmt):
    with pytest.raises(UnsupportedMedia):
        inspect_upload(encode(Image.new("RGB", (8, 8)), fmt), **LIMITS)


def test_truncated_jpeg_is_refused():
    whole = encode(samples.noise((200, 200)), "JPEG", quality=90)
    with pytest.raises(UnsupportedMedia, match="损坏"):
        inspect_upload(whole[: len(whole) // 2], **LIMITS)


def test_empty_upload_is_refused():
    with pytest.raises(UnsupportedMedia):
        inspect_upload(b"", **LIMITS)


def test_decompression_bomb_is_refused_from_its_header():
    bomb = samples.png_declaring(20_000, 20_000)
    assert len(bomb) < 200
    # Decoding it would fail on the missing pixel data (UnsupportedMedia); MediaTooLarge shows
    # the header alone decided.
    with pytest.raises(MediaTooLarge) as caught:
        inspect_upload(bomb, **LIMITS)
    assert caught.value.http_status == 413


def test_pixel_limit_is_per_call_and_leaves_pillow_global_alone():
    pillow_limit = Image.MAX_IMAGE_PIXELS
    upload = encode(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(MediaTooLarge, match="10000"):
        inspect_upload(upload, max_bytes=10**6, max_image_pixels=9_999)
    assert inspect_upload(upload, max_bytes=10**6, max_image_pixels=10_000).width == 100
    assert pillow_limit == Image.MAX_IMAGE_PIXELS


def test_pillow_bomb_warning_size_counts_as_too_large(monkeypatch):
    # Pillow warns above MAX_IMAGE_PIXELS (and refuses above twice that); a caller's higher
    # limit does not let such an image through.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)
    upload = encode(Image.new("RGB", (80, 80)), "PNG")  # 6,400 pixels: warning territory
    with (
        pytest.warns(Image.DecompressionBombWarning),
        pytest.raises(MediaTooLarge, match="5000"),
    ):
        inspect_upload(upload, max_bytes=10**6, max_image_pixels=10**6)


def test_animation_pixels_count_over_all_frames():
    upload = samples.animated_gif(frames=10, size=(50, 50))  # 10 x 2,500 pixels
    with pytest.raises(MediaTooLarge):
        inspect_upload(upload, max_bytes=10**6, max_image_pixels=20_000)
    assert inspect_upload(upload, max_bytes=10**6, max_image_pixels=25_000).frames == 10


def test_byte_limit():
    upload = encode(Image.new("RGB", (10, 10)), "PNG")
    with pytest.raises(MediaTooLarge):
        inspect_upload(upload, max_bytes=len(upload) - 1, max_image_pixels=10**6)
    inspect_upload(upload, max_bytes=len(upload), max_image_pixels=10**6)


def test_the_same_picture_gives_the_same_hash():
    upload = samples.jpeg_with_gps_and_orientation()
    assert inspect_upload(upload, **LIMITS).sha256 == inspect_upload(upload, **LIMITS).sha256


def test_asset_key_scheme():
    sha = hashlib.sha256(b"x").hexdigest()
    assert asset_key(sha) == f"assets/{sha[:2]}/{sha}"
    with pytest.raises(ValueError):
        asset_key("../../etc/passwd")
