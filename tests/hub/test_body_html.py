"""The body sanitiser on its own: which styles and media links survive, and that it is stable
(sanitising what it produced changes nothing, so every way out can run it again)."""

from __future__ import annotations

import pytest

from hub.services.html import clean_body

HUB = "https://hub.example.gov.cn"


@pytest.mark.parametrize("style", [
    "position:fixed", "POSITION: fixed", "posi\\tion:fixed", "z-index:9999", "inset:0",
    "top:0", "width:100vw", "height:100vh", "display:block", "background:url(https://e.x/a.png)",
    "background-image:url(https://e.x/a.png)", "opacity:0", "transform:scale(50)",
    "font-size:900px", "margin:-999px", "content:url(https://e.x/a.png)",
])
def test_layout_and_painting_styles_are_dropped(style):
    html = clean_body(f'<p style="{style};color:red">正文</p>').html
    assert html == '<p style="color:red">正文</p>', html


def test_text_formatting_styles_survive_on_p_and_span_only():
    style = ("color:#333;font-weight:bold;font-style:italic;text-align:center;"
             "text-decoration:underline;text-indent:2em")
    body = f'<p style="{style}"><span style="color:red">红</span></p><h2 style="color:red">题</h2>'
    assert clean_body(body).html == f'<p style="{style}"><span style="color:red">红</span></p><h2>题</h2>'


@pytest.mark.parametrize("src", [
    "http://evil.example/x.png", "//evil.example/media/ast_1", "https://evil.example/media/ast_1",
    "data:image/png;base64,iVBORw0KGgo=", "/media/ast_1?x=1", "/media/../etc/passwd",
    "/static/public/public.css", "javascript:alert(1)", "http://hub.example.gov.cn.evil.example/media/ast_1",
])
def test_media_not_on_the_hub_are_removed_and_reported(src):
    cleaned = clean_body(f'<p>前</p><img src="{src}" alt="图"><video src="{src}" poster="{src}">'
                         f'<source src="{src}"></video>', hub_origins={HUB})
    assert "<img" not in cleaned.html and "<source" not in cleaned.html
    assert src not in cleaned.html and "src=" not in cleaned.html and "poster" not in cleaned.html
    if not src.startswith(("javascript:", "data:")):  # other schemes go before the filter
        assert cleaned.removed == (src,)


def test_hub_media_are_kept_and_written_under_the_base():
    body = (f'<img src="{HUB}/media/ast_1" alt="a"><img src="/media/ast_2/thumb_feed">'
            f'<video controls src="/media/ast_3" poster="{HUB.upper()}/media/ast_4"></video>')
    stored = clean_body(body, hub_origins={HUB})
    assert stored.removed == ()
    assert stored.html == ('<img src="/media/ast_1" alt="a"><img src="/media/ast_2/thumb_feed">'
                           '<video controls="" src="/media/ast_3" poster="/media/ast_4"></video>')
    shown = clean_body(stored.html, base=HUB + "/")
    assert shown.html == stored.html.replace('"/media/', f'"{HUB}/media/')
    assert clean_body(shown.html, base=HUB).html == shown.html  # stable


def test_an_external_image_said_to_be_removed_leaves_no_tag_behind():
    for html in ('<p><img alt="x src=y" src="http://ext.example/a.png">文字</p>',
                 '<p><img title="a>b src=" src="https://ext.example/b.png">文字</p>'):
        cleaned = clean_body(html, base="http://hub.example")
        assert cleaned.html == "<p>文字</p>", cleaned.html
        assert len(cleaned.removed) == 1 and cleaned.removed[0].startswith("http")
    kept = clean_body('<p><img alt="src=" src="/media/ast_1"></p>', base="http://hub.example")
    assert kept.html == '<p><img alt="src=" src="http://hub.example/media/ast_1"></p>'
    assert kept.removed == ()
