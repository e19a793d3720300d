"""WeiboChannel: the 140-character status, its link, the reprint mark, the picture (unit tests)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from channels.base import AssetView, CannotRender, ItemVersionView, OriginView
from channels.weibo import (
    MAX_CHARS,
    MAX_MARKER_CHARS,
    PIC_MAX_BYTES,
    WeiboChannel,
    compose_status,
    marked_link,
    weibo_length,
)
from tests.platforms.samples import asset, item_version, refusal

COVER = asset("as_cover", bytes=900_000)
INLINE = asset("as_inline", content_type="image/png", bytes=50_000)
VIDEO = asset("as_video", "video", bytes=9_000_000)
LONGEST_MARKER = "d" * MAX_MARKER_CHARS


class FakeMedia:
    """Renditions as the store would hand them out; records what was asked for."""

    def __init__(self, answers: dict[tuple[str, str], tuple[bytes, str]] | None = None):
        self.asked: list[tuple[str, str]] = []
        self.answers = answers or {}

    def original(self, asset: AssetView) -> bytes:
        raise AssertionError("the Weibo channel uses renditions only")

    def rendition(self, asset: AssetView, spec: str) -> tuple[bytes, str]:
        self.asked.append((asset.id, spec))
        return self.answers.get((asset.id, spec), (f"{asset.id}:{spec}".encode(), "image/jpeg"))


def article(**changes) -> ItemVersionView:
    return replace(item_version(summary="会议部署了本周强降雨应对工作，要求各区县落实值班制度。"),
                   **changes)


def render(item: ItemVersionView, media: FakeMedia | None = None):
    return WeiboChannel().render(item, media or FakeMedia())


def sent_status(post, marker: str = LONGEST_MARKER) -> str:
    return compose_status(post.fields["text"], post.fields["link"], marker)


def test_length_counts_chinese_as_one_and_two_ascii_as_one():
    assert weibo_length("市政府") == 3
    assert weibo_length("ab") == 1
    assert weibo_length("abc") == 2  # half characters round up
    assert weibo_length("市a") == 2
    assert weibo_length("【防汛】，。") == 6  # full-width punctuation counts whole


def test_short_item_keeps_title_and_summary_whole():
    post = render(article())
    assert post.platform == "weibo"
    assert (
        post.fields["text"]
        == "【市政府召开防汛工作会议】会议部署了本周强降雨应对工作，要求各区县落实值班制度。"
    )
    assert post.fields["link"] == "https://hub.example.gov.cn/p/it_flood"
    assert sent_status(post, "dl_1").endswith(" https://hub.example.gov.cn/p/it_flood?d=dl_1")


def test_long_summary_is_cut_with_an_ellipsis_and_the_link_survives():
    post = render(article(summary="各区县要落实防汛值班制度。" * 30))
    status = sent_status(post)
    assert weibo_length(status) <= MAX_CHARS
    assert post.fields["text"].startswith("【市政府召开防汛工作会议】各区县")
    assert post.fields["text"].endswith("…")
    assert status.endswith(f" https://hub.example.gov.cn/p/it_flood?d={LONGEST_MARKER}")


def test_the_cut_uses_the_room_it_has():
    status = sent_status(render(article(summary="各" * 300)))
    assert MAX_CHARS - 1 <= weibo_length(status) <= MAX_CHARS


def test_overlong_title_is_cut_inside_its_brackets():
    post = render(article(title="防汛" * 100))
    text = post.fields["text"]
    assert text.startswith("【防汛") and text.endswith("…】")
    assert weibo_length(sent_status(post)) <= MAX_CHARS


def test_ascii_text_counts_half_so_more_of_it_fits():
    post = render(article(title="", summary="flood " * 100))
    status = sent_status(post)
    assert weibo_length(status) <= MAX_CHARS
    assert len(status) > MAX_CHARS  # more than 140 code points: ASCII counted as halves


def test_topic_markers_are_stripped_but_their_words_kept():
    post = render(article(title="#防汛# 最新通知", summary="请关注＃暴雨预警＃，3#楼居民注意"))
    text = post.fields["text"]
    assert "#" not in text.replace("3#楼", "") and "＃" not in text
    assert "防汛 最新通知" in text and "暴雨预警" in text


def test_pulled_item_carries_the_reprint_mark_even_when_cut():
    origin = OriginView(
        item_id="it_src", org_name="省融媒体中心", source="省发布", url="https://x.gov.cn/1"
    )
    post = render(article(origin=origin, summary="要求各区县落实值班制度。" * 30))
    text = post.fields["text"]
    assert text.endswith("…（转载自省融媒体中心）")
    assert weibo_length(sent_status(post)) <= MAX_CHARS


def test_own_item_has_no_reprint_mark():
    assert "转载" not in render(article()).fields["text"]


def test_marker_joins_an_existing_query_with_an_ampersand():
    assert (
        marked_link("https://h.gov.cn/p/1?lang=zh", "dl_1") == "https://h.gov.cn/p/1?lang=zh&d=dl_1"
    )
    assert marked_link("https://h.gov.cn/p/1", "dl_1") == "https://h.gov.cn/p/1?d=dl_1"


def test_marker_longer_than_the_reserve_is_refused():
    post = render(article())
    with pytest.raises(ValueError):
        compose_status(post.fields["text"], post.fields["link"], "d" * (MAX_MARKER_CHARS + 1))


def test_item_without_public_link_cannot_go_to_weibo():
    refused = refusal(render, article(public_url=""))
    assert refused.field == "public_url"
    assert "安全域名" in refused.reason


def test_link_too_long_for_any_text_is_refused_readably():
    refused = refusal(render, article(public_url="https://hub.example.gov.cn/p/" + "x" * 240))
    assert "放不下" in refused.reason and "no room" in refused.reason


def test_item_without_title_and_summary_falls_back_to_body_or_refuses():
    post = render(article(title="", summary=""))
    assert post.fields["text"] == "会议部署了强降雨应对工作。"
    with pytest.raises(CannotRender):
        render(article(title="", summary="", body_html="<p> </p>"))


def test_cover_is_the_one_picture():
    media = FakeMedia()
    post = render(article(cover=COVER, assets=(INLINE,)), media)
    assert media.asked == [("as_cover", "weibo_pic")]
    (blob,) = post.media
    assert post.fields["pic"] == blob.name
    assert blob.read() == b"as_cover:weibo_pic"
    assert blob.content_type == "image/jpeg" and blob.filename == "as_cover.jpg"


def test_first_image_is_used_without_a_cover():
    media = FakeMedia({("as_inline", "weibo_pic"): (b"png-bytes", "image/png")})
    post = render(article(assets=(VIDEO, INLINE)), media)
    assert media.asked == [("as_inline", "weibo_pic")]
    assert post.media[0].filename == "as_inline.png"


def test_article_without_images_has_no_picture():
    post = render(article())
    assert post.media == () and post.fields["pic"] is None


def test_video_item_goes_out_as_text_link_and_a_frame():
    media = FakeMedia()
    post = render(article(kind="video", assets=(VIDEO,)), media)
    assert media.asked == [("as_video", "video_cover")]
    assert post.fields["link"] == "https://hub.example.gov.cn/p/it_flood"
    assert len(post.media) == 1


def test_video_item_prefers_its_cover_image():
    media = FakeMedia()
    render(article(kind="video", cover=COVER, assets=(VIDEO,)), media)
    assert media.asked == [("as_cover", "weibo_pic")]


def test_picture_of_five_megabytes_or_more_is_refused():
    media = FakeMedia({("as_cover", "weibo_pic"): (b"x" * PIC_MAX_BYTES, "image/jpeg")})
    refused = refusal(render, article(cover=COVER), media)
    assert "5 MB" in refused.reason


def test_picture_in_another_format_is_refused():
    media = FakeMedia({("as_cover", "weibo_pic"): (b"RIFF", "image/webp")})
    refused = refusal(render, article(cover=COVER), media)
    assert "JPEG/PNG/GIF" in refused.reason


def test_content_hash_follows_text_and_picture():
    same = render(article(cover=COVER)).content_hash
    assert render(article(cover=COVER)).content_hash == same
    assert render(article(cover=COVER, title="另一个标题")).content_hash != same
    other_pic = FakeMedia({("as_cover", "weibo_pic"): (b"other", "image/jpeg")})
    assert render(article(cover=COVER), other_pic).content_hash != same


def test_a_long_link_squeezes_the_title_but_stays_whole():
    link = "https://hub.example.gov.cn/p/" + "x" * 150
    post = render(article(public_url=link + "#top"))
    status = sent_status(post)
    assert post.fields["link"] == link  # the fragment would swallow the marker
    assert status.endswith(f" {link}?d={LONGEST_MARKER}")
    assert post.fields["text"].startswith("【") and "…" in post.fields["text"]
    assert weibo_length(status) <= MAX_CHARS
