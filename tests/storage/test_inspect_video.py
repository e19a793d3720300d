"""inspect_upload on videos: MP4/MOV with a video track, probed with PyAV, kept byte for byte."""

from __future__ import annotations

import hashlib

import pytest

from storage.media import MediaTooLarge, UnsupportedMedia, inspect_upload

from . import samples

LIMITS = {"max_bytes": 20_000_000, "max_image_pixels": 64_000_000}


def test_mp4_is_probed_and_kept_as_is(mp4_bytes):
    result = inspect_upload(mp4_bytes, **LIMITS)
    assert (result.kind, result.content_type, result.ext) == ("video", "video/mp4", "mp4")
    assert (result.width, result.height) == (64, 64)
    assert result.duration_s == pytest.approx(2.0, abs=0.15)
    assert result.codec == "h264"
    assert result.data == mp4_bytes
    assert result.sha256 == hashlib.sha256(mp4_bytes).hexdigest()


def test_quicktime_is_recognised():
    result = inspect_upload(samples.video(seconds=1.0, size=(32, 48), container="mov"), **LIMITS)
    assert samples.described(result) == ("video/quicktime", "mov", 32, 48)


def test_truncated_mp4_is_refused(mp4_bytes):
    with pytest.raises(UnsupportedMedia):
        inspect_upload(mp4_bytes[: len(mp4_bytes) // 2], **LIMITS)


def test_audio_only_mp4_is_refused():
    with pytest.raises(UnsupportedMedia, match="视频轨"):
        inspect_upload(samples.audio_only_m4a(), **LIMITS)


def test_heic_photo_is_not_taken_for_a_video():
    fake_heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(UnsupportedMedia):
        inspect_upload(fake_heic, **LIMITS)


def test_other_containers_are_refused():
    fake_mkv = b"\x1a\x45\xdf\xa3" + b"\x00" * 100
    with pytest.raises(UnsupportedMedia):
        inspect_upload(fake_mkv, **LIMITS)


def test_video_byte_limit(mp4_bytes):
    with pytest.raises(MediaTooLarge):
        inspect_upload(mp4_bytes, max_bytes=len(mp4_bytes) - 1, max_image_pixels=10**6)
