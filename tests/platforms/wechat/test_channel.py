"""WeChatChannel: draft-article fields, limits, sanitising, image placeholders (pure unit tests)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from channels.base import AssetView, CannotRender, ItemVersionView
from channels.wechat import (
    COVER_SPEC,
    INLINE_SPEC,
    MAX_DIGEST_CHARS,
    VIDEO_FRAME_SPEC,
    WeChatChannel,
)
from tests.platforms.samples import HUB, ORIGIN, asset, item_version, refusal


def image(asset_id: str, **changes) -> AssetView:
    return asset(asset_id, **{"width": 1600, "height": 900, "url": f"{HUB}/media/{asset_id}.jpg",
                              **changes})


COVER = image("as_cover")
PHOTO = image("as_photo")
CHART = image("as_chart", content_type="image/png", url=f"{HUB}/media/as_chart.png")
VIDEO = asset("as_video", "video", bytes=5_000_000, url=f"{HUB}/media/as_video.mp4")


class FakeMedia:
    """Renditions as deterministic bytes; records which (asset, spec) pairs were asked for."""

    def __init__(self, sizes: dict[str, int] | None = None):
        self.sizes = sizes or {}
        self.calls: list[tuple[str, str]] = []

    def original(self, asset: AssetView) -> bytes:
        raise AssertionError("the WeChat channel uploads renditions, never originals")

    def rendition(self, asset: AssetView, spec: str) -> tuple[bytes, str]:
        self.calls.append((asset.id, spec))
        size = self.sizes.get(spec, 100)
        content_type = "image/png" if asset.content_type == "image/png" else "image/jpeg"
        return (f"{asset.id}:{spec}:".encode() * size)[:size], content_type


def article(**changes) -> ItemVersionView:
    base = item_version(
        version=3,
        body_html=(
            '<p style="color:red;position:fixed">会议部署了<b>强降雨</b>应对工作。</p>'
            "<script>alert(1)</script>"
            f'<p><img src="{PHOTO.url}" onerror="x()"></p>'
            '<p><img src="https://elsewhere.example.com/pic.jpg">外链图片</p>'
            f'<p><img src="/media/as_chart.png" alt="图表"><img src="{PHOTO.url}"></p>'
            '<p><a href="https://example.com/x">外部链接</a>'
            '<a href="https://mp.weixin.qq.com/s/abc">往期文章</a></p>'
        ),
        cover=COVER,
        assets=(PHOTO, CHART),
    )
    return replace(base, **changes)


def render(item: ItemVersionView, media: FakeMedia | None = None):
    return WeChatChannel().render(item, media or FakeMedia())


def test_article_fields_follow_draft_add():
    post = render(article())
    fields = post.fields
    assert post.platform == "wechat"
    assert fields["cover"] == "cover"
    assert fields["inline_images"] == ["img1", "img2"]
    art = fields["article"]
    assert art["article_type"] == "news"
    assert art["title"] == "市政府召开防汛工作会议"
    assert art["author"] == "张三"
    assert art["digest"] == "会议部署了本周强降雨应对工作。"
    assert art["content_source_url"] == f"{HUB}/p/it_flood"
    assert art["need_open_comment"] == 1 and art["only_fans_can_comment"] == 0
    assert "thumb_media_id" not in art  # the adapter fills it after uploading the cover


def test_cover_and_inline_images_are_blobs_from_the_right_renditions():
    media = FakeMedia()
    post = render(article(), media)
    assert [blob.name for blob in post.media] == ["cover", "img1", "img2"]
    assert media.calls == [
        ("as_cover", COVER_SPEC),
        ("as_photo", INLINE_SPEC),
        ("as_chart", INLINE_SPEC),
    ]
    cover, photo, chart = post.media
    assert cover.content_type == "image/jpeg" and cover.filename == "cover.jpg"
    assert chart.content_type == "image/png" and chart.filename == "img2.png"
    assert photo.sha256 == hashlib.sha256(photo.read()).hexdigest()
    assert photo.size == len(photo.read())


def test_hub_images_become_placeholders_and_foreign_images_are_dropped():
    content = render(article()).fields["article"]["content"]
    assert content.count('src="{{media:img1}}"') == 2  # same asset twice, one upload
    assert '<img src="{{media:img2}}" alt="图表">' in content  # site-relative hub link
    assert "elsewhere.example.com" not in content
    assert "外链图片" in content


def test_html_is_sanitised_to_what_wechat_keeps():
    content = render(article()).fields["article"]["content"]
    assert "<b>强降雨</b>" in content
    assert 'style="color:red"' in content  # allowed CSS survives, position:fixed does not
    assert "<script" not in content and "alert(1)" not in content
    assert "onerror" not in content
    assert "https://example.com/x" not in content and "外部链接" in content
    assert 'href="https://mp.weixin.qq.com/s/abc"' in content


def test_title_over_32_characters_cannot_render():
    refused = refusal(render, article(title="关" * 33))
    assert refused.field == "title"
    assert refused.reason.startswith("标题超过32字")
    assert "(title longer than 32 characters: 33)" in refused.reason


def test_title_of_exactly_32_characters_is_kept_whole():
    assert render(article(title="关" * 32)).fields["article"]["title"] == "关" * 32


def test_empty_title_cannot_render():
    refused = refusal(render, article(title="   "))
    assert refused.field == "title"


def test_author_over_16_characters_cannot_render():
    refused = refusal(render, article(author="作" * 17))
    assert refused.field == "author"
    assert "16" in refused.reason


def test_long_digest_is_cut_with_an_ellipsis():
    digest = render(article(summary="要" * 300)).fields["article"]["digest"]
    assert len(digest) == MAX_DIGEST_CHARS
    assert digest.endswith("…")


def test_missing_summary_falls_back_to_body_text():
    item = article(summary=" ", body_html="<p>第一段&amp;要点</p><p>第二段</p>")
    assert render(item).fields["article"]["digest"] == "第一段&要点 第二段"


def test_article_without_cover_cannot_render_with_a_readable_reason():
    refused = refusal(render, article(cover=None))
    assert refused.field == "cover"
    assert refused.reason.startswith("微信公众号图文必须有封面图")
    assert "(WeChat articles need a cover image" in refused.reason


def test_body_too_long_cannot_render():
    refused = refusal(render, article(body_html="<p>" + "字" * 20_000 + "</p>"))
    assert refused.field == "body_html"
    assert "20000" in refused.reason


def test_body_near_the_limit_counts_room_for_the_uploaded_image_urls():
    text = "字" * 19_900
    assert render(article(body_html=f"<p>{text}</p>"))
    with pytest.raises(CannotRender):
        render(article(body_html=f'<p>{text}</p><img src="{PHOTO.url}">'))


def test_inline_image_still_over_one_megabyte_cannot_render():
    refused = refusal(render, article(), FakeMedia(sizes={INLINE_SPEC: 1024 * 1024}))
    assert refused.field == "body_html"
    assert "1MB" in refused.reason


def test_pulled_item_carries_the_reprint_mark():
    art = render(article(origin=ORIGIN)).fields["article"]
    assert art["author"] == "转载自省融媒体中心"
    assert art["content"].endswith("本文转载自省融媒体中心，来源：湖北日报</p>")
    assert art["content_source_url"] == ORIGIN.url


def test_reprint_from_an_org_with_a_long_name_keeps_the_mark_in_the_footer():
    origin = replace(ORIGIN, org_name="某某省某某市某某县人民政府新闻办公室")  # 17 characters
    art = render(article(origin=origin)).fields["article"]
    assert art["author"] == ""
    assert "本文转载自某某省某某市某某县人民政府新闻办公室" in art["content"]


def test_item_without_public_url_cannot_render():
    refused = refusal(render, article(public_url=""))
    assert refused.field == "public_url"


def test_video_item_becomes_an_article_with_the_frame_and_a_read_more_note():
    media = FakeMedia()
    item = article(kind="video", cover=None, assets=(VIDEO,), body_html="<p>现场视频</p>")
    post = render(item, media)
    assert [blob.name for blob in post.media] == ["cover", "img1"]
    assert media.calls == [("as_video", VIDEO_FRAME_SPEC), ("as_video", VIDEO_FRAME_SPEC)]
    content = post.fields["article"]["content"]
    assert content.startswith('<p><img src="{{media:img1}}" alt="视频封面"></p>')
    assert "阅读原文" in content and "<p>现场视频</p>" in content


def test_video_item_with_a_cover_image_uses_it_as_the_cover():
    media = FakeMedia()
    render(article(kind="video", assets=(VIDEO,), body_html=""), media)
    assert media.calls[0] == ("as_cover", COVER_SPEC)


def test_video_item_without_cover_or_video_file_cannot_render():
    refused = refusal(render, article(kind="video", cover=None, assets=()))
    assert refused.field == "cover"


def test_content_hash_is_stable_and_follows_content():
    first = render(article())
    assert first.content_hash == render(article()).content_hash
    assert first.content_hash != render(article(title="另一个标题")).content_hash
