"""/feeds/<org>.{rss,atom,json} and /feeds/library.{rss,atom,json}, on SQLite and PostgreSQL:
valid RSS 2.0 / Atom / JSON Feed 1.1 (parsed, not string-matched), UTF-8 Chinese, public
item links, published items only, withdrawals dropped at once, ETag / Last-Modified with 304."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from sqlalchemy import update

from hub.models import Item
from hub.services import feed_entries as feed_service
from tests.hub.helpers import error_of

from .library_helpers import COUNTY, PROVINCE, library

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
BASE = "http://hub.test"  # the test hub's YUNCHU_PUBLIC_URL


def _get(hub, path: str, **headers: str):
    return hub.client.get(path, headers=headers)  # no token: feeds are public


def _rss(hub, key: str) -> list[dict[str, object]]:
    r = _get(hub, f"/feeds/{key}.rss")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.content_type == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(r.data)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None and channel.findtext("title") and channel.findtext("link")
    assert channel.findtext("description") is not None
    return [{"link": i.findtext("link"), "title": i.findtext("title"),
             "guid": i.findtext("guid"), "content": i.findtext(CONTENT),
             "description": i.findtext("description"), "source": i.findtext("source"),
             "categories": [c.text for c in i.findall("category")],
             "enclosure": (i.find("enclosure").attrib if i.find("enclosure") is not None
                           else None)}
            for i in channel.findall("item")]


def _atom(hub, key: str) -> list[dict[str, object]]:
    r = _get(hub, f"/feeds/{key}.atom")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.content_type == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(r.data)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}id") and root.findtext(f"{ATOM}title")
    assert root.findtext(f"{ATOM}updated")
    self_links = [a.get("href") for a in root.findall(f"{ATOM}link") if a.get("rel") == "self"]
    assert self_links == [f"{BASE}/feeds/{key}.atom"]
    entries = []
    for e in root.findall(f"{ATOM}entry"):
        links = e.findall(f"{ATOM}link")
        alternate = [a.get("href") for a in links if a.get("rel", "alternate") == "alternate"]
        assert len(alternate) == 1, ET.tostring(e)
        assert e.findtext(f"{ATOM}id") and e.findtext(f"{ATOM}updated")
        entries.append({"link": alternate[0], "title": e.findtext(f"{ATOM}title"),
                        "content": e.findtext(f"{ATOM}content"),
                        "enclosures": [a.attrib for a in links if a.get("rel") == "enclosure"]})
    return entries


def _json(hub, key: str) -> dict:
    r = _get(hub, f"/feeds/{key}.json")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.content_type == "application/feed+json; charset=utf-8"
    feed = json.loads(r.data.decode("utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and feed["feed_url"] == f"{BASE}/feeds/{key}.json"
    for item in feed["items"]:
        assert item["id"] and item["url"] and ("content_html" in item or "content_text" in item)
    return feed


def test_org_feed_lists_the_org_published_items_in_three_formats(hub):
    lib = library(hub)
    cover = lib.png()
    own = lib.item(org=COUNTY, title="我县召开秋粮收购工作会", cover=cover, tags=["秋粮", "会议"])
    origin = lib.item(title="全省防汛工作会议召开")
    copy = lib.pulled(origin, title="我县传达全省防汛工作会议精神")["id"]
    lib.approve_copy(copy)
    draft = lib.item("draft", org=COUNTY)
    in_review = lib.item("in_review", org=COUNTY)
    unapproved_copy = lib.pulled(lib.item())["id"]

    rss = _rss(hub, COUNTY)
    assert [i["link"] for i in rss] == [f"{BASE}/p/{copy}", f"{BASE}/p/{own}"]  # newest first
    assert rss[0]["guid"] == rss[0]["link"] and rss[0]["title"] == "我县传达全省防汛工作会议精神"
    assert "转载自机构yun" in rss[0]["content"] and "转载自机构yun" in rss[0]["source"]
    assert "强降雨应对" in rss[0]["content"] and rss[0]["description"] == "部署本周强降雨应对工作"
    assert rss[1]["categories"] == ["秋粮", "会议"] and rss[1]["source"] is None
    assert rss[1]["enclosure"]["url"] == f"{BASE}/media/{cover}"
    assert rss[1]["enclosure"]["type"] == "image/png"

    atom = _atom(hub, COUNTY)
    assert [e["link"] for e in atom] == [f"{BASE}/p/{copy}", f"{BASE}/p/{own}"]
    assert atom[1]["title"] == "我县召开秋粮收购工作会"
    assert [a["href"] for a in atom[1]["enclosures"]] == [f"{BASE}/media/{cover}"]

    feed = _json(hub, COUNTY)
    assert [i["id"] for i in feed["items"]] == [copy, own]
    first, second = feed["items"]
    assert first["url"] == f"{BASE}/p/{copy}" and first["title"] == "我县传达全省防汛工作会议精神"
    assert first["_yunchu"]["reprint"]["item"] == origin
    assert first["_yunchu"]["reprint"]["source"] == "云省日报"
    assert second["image"] == f"{BASE}/media/{cover}/thumb_feed"
    assert second["attachments"][0]["size_in_bytes"] > 0 and second["tags"] == ["秋粮", "会议"]
    assert first["date_published"].endswith("Z")
    assert feed["_yunchu"]["withdrawn"] == []
    # Chinese travels as UTF-8, not as \\u escapes or entities.
    assert "我县传达".encode() in _get(hub, f"/feeds/{COUNTY}.json").data
    assert "我县传达".encode() in _get(hub, f"/feeds/{COUNTY}.rss").data

    for fmt in ("rss", "atom", "json"):  # (the origin's id is in the copy's reprint link)
        body = _get(hub, f"/feeds/{COUNTY}.{fmt}").get_data(as_text=True)
        assert not any(item in body for item in (draft, in_review, unapproved_copy)), fmt
    assert origin in {i["id"] for i in _json(hub, PROVINCE)["items"]}
    assert _json(hub, "c1")["items"] == []  # a parent org's feed is its own items only


def test_library_feed_holds_shared_approved_items_only(hub):
    lib = library(hub)
    shared = lib.item(title="秋季森林防火提示")
    private = lib.item(shared_to_library=False)
    lib.item("draft")
    withdrawn = lib.item("withdrawn")
    copy = lib.pulled(shared)["id"]
    lib.approve_copy(copy)  # the county's copy is not shared

    assert [i["id"] for i in _json(hub, "library")["items"]] == [shared]
    assert [i["link"] for i in _rss(hub, "library")] == [f"{BASE}/p/{shared}"]
    assert [e["link"] for e in _atom(hub, "library")] == [f"{BASE}/p/{shared}"]
    tombstones = _json(hub, "library")["_yunchu"]["withdrawn"]
    assert [t["id"] for t in tombstones] == [withdrawn]
    for fmt in ("rss", "atom", "json"):
        body = _get(hub, f"/feeds/library.{fmt}").get_data(as_text=True)
        assert private not in body and copy not in body

    # Un-sharing takes it out of the library feed at once.
    hub.patch(f"/api/v1/items/{shared}", {"shared_to_library": False},
              token=lib.province["editor"])
    assert _json(hub, "library")["items"] == []


def test_withdrawal_drops_the_item_at_once_and_leaves_a_json_tombstone(hub):
    lib = library(hub)
    keep = lib.item(org=COUNTY, title="我县召开秋粮收购工作会")
    gone = lib.item(org=COUNTY, title="一条需要撤回的稿件")
    for fmt in ("rss", "atom"):
        assert "一条需要撤回的稿件" in _get(hub, f"/feeds/{COUNTY}.{fmt}").get_data(as_text=True)
    r = hub.post(f"/api/v1/items/{gone}/withdraw", {"reason": "内容有误"})
    assert r.status_code == 202, r.json
    for fmt in ("rss", "atom", "json"):
        body = _get(hub, f"/feeds/{COUNTY}.{fmt}").get_data(as_text=True)
        assert "一条需要撤回的稿件" not in body and keep in body, fmt
    assert [i["link"] for i in _rss(hub, COUNTY)] == [f"{BASE}/p/{keep}"]
    assert [e["link"] for e in _atom(hub, COUNTY)] == [f"{BASE}/p/{keep}"]
    feed = _json(hub, COUNTY)
    assert [i["id"] for i in feed["items"]] == [keep]
    [tombstone] = feed["_yunchu"]["withdrawn"]
    assert tombstone["id"] == gone and tombstone["url"] == f"{BASE}/p/{gone}"
    assert tombstone["withdrawn_at"].endswith("Z")
    assert "内容有误" not in json.dumps(feed, ensure_ascii=False)  # the reason stays internal


def test_conditional_get_with_etag_and_last_modified(hub):
    lib = library(hub)
    item = lib.item(org=COUNTY)
    for fmt in ("rss", "atom", "json"):
        path = f"/feeds/{COUNTY}.{fmt}"
        first = _get(hub, path)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert etag.startswith('"') and parsedate_to_datetime(modified)
        assert "no-cache" in first.headers["Cache-Control"]
        assert _get(hub, path).data == first.data and _get(hub, path).headers["ETag"] == etag
        not_modified = _get(hub, path, **{"If-None-Match": etag})
        assert not_modified.status_code == 304 and not_modified.data == b""
        assert not_modified.headers["ETag"] == etag
        assert _get(hub, path, **{"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
        assert _get(hub, path, **{"If-None-Match": '"other"'}).status_code == 200
        assert _get(hub, path, **{"If-Modified-Since": modified}).status_code == 304
        earlier = format_datetime(parsedate_to_datetime(modified) - timedelta(seconds=5),
                                  usegmt=True)
        assert _get(hub, path, **{"If-Modified-Since": earlier}).status_code == 200
        assert hub.client.head(path, headers={"If-None-Match": etag}).status_code == 304

    states = {fmt: _get(hub, f"/feeds/{COUNTY}.{fmt}").headers
              for fmt in ("rss", "atom", "json")}
    hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "内容有误"})
    for fmt, headers in states.items():
        path = f"/feeds/{COUNTY}.{fmt}"
        # A withdrawal changes the feed: the old ETag no longer matches, and Last-Modified
        # moves forward (never back), so If-Modified-Since clients also see the change.
        r = _get(hub, path, **{"If-None-Match": headers["ETag"]})
        assert r.status_code == 200 and r.headers["ETag"] != headers["ETag"]
        assert parsedate_to_datetime(r.headers["Last-Modified"]) >= \
            parsedate_to_datetime(headers["Last-Modified"])


def test_feed_errors_use_the_api_error_shape(hub):
    lib = library(hub)
    for path in ("/feeds/ghost.rss", "/feeds/ghost.json", f"/feeds/{COUNTY}.xml",
                 f"/feeds/{COUNTY}", "/feeds/library.html", "/feeds/.rss"):
        r = _get(hub, path)
        assert r.status_code == 404, path
        assert error_of(r)["code"] == "not_found"
    assert hub.client.post(f"/feeds/{COUNTY}.rss").status_code == 405
    # "library" is the shared library's feed, so no org may take that slug.
    r = hub.post("/api/v1/orgs", {"slug": "library", "name": "图书馆", "kind": "department",
                                  "parent": PROVINCE})
    assert r.status_code == 422 and error_of(r)["details"]["field"] == "slug"
    # An empty feed is still a valid feed.
    assert _rss(hub, "c2") == [] and _atom(hub, "c2") == [] and _json(hub, "c2")["items"] == []
    assert lib.rows()["items"] == 0


def test_feeds_survive_text_xml_cannot_carry(hub):
    lib = library(hub)
    lib.item(org=COUNTY, title="标题\x0b含控制字符", summary="摘要\x01", tags=["a\x02b"],
             body="<p>]]&gt; 正文 &amp; <b>加粗</b></p>")
    assert [i["title"] for i in _rss(hub, COUNTY)] == ["标题含控制字符"]
    assert [e["title"] for e in _atom(hub, COUNTY)] == ["标题含控制字符"]
    assert _json(hub, COUNTY)["items"][0]["title"] == "标题\x0b含控制字符"


def test_feed_entries_are_capped_and_newest_first(hub, monkeypatch):
    lib = library(hub)
    ids = [lib.item(org=COUNTY) for _ in range(3)]
    now = datetime.now(UTC)
    with hub.runtime.db.session() as session:  # approvals in reverse order of creation
        for n, item_id in enumerate(ids):
            session.execute(update(Item).where(Item.id == item_id).values(
                approved_at=now - timedelta(minutes=n)))
    assert [i["id"] for i in _json(hub, COUNTY)["items"]] == ids
    monkeypatch.setattr(feed_service, "FEED_SIZE", 2)
    assert [i["id"] for i in _json(hub, COUNTY)["items"]] == ids[:2]
    assert [i["link"] for i in _rss(hub, COUNTY)] == [f"{BASE}/p/{i}" for i in ids[:2]]
