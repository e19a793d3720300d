"""DouyinChannel: video-only, upload limits, caption, cover and chunk decision (pure unit tests)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from channels.base import AssetView, CannotRender, ItemVersionView
from channels.douyin import (
    CAPTION_MAX_CHARS,
    CHUNKED_ABOVE_BYTES,
    MARKER_MAX_CHARS,
    DouyinChannel,
    marker_reserve,
)
from tests.platforms.samples import MB, ORIGIN, asset, item_version, refusal


class RecordingMedia:
    """Serves fake bytes and records which reads happened."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def original(self, asset: AssetView) -> bytes:
        self.reads.append(f"original:{asset.id}")
        return b"x" * 10

    def rendition(self, asset: AssetView, spec: str) -> tuple[bytes, str]:
        self.reads.append(f"{spec}:{asset.id}")
        return b"\xff\xd8small-jpeg", "image/jpeg"


VIDEO = asset("as_video", "video", sha256="a" * 64, bytes=8 * MB, width=1080, height=1920,
              duration_s=32.5)
COVER = asset("as_cover", bytes=300_000, width=1080, height=1920)


def video_item(**changes) -> ItemVersionView:
    base = item_version(
        kind="video",
        title="暴雨预警：今晚到明天有强降雨",
        body_html="<p>请市民注意出行安全。</p>",
        summary="市气象台发布暴雨橙色预警，请减少外出。",
        author="李四",
        tags=("防汛", "天气 预警"),
        assets=(VIDEO,),
    )
    return replace(base, **changes)


def render(item: ItemVersionView, media: RecordingMedia | None = None):
    return DouyinChannel().render(item, media or RecordingMedia())


def test_article_is_refused_with_a_readable_reason():
    refused = refusal(render, video_item(kind="article", assets=()))
    assert refused.reason.startswith("抖音只接受视频稿件")
    assert "Douyin takes video items only" in refused.reason


def test_video_item_without_a_video_file_is_refused():
    with pytest.raises(CannotRender, match="缺少视频文件"):
        render(video_item(assets=(COVER,)))


def test_caption_has_title_summary_topics_and_leaves_room_for_the_marker():
    post = render(video_item())
    text = post.fields["text"]
    assert (
        text
        == "暴雨预警：今晚到明天有强降雨 市气象台发布暴雨橙色预警，请减少外出。 #防汛 #天气预警"
    )
    assert post.fields["link"] == "https://hub.example.gov.cn/p/it_flood"
    assert len(text) + marker_reserve(post.fields["link"]) <= CAPTION_MAX_CHARS


def test_long_summary_is_shortened_and_tags_dropped_to_fit():
    post = render(video_item(summary="强降雨" * 60))
    text = post.fields["text"]
    assert "…" in text
    assert "#防汛" not in text
    assert len(text) + marker_reserve(post.fields["link"]) == CAPTION_MAX_CHARS


def test_mentions_are_neutralised_because_the_hub_has_no_open_ids():
    text = render(video_item(title="@江城发布 提醒您", summary="")).fields["text"]
    assert "@" not in text
    assert text.startswith("＠江城发布 提醒您")


def test_title_too_long_for_the_caption_is_refused():
    refused = refusal(render, video_item(title="长" * CAPTION_MAX_CHARS))
    assert refused.field == "title"
    assert refused.reason.startswith("标题过长")


def test_empty_title_is_refused():
    with pytest.raises(CannotRender, match="缺少标题"):
        render(video_item(title="  "))


def test_reprint_mark_is_kept_in_the_caption_even_when_space_is_short():
    origin = replace(ORIGIN, source="新华社")
    text = render(video_item(origin=origin, summary="长" * 200)).fields["text"]
    assert text.endswith("转载自省融媒体中心（来源：新华社）")


def test_no_public_link_still_reserves_room_for_a_bare_marker():
    post = render(video_item(public_url="", summary="长" * 200))
    assert post.fields["link"] == ""
    assert len(post.fields["text"]) == CAPTION_MAX_CHARS - len(" d=") - MARKER_MAX_CHARS


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"content_type": "video/x-msvideo"}, "MP4 或 WebM"),
        ({"bytes": 0}, "空的"),
        ({"bytes": 5 * 1024 * MB}, "4 GB"),
        ({"duration_s": 16 * 60.0}, "15 分钟"),
        ({"duration_s": 0.0}, "时长为零"),
    ],
)
def test_upload_constraints_are_checked_before_any_network_call(change, needle):
    media = RecordingMedia()
    with pytest.raises(CannotRender, match=needle):
        render(video_item(assets=(replace(VIDEO, **change),)), media)
    assert media.reads == []


def test_webm_is_accepted():
    post = render(video_item(assets=(replace(VIDEO, content_type="video/webm"),)))
    assert post.media[0].filename == "it_flood.webm"


def test_small_video_uses_single_upload_and_is_read_lazily():
    media = RecordingMedia()
    post = render(video_item(), media)
    assert post.fields["upload"] == "single"
    assert media.reads == []
    (blob,) = post.media
    assert (blob.name, blob.filename, blob.size, blob.sha256) == (
        "video",
        "it_flood.mp4",
        8 * MB,
        "a" * 64,
    )
    assert post.fields["video"] == "video"
    assert blob.read() == b"x" * 10
    assert media.reads == ["original:as_video"]


def test_video_above_the_threshold_is_marked_chunked():
    big = replace(VIDEO, bytes=CHUNKED_ABOVE_BYTES + 1)
    assert render(video_item(assets=(big,))).fields["upload"] == "chunked"
    exact = replace(VIDEO, bytes=CHUNKED_ABOVE_BYTES)
    assert render(video_item(assets=(exact,))).fields["upload"] == "single"


def test_without_cover_image_the_cover_is_a_frame_timestamp():
    post = render(video_item())
    assert post.fields["cover"] is None
    assert post.fields["cover_tsp"] == 1.0
    short = replace(VIDEO, duration_s=0.8)  # like the video_cover rendition: the first frame
    assert render(video_item(assets=(short,))).fields["cover_tsp"] == 0.0


def test_cover_image_becomes_a_custom_cover_blob():
    post = render(video_item(cover=COVER))
    assert post.fields["cover"] == "cover"
    assert post.fields["cover_tsp"] is None
    cover = post.media[1]
    assert (cover.name, cover.filename, cover.content_type) == (
        "cover",
        "as_cover.jpg",
        "image/jpeg",
    )


def test_oversized_or_odd_cover_image_uses_the_feed_rendition():
    media = RecordingMedia()
    odd = replace(COVER, content_type="image/webp")
    post = render(video_item(cover=odd), media)
    cover = post.media[1]
    assert media.reads == ["thumb_feed:as_cover"]
    assert cover.read() == b"\xff\xd8small-jpeg"
    assert cover.size == len(b"\xff\xd8small-jpeg")


def test_content_hash_is_stable_and_follows_content():
    first, again = render(video_item()), render(video_item())
    assert first.content_hash == again.content_hash
    assert render(video_item(title="另一个标题")).content_hash != first.content_hash
    other_video = replace(VIDEO, sha256="b" * 64)
    assert render(video_item(assets=(other_video,))).content_hash != first.content_hash
