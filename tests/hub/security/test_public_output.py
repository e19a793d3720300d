"""What the public gets, on SQLite and PostgreSQL: a body cannot lay a fixed overlay over the item
page or pull in outside images (on /p/<id>, in the RSS/Atom/JSON feeds, in what the channels
render, and in the admin page the reviewers approve from, all the same sanitised text); public
pages, feeds and media carry CSP / nosniff / frame headers; a withdrawal takes the item's cover,
images and renditions off the hub; an asset's metadata stays inside its org's subtree."""

from __future__ import annotations

import io
import json

from PIL import Image
from sqlalchemy import update

from hub.models import Item, ItemVersion
from tests.admin.support import PASSWORD, Browser
from tests.hub.helpers import error_of

from ..library_helpers import COUNTY, OTHER_CITY, PROVINCE, library, user
from .support import make_user

BASE = "http://hub.test"  # the test hub's YUNCHU_PUBLIC_URL
OVERLAY = ('<p style="position:fixed;inset:0;z-index:9999;background-image:url(http://evil.example/'
           'bg.png);color:#c00;text-align:center;font-weight:bold">系统升级，请'
           '<a href="http://evil.example/login">登录</a>核验身份</p>')
EXTERNAL_IMAGE = '<img src="http://evil.example/x.png" alt="外部图片">'
HOSTILE = OVERLAY + EXTERNAL_IMAGE
FORBIDDEN = ("position", "z-index", "inset", "background-image", "evil.example/x.png",
             "evil.example/bg.png")


def _png(hub, color: tuple[int, int, int], token: str | None = None) -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    r = hub.client.post("/api/v1/assets", content_type="multipart/form-data",
                        data={"file": (io.BytesIO(out.getvalue()), "x.png")},
                        headers={"Authorization": f"Bearer {token or hub.token}"})
    assert r.status_code == 201, r.json
    return r.json["id"]


def _assert_clean(where: str, text: str) -> None:
    for word in FORBIDDEN:
        assert word not in text, (where, word)
    # The editor's own formatting and the (plain) link survive.
    assert "color:#c00;text-align:center;font-weight:bold" in text, where
    assert "登录" in text and "evil.example/login" in text, where


def _public_outputs(hub, item_id: str) -> dict[str, str]:
    page = hub.client.get(f"/p/{item_id}")
    assert page.status_code == 200
    outputs = {"page": page.get_data(as_text=True)}
    for fmt in ("rss", "atom", "json"):
        for feed in (PROVINCE, "library"):
            r = hub.client.get(f"/feeds/{feed}.{fmt}")
            assert r.status_code == 200
            body = r.get_data(as_text=True)
            assert item_id in body
            if fmt == "json":  # the HTML sits JSON-escaped in content_html
                body = "\n".join(i.get("content_html", "") for i in json.loads(body)["items"])
            else:  # XML-escaped in RSS/Atom: compare unescaped
                body = body.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"') \
                    .replace("&amp;", "&")
            outputs[f"{feed}.{fmt}"] = body
    return outputs


def _admin_page(hub, item_id: str) -> str:
    make_user(hub, "pub-auditor", ["auditor"], org=PROVINCE, password=PASSWORD)
    browser = Browser(hub.app)
    browser.get("/admin/login")
    assert browser.post("/admin/login", {"name": "pub-auditor", "password": PASSWORD}) \
        .status_code == 303
    page = browser.get(f"/admin/items/{item_id}")
    assert page.status_code == 200
    # The review page loads media and body styles as the public page does, no more, no less.
    admin_csp = page.headers["Content-Security-Policy"]
    public_csp = hub.client.get(f"/p/{item_id}").headers["Content-Security-Policy"]
    for directive in ("img-src", "media-src", "style-src-attr"):
        assert _directive(admin_csp, directive) == _directive(public_csp, directive), directive
    return page.get_data(as_text=True)


def _directive(csp: str, name: str) -> str:
    return next(d.strip() for d in csp.split(";") if d.strip().startswith(name + " "))


def test_a_saved_body_loses_the_overlay_and_outside_images_and_the_editor_is_told(hub):
    lib = library(hub)
    image = _png(hub, (10, 120, 200))
    body = HOSTILE + f'<p><img src="{BASE}/media/{image}" alt="会场"></p>'
    r = hub.post("/api/v1/items", lib.article(body=body), token=lib.province["editor"])
    assert r.status_code == 201, r.json
    assert r.json["removed_media"] == ["http://evil.example/x.png"]
    _assert_clean("api", r.json["body"])
    assert f'<img src="{BASE}/media/{image}" alt="会场">' in r.json["body"]  # hub media stay
    item_id = r.json["id"]
    lib.submit(item_id, lib.province["editor"])
    from .support import approve_all

    approve_all(hub, item_id, lib.province)
    for where, text in {**_public_outputs(hub, item_id),
                        "admin": _admin_page(hub, item_id)}.items():
        _assert_clean(where, text)
        assert f"{BASE}/media/{image}" in text, where


def test_bodies_stored_before_the_filter_are_cleaned_on_every_way_out(hub):
    """Every reader uses the same sanitiser: a body written unfiltered (by an older release)
    reaches neither the public, nor the channels, nor the reviewers as stored."""
    lib = library(hub)
    item_id = lib.item()
    with hub.runtime.db.session() as session:
        session.execute(update(ItemVersion).where(ItemVersion.item_id == item_id)
                        .values(body_html=HOSTILE))
    outputs = _public_outputs(hub, item_id)
    outputs["api"] = hub.get(f"/api/v1/items/{item_id}").json["body"]
    outputs["admin"] = _admin_page(hub, item_id)
    from hub.fanout.render import item_view

    with hub.runtime.db.session() as session:
        outputs["channels"] = item_view(session, item_id, 1, BASE).body_html
    for where, text in outputs.items():
        _assert_clean(where, text)


def _assert_page_headers(response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and "unsafe-inline" not in csp.replace(
        "style-src-attr 'unsafe-inline'", "")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("Referrer-Policy")


def test_public_pages_feeds_and_media_carry_security_headers(hub):
    lib = library(hub)
    cover = _png(hub, (200, 120, 10))
    item_id = lib.item(cover=cover)
    page = hub.client.get(f"/p/{item_id}")
    _assert_page_headers(page)
    csp = page.headers["Content-Security-Policy"]
    assert "img-src 'self' http://hub.test;" in csp and "style-src 'self' http://hub.test;" in csp
    stylesheet = hub.client.get("/static/public/public.css")  # the page's look, now a file
    assert stylesheet.status_code == 200 and b"max-width:720px" in stylesheet.data
    assert b"/static/public/public.css" in page.data and b"<style" not in page.data
    _assert_page_headers(hub.client.get("/p/itm_nope"))
    for path in (f"/feeds/{PROVINCE}.rss", "/feeds/library.json", f"/media/{cover}",
                 f"/media/{cover}/thumb_feed"):
        r = hub.client.get(path)
        assert r.status_code == 200, path
        _assert_page_headers(r)
        assert "sandbox" in r.headers["Content-Security-Policy"], path


def test_withdrawal_takes_the_cover_images_and_renditions_off_the_hub(hub):
    lib = library(hub)
    cover, image = _png(hub, (20, 200, 20)), _png(hub, (20, 20, 200))
    item_id = lib.item(cover=cover, body=f'<p>现场</p><p><img src="/media/{image}"></p>')
    urls = [f"/media/{cover}", f"/media/{cover}/thumb_feed", f"/media/{image}",
            f"/media/{image}/thumb_feed"]
    for url in urls:
        r = hub.client.get(url)
        assert r.status_code == 200, url
        cache = r.headers["Cache-Control"]
        assert "immutable" not in cache and "max-age=300" in cache, (url, cache)
    r = hub.post(f"/api/v1/items/{item_id}/withdraw", {"reason": "内容有误"})
    assert r.status_code == 202, r.json
    assert hub.client.get(f"/p/{item_id}").status_code == 410
    for url in urls:
        r = hub.client.get(url)
        assert r.status_code in (404, 410), url
        assert r.headers["Cache-Control"] == "no-store"


def test_unpublished_media_only_for_staff_who_may_read_it(hub):
    lib = library(hub)
    draft_cover = _png(hub, (90, 90, 9), token=lib.province["editor"])
    draft = lib.item("draft", cover=draft_cover)
    loose = _png(hub, (9, 90, 90))  # uploaded, used by nothing
    for asset in (draft_cover, loose):
        assert hub.client.get(f"/media/{asset}").status_code == 404
    own = hub.client.get(f"/media/{draft_cover}",
                         headers={"Authorization": f"Bearer {lib.province['r1']}"})
    assert own.status_code == 200 and own.headers["Cache-Control"] == "private, no-cache"
    other = hub.client.get(f"/media/{draft_cover}",
                           headers={"Authorization": f"Bearer {lib.county['editor']}"})
    assert other.status_code == 404
    # Once its item is published the cover is public.
    lib.submit(draft, lib.province["editor"])
    from .support import approve_all

    approve_all(hub, draft, lib.province)
    assert hub.client.get(f"/media/{draft_cover}").status_code == 200


def test_asset_metadata_stays_in_the_uploaders_subtree(hub):
    lib = library(hub)
    county_asset = _png(hub, (77, 7, 7), token=lib.county["editor"])
    outsider = user(hub, "c2-auditor", ["auditor"], OTHER_CITY)
    r = hub.get(f"/api/v1/assets/{county_asset}", token=outsider)
    assert r.status_code == 403 and "sha256" not in r.get_data(as_text=True)
    assert error_of(r)["message"]
    for token in (lib.county["r1"], lib.province["editor"], hub.token):
        r = hub.get(f"/api/v1/assets/{county_asset}", token=token)
        assert r.status_code == 200 and r.json["id"] == county_asset
    # A province asset a county item uses is readable there.
    province_asset = _png(hub, (7, 77, 7), token=lib.province["editor"])
    assert hub.get(f"/api/v1/assets/{province_asset}",
                   token=lib.county["r1"]).status_code == 403
    lib.item("draft", org=COUNTY, cover=province_asset)
    assert hub.get(f"/api/v1/assets/{province_asset}",
                   token=lib.county["r1"]).status_code == 200
    assert hub.get("/api/v1/assets/ast_nope", token=outsider).status_code == 404


def test_a_live_pulled_copy_keeps_a_shared_cover_public(hub):
    """A pulled copy still live keeps the shared cover public after the origin is withdrawn."""
    lib = library(hub)
    cover = _png(hub, (1, 2, 3))
    origin = lib.item(cover=cover)
    copy = lib.pulled(origin)["id"]
    lib.approve_copy(copy)
    with hub.runtime.db.session() as session:
        session.execute(update(Item).where(Item.id == origin).values(status="withdrawn"))
    assert hub.client.get(f"/media/{cover}").status_code == 200
    with hub.runtime.db.session() as session:
        session.execute(update(Item).where(Item.id == copy).values(status="withdrawn"))
    assert hub.client.get(f"/media/{cover}").status_code == 404
