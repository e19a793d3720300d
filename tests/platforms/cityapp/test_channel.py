"""CityAppChannel: the story payload, its limits and the reprint mark (pure unit tests)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from channels.base import CannotRender, ItemVersionView
from channels.cityapp import MAX_BODY_BYTES, CityAppChannel
from tests.platforms.cityapp.support import NoMedia
from tests.platforms.samples import HUB, ORIGIN, asset, item_version, refusal

COVER = asset("as_cover", bytes=1000, width=1200, height=800, url=f"{HUB}/media/as_cover.jpg")
VIDEO = asset("as_video", "video", bytes=5_000_000, width=1080, height=1920, duration_s=32.5,
              url=f"{HUB}/media/as_video.mp4")


def article(**changes) -> ItemVersionView:
    base = item_version(
        version=3,
        body_html="<p>会议部署了<b>强降雨</b>应对工作。</p><script>alert(1)</script>"
        '<p><a href="javascript:alert(1)">点此</a><img src="https://hub.example.gov.cn/m/1.jpg" onerror="x()"></p>',
        tags=("时政", "防汛"),
        cover=COVER,
    )
    return replace(base, **changes)


def render(item: ItemVersionView):
    return CityAppChannel().render(item, NoMedia())


def test_story_fields_follow_the_contract():
    post = render(article())
    data = post.fields
    assert post.platform == "cityapp"
    assert post.media == ()
    assert data["article_id"] == "it_flood"
    assert data["revision"] == 3
    assert data["channel"] == "city-app"
    assert data["title"] == "市政府召开防汛工作会议"
    assert data["summary"] == "会议部署了本周强降雨应对工作。"
    assert data["cover_url"] == COVER.url
    assert data["canonical_url"] == "https://hub.example.gov.cn/p/it_flood"
    assert data["category"] == "时政"
    assert data["source"] == "江城发布"
    assert data["reprint"] is None
    assert data["published_at"].endswith("+00:00")
    assert "delivery_id" not in data  # the adapter adds it per delivery
    assert "video" not in data


def test_html_is_sanitised():
    html = render(article()).fields["content_html"]
    assert "<b>强降雨</b>" in html
    assert "<script" not in html and "alert(1)</" not in html
    assert "javascript:" not in html
    assert "onerror" not in html
    assert 'src="https://hub.example.gov.cn/m/1.jpg"' in html


def test_pulled_item_carries_the_reprint_mark_in_source():
    data = render(article(origin=ORIGIN)).fields
    assert data["source"] == "转载自省融媒体中心"
    assert data["reprint"] == {
        "org_name": "省融媒体中心",
        "source": "湖北日报",
        "url": "https://hub.example.gov.cn/p/it_origin",
        "item_id": "it_origin",
    }


def test_missing_summary_falls_back_to_body_text():
    data = render(article(summary="  ", body_html="<p>第一段&amp;要点</p><p>第二段</p>")).fields
    assert data["summary"] == "第一段&要点 第二段"


def test_video_item_includes_the_video_url():
    data = render(article(kind="video", assets=(COVER, VIDEO))).fields
    assert data["video"]["url"] == VIDEO.url
    assert data["video"]["duration_s"] == 32.5
    assert data["kind"] == "video"


def test_video_item_without_video_cannot_render():
    refused = refusal(render, article(kind="video", assets=(COVER,)))
    assert refused.reason.startswith("视频稿件缺少视频文件")


def test_video_without_public_url_cannot_render():
    with pytest.raises(CannotRender, match="public URL"):
        render(article(kind="video", assets=(replace(VIDEO, url=None),)))


def test_no_cover_url_means_null_cover():
    assert render(article(cover=replace(COVER, url=None))).fields["cover_url"] is None
    assert render(article(cover=None)).fields["cover_url"] is None


def test_empty_title_cannot_render():
    refused = refusal(render, article(title="   "))
    assert refused.field == "title"


def test_body_over_256_kb_cannot_render_with_a_readable_reason():
    refused = refusal(render, article(body_html="<p>" + "汉" * (MAX_BODY_BYTES // 3) + "</p>"))
    assert "城市客户端最多接收" in refused.reason
    assert "the city app accepts at most 255 KB" in refused.reason
    assert refused.field == "body_html"


def test_body_just_under_the_limit_renders_and_fits():
    post = render(article(body_html="<p>" + "a" * (MAX_BODY_BYTES - 4096) + "</p>"))
    size = len(json.dumps(post.fields, ensure_ascii=False).encode())
    assert size < MAX_BODY_BYTES


def test_content_hash_is_stable_per_version_and_changes_with_content():
    first, second = render(article()), render(article())
    assert first.content_hash == second.content_hash
    assert render(article(title="另一个标题")).content_hash != first.content_hash
    assert render(article(version=4)).content_hash != first.content_hash
