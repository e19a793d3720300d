"""Renditions: each spec's limits, video covers, and the cache in the object store."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from PIL import Image

import storage.renditions as renditions_module
from storage.base import ObjectNotFound
from storage.keys import asset_key
from storage.media import Inspected, inspect_upload
from storage.renditions import SPECS, Renditions

from . import samples
from .samples import GREEN, RED, close_to, encode

LIMITS = {"max_bytes": 50_000_000, "max_image_pixels": 64_000_000}


@dataclass(frozen=True)
class Asset:
    """Duck-typed like channels.base.AssetView: what Renditions reads from an asset."""

    sha256: str
    kind: str
    content_type: str


def upload(store, data: bytes) -> Asset:
    return store_inspected(store, inspect_upload(data, **LIMITS))


def store_inspected(store, inspected: Inspected) -> Asset:
    store.put(asset_key(inspected.sha256), inspected.data, inspected.content_type)
    return Asset(inspected.sha256, inspected.kind, inspected.content_type)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture(scope="module")
def big_noisy_jpeg() -> Inspected:
    """A 1800x1200 photo that compresses badly: size budgets have to work for it."""
    return inspect_upload(encode(samples.noise((1800, 1200)), "JPEG", quality=95), **LIMITS)


@pytest.fixture
def photo(local_store, big_noisy_jpeg) -> tuple[Renditions, Asset]:
    return Renditions(local_store), store_inspected(local_store, big_noisy_jpeg)


def test_original_is_the_stored_clean_bytes(local_store):
    asset = upload(local_store, samples.jpeg_with_gps_and_orientation())
    media = Renditions(local_store)
    assert media.original(asset) == local_store.get(asset_key(asset.sha256))
    missing = Asset("0" * 64, "image", "image/jpeg")
    with pytest.raises(ObjectNotFound):
        media.original(missing)


@pytest.mark.parametrize(
    ("spec", "size"), [("wechat_cover_235", (900, 383)), ("wechat_cover_1", (383, 383))]
)
def test_wechat_covers_are_centre_crops_of_the_right_ratio(local_store, spec, size):
    # Red on the outer quarters, green in the middle half (the centre square).
    image = Image.new("RGB", (2400, 1200), RED)
    image.paste(GREEN, (600, 0, 1800, 1200))
    asset = upload(local_store, encode(image, "PNG"))
    data, content_type = Renditions(local_store).rendition(asset, spec)
    cover = opened(data)
    assert (content_type, cover.format, cover.size) == ("image/jpeg", "JPEG", size)
    assert close_to(cover.getpixel((size[0] // 2, size[1] // 2)), GREEN)
    if spec == "wechat_cover_235":
        assert close_to(cover.getpixel((5, 190)), RED)  # the sides survive, top and bottom go
    else:
        assert close_to(cover.getpixel((5, 190)), GREEN)


def test_wechat_thumb_fits_64_kb_even_for_noise(photo):
    media, asset = photo
    data, content_type = media.rendition(asset, "wechat_thumb")
    assert content_type == "image/jpeg"
    assert len(data) <= 64_000
    assert opened(data).format == "JPEG"


def test_wechat_inline_is_at_most_1080_wide_and_under_1_mb(photo):
    media, asset = photo
    data, content_type = media.rendition(asset, "wechat_inline")
    image = opened(data)
    assert content_type == "image/jpeg" and image.format == "JPEG"
    assert image.width <= 1080 and len(data) < 1_000_000
    assert image.width / image.height == pytest.approx(1.5, abs=0.01)


def test_wechat_inline_keeps_a_small_transparent_png_as_is(local_store):
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    asset = upload(local_store, encode(image, "PNG"))
    data, content_type = Renditions(local_store).rendition(asset, "wechat_inline")
    assert content_type == "image/png"
    assert data == local_store.get(asset_key(asset.sha256))


def test_wechat_inline_turns_webp_into_jpeg_or_png(local_store):
    asset = upload(local_store, encode(Image.new("RGB", (1500, 500), (9, 9, 9)), "WEBP"))
    data, content_type = Renditions(local_store).rendition(asset, "wechat_inline")
    assert content_type in {"image/jpeg", "image/png"}
    assert opened(data).width == 1080


def test_weibo_pic_keeps_an_animated_gif(local_store):
    asset = upload(local_store, samples.animated_gif(frames=3))
    data, content_type = Renditions(local_store).rendition(asset, "weibo_pic")
    assert content_type == "image/gif"
    assert Image.open(io.BytesIO(data)).n_frames == 3


def test_weibo_pic_shrinks_a_png_over_the_limit(local_store, monkeypatch):
    # The 5 MB limit scaled down to keep the test fast; the code path is the same.
    monkeypatch.setattr(renditions_module, "WEIBO_PIC_MAX_BYTES", 200_000)
    asset = upload(local_store, encode(samples.noise((600, 400)), "PNG"))
    assert len(local_store.get(asset_key(asset.sha256))) > 200_000
    data, content_type = Renditions(local_store).rendition(asset, "weibo_pic")
    assert content_type == "image/jpeg"
    assert len(data) <= 200_000
    assert opened(data).format == "JPEG"


def test_weibo_pic_limit_is_under_5_mb():
    assert renditions_module.WEIBO_PIC_MAX_BYTES < 5_000_000


def test_weibo_pic_turns_webp_into_an_accepted_format(local_store):
    asset = upload(local_store, encode(Image.new("RGB", (40, 40), (5, 5, 5)), "WEBP"))
    data, content_type = Renditions(local_store).rendition(asset, "weibo_pic")
    assert content_type in {"image/jpeg", "image/png", "image/gif"}
    assert opened(data).format != "WEBP"


@pytest.mark.parametrize(
    ("spec", "max_width", "max_height"), [("thumb_feed", 640, None), ("thumb_ui", 240, 240)]
)
def test_thumbnails_are_bounded_jpegs(photo, spec, max_width, max_height):
    media, asset = photo
    data, content_type = media.rendition(asset, spec)
    image = opened(data)
    assert content_type == "image/jpeg" and image.format == "JPEG"
    assert image.width == max_width
    if max_height:
        assert image.height <= max_height


def test_small_images_are_not_blown_up(local_store):
    asset = upload(local_store, encode(Image.new("RGB", (100, 50), (1, 1, 1)), "PNG"))
    data, _ = Renditions(local_store).rendition(asset, "thumb_feed")
    assert opened(data).size == (100, 50)


def test_transparency_becomes_white_in_jpeg(local_store):
    asset = upload(local_store, encode(Image.new("RGBA", (50, 50), (0, 0, 0, 0)), "PNG"))
    data, _ = Renditions(local_store).rendition(asset, "thumb_ui")
    assert close_to(opened(data).getpixel((25, 25)), (255, 255, 255), tolerance=3)


def test_sixteen_bit_png_renders(local_store):
    deep = Image.new("I;16", (64, 32), 40000)
    asset = upload(local_store, encode(deep, "PNG"))
    data, _ = Renditions(local_store).rendition(asset, "thumb_ui")
    grey = opened(data).getpixel((10, 10))
    assert close_to(grey, (155, 155, 155), tolerance=5)  # 40000 / 257


def test_video_cover_is_the_frame_at_one_second(local_store, mp4_bytes):
    asset = upload(local_store, mp4_bytes)
    data, content_type = Renditions(local_store).rendition(asset, "video_cover")
    cover = opened(data)
    assert (content_type, cover.format, cover.size) == ("image/jpeg", "JPEG", (64, 64))
    assert close_to(cover.getpixel((32, 32)), GREEN)  # red until 1 s, green from then on


def test_video_cover_of_a_short_video_is_its_first_frame(local_store):
    asset = upload(local_store, samples.video(seconds=0.5, first_second=RED))
    data, _ = Renditions(local_store).rendition(asset, "video_cover")
    assert close_to(opened(data).getpixel((32, 32)), RED)


def test_other_specs_of_a_video_are_made_from_its_cover(local_store, mp4_bytes):
    asset = upload(local_store, mp4_bytes)
    media = Renditions(local_store)
    data, content_type = media.rendition(asset, "wechat_cover_1")
    assert content_type == "image/jpeg"
    assert opened(data).size == (383, 383)
    assert close_to(opened(data).getpixel((190, 190)), GREEN)
    assert local_store.exists(f"renditions/{asset.sha256}/video_cover")


def test_video_cover_of_an_image_is_the_image(local_store):
    asset = upload(local_store, encode(Image.new("RGB", (30, 20), RED), "PNG"))
    data, content_type = Renditions(local_store).rendition(asset, "video_cover")
    assert content_type == "image/jpeg"
    assert opened(data).size == (30, 20)


def test_lowering_quality_then_size_until_it_fits():
    image = samples.noise((640, 640))
    data = renditions_module.jpeg_within(image, max_bytes=3_000)
    assert len(data) <= 3_000
    assert opened(data).width < 640  # quality alone was not enough


def test_works_with_the_channels_asset_view(local_store):
    from channels.base import AssetView

    stored = upload(local_store, encode(Image.new("RGB", (500, 300), RED), "PNG"))
    asset = AssetView(
        id="a1", kind="image", content_type="image/png", sha256=stored.sha256, bytes=1, width=500
    )
    data, content_type = Renditions(local_store).rendition(asset, "thumb_ui")
    assert content_type == "image/jpeg" and opened(data).size == (240, 144)


def test_unknown_spec_is_a_value_error(photo):
    media, asset = photo
    with pytest.raises(ValueError, match="no_such_spec"):
        media.rendition(asset, "no_such_spec")


@pytest.mark.parametrize("spec", SPECS)
def test_second_call_is_served_from_the_store(local_store, monkeypatch, spec):
    asset = upload(local_store, encode(samples.noise((300, 200)), "PNG"))
    media = Renditions(local_store)
    first = media.rendition(asset, spec)
    assert local_store.exists(f"renditions/{asset.sha256}/{spec}")

    def must_not_run(*args, **kwargs):
        raise AssertionError("rendition recomputed instead of read from the cache")

    monkeypatch.setattr(renditions_module, "render_image", must_not_run)
    assert media.rendition(asset, spec) == first
    assert Renditions(local_store).rendition(asset, spec) == first  # another process, same store


def test_video_cover_is_cached_too(local_store, monkeypatch, mp4_bytes):
    asset = upload(local_store, mp4_bytes)
    media = Renditions(local_store)
    first = media.rendition(asset, "video_cover")
    monkeypatch.setattr(
        renditions_module, "render_video_cover", lambda *a: pytest.fail("recomputed")
    )
    assert media.rendition(asset, "video_cover") == first


def test_cache_hit_reports_the_cached_type(local_store):
    asset = upload(local_store, encode(Image.new("RGB", (10, 10)), "PNG"))
    png = encode(Image.new("RGB", (3, 3)), "PNG")
    local_store.put(f"renditions/{asset.sha256}/weibo_pic", png, "image/png")
    assert Renditions(local_store).rendition(asset, "weibo_pic") == (png, "image/png")


def test_renditions_cached_in_minio(minio_store, big_noisy_jpeg):
    asset = store_inspected(minio_store, big_noisy_jpeg)
    media = Renditions(minio_store)
    data, _ = media.rendition(asset, "wechat_thumb")
    assert minio_store.get(f"renditions/{asset.sha256}/wechat_thumb") == data
    assert minio_store.content_type(f"renditions/{asset.sha256}/wechat_thumb") == "image/jpeg"


def test_concurrent_callers_get_the_same_rendition(local_store, big_noisy_jpeg):
    asset = store_inspected(local_store, big_noisy_jpeg)
    media = Renditions(local_store)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: media.rendition(asset, "thumb_feed"), range(8)))
    assert all(result == results[0] for result in results)
