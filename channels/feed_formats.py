"""Feed formats: RSS 2.0 and Atom (built with feedgen) and JSON Feed 1.1 (plain JSON).

Input is a ``Feed`` the hub has already read from its database; output is UTF-8 bytes. The
output depends on the input only (no "now" anywhere), so a hash of it is a sound ETag.
Withdrawn items are not entries; the JSON feed lists them as tombstones under ``_yunchu`` so a
client that cached a story can drop it.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FORMATS = ("rss", "atom", "json")
CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 cannot carry at all; lxml refuses them, so they are dropped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Enclosure:
    url: str
    content_type: str
    length: int
    duration_s: float | None = None


@dataclass(frozen=True)
class Reprint:
    """Where a pulled item came from: the reprint mark (转载标识) every format carries."""

    item_id: str
    org_name: str
    source: str
    url: str

    @property
    def mark(self) -> str:
        text = f"转载自{self.org_name}"
        if self.source and self.source != self.org_name:
            text += f"（来源：{self.source}）"
        return text


@dataclass(frozen=True)
class FeedEntry:
    id: str
    url: str
    title: str
    summary: str
    content_html: str
    author: str
    published: datetime
    updated: datetime
    tags: tuple[str, ...] = ()
    image: str | None = None  # a cover picture sized for feed readers
    enclosures: tuple[Enclosure, ...] = ()
    reprint: Reprint | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # JSON Feed ``_yunchu`` fields


@dataclass(frozen=True)
class Tombstone:
    id: str
    url: str
    withdrawn_at: datetime


@dataclass(frozen=True)
class Feed:
    title: str
    description: str
    home_url: str
    base_url: str  # the feed's URL without the format extension; ``.rss`` etc. are appended
    updated: datetime
    author: str
    entries: tuple[FeedEntry, ...] = ()
    tombstones: tuple[Tombstone, ...] = ()
    language: str = "zh-CN"

    def url(self, fmt: str) -> str:
        return f"{self.base_url}.{fmt}"


def render(feed: Feed, fmt: str) -> bytes:
    if fmt == "rss":
        return render_rss(feed)
    if fmt == "atom":
        return render_atom(feed)
    if fmt == "json":
        return render_json(feed)
    raise ValueError(f"unknown feed format {fmt!r}")


def content_html(entry: FeedEntry) -> str:
    """The body, with the reprint mark under it for pulled items."""
    if entry.reprint is None:
        return entry.content_html
    return (f'{entry.content_html}<p class="reprint">'
            f"{html.escape(entry.reprint.mark)}</p>")


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _x(value: str) -> str:
    return _XML_INVALID.sub("", value)


def _generator(feed: Feed, fmt: str) -> Any:
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.load_extension("dc", atom=True, rss=True)
    fg.id(feed.base_url)
    fg.title(_x(feed.title))
    fg.author({"name": _x(feed.author)})
    fg.link(href=feed.url(fmt), rel="self")
    fg.link(href=feed.home_url, rel="alternate")
    fg.description(_x(feed.description))
    fg.language(feed.language)
    fg.updated(feed.updated)
    fg.lastBuildDate(feed.updated)
    for entry in feed.entries:
        fe = fg.add_entry(order="append")
        fe.id(entry.url)
        fe.guid(entry.url, permalink=True)
        fe.title(_x(entry.title))
        fe.link(href=entry.url, rel="alternate")
        if entry.summary:
            fe.summary(_x(entry.summary))
        fe.content(_x(content_html(entry)), type="html")
        fe.published(entry.published)
        fe.updated(entry.updated)
        if entry.author:
            fe.author({"name": _x(entry.author)})
            fe.dc.dc_creator(_x(entry.author))
        for tag in entry.tags:
            fe.category(term=_x(tag))
        if fmt == "rss":
            if entry.enclosures:  # RSS carries one enclosure per item
                first = entry.enclosures[0]
                fe.enclosure(first.url, str(first.length), first.content_type)
            if entry.reprint is not None:
                fe.source(url=entry.reprint.url, title=_x(entry.reprint.mark))
    return fg


def render_rss(feed: Feed) -> bytes:
    return _generator(feed, "rss").rss_str(pretty=False)


def render_atom(feed: Feed) -> bytes:
    data = _generator(feed, "atom").atom_str(pretty=False)
    if not any(e.enclosures for e in feed.entries):
        return data
    return _add_atom_enclosures(data, feed)


def _add_atom_enclosures(data: bytes, feed: Feed) -> bytes:
    """feedgen 1.0 drops rel/type/length of entry links in Atom, so enclosures are added here."""
    from lxml import etree

    root = etree.fromstring(data)
    by_id = {e.url: e for e in feed.entries}
    for node in root.iter(f"{{{ATOM_NS}}}entry"):
        entry = by_id.get(node.findtext(f"{{{ATOM_NS}}}id") or "")
        for enclosure in entry.enclosures if entry else ():
            link = etree.SubElement(node, f"{{{ATOM_NS}}}link")
            link.set("rel", "enclosure")
            link.set("href", enclosure.url)
            link.set("type", enclosure.content_type)
            link.set("length", str(enclosure.length))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def render_json(feed: Feed) -> bytes:
    document: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": feed.title,
        "home_page_url": feed.home_url,
        "feed_url": feed.url("json"),
        "description": feed.description,
        "language": feed.language,
        "authors": [{"name": feed.author}],
        "items": [_json_item(e) for e in feed.entries],
        "_yunchu": {
            "updated": rfc3339(feed.updated),
            "withdrawn": [{"id": t.id, "url": t.url, "withdrawn_at": rfc3339(t.withdrawn_at)}
                          for t in feed.tombstones],
        },
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _json_item(entry: FeedEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": entry.id,
        "url": entry.url,
        "title": entry.title,
        "content_html": content_html(entry),
        "date_published": rfc3339(entry.published),
        "date_modified": rfc3339(entry.updated),
    }
    if entry.summary:
        item["summary"] = entry.summary
    if entry.image:
        item["image"] = entry.image
    if entry.author:
        item["authors"] = [{"name": entry.author}]
    if entry.tags:
        item["tags"] = list(entry.tags)
    if entry.enclosures:
        item["attachments"] = [_attachment(e) for e in entry.enclosures]
    extension = dict(entry.extra)
    if entry.reprint is not None:
        extension["reprint"] = {"item": entry.reprint.item_id, "org_name": entry.reprint.org_name,
                                "source": entry.reprint.source, "url": entry.reprint.url,
                                "mark": entry.reprint.mark}
    if extension:
        item["_yunchu"] = extension
    return item


def _attachment(enclosure: Enclosure) -> dict[str, Any]:
    data: dict[str, Any] = {"url": enclosure.url, "mime_type": enclosure.content_type,
                            "size_in_bytes": enclosure.length}
    if enclosure.duration_s is not None:
        data["duration_in_seconds"] = enclosure.duration_s
    return data
