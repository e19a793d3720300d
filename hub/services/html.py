"""Body HTML: sanitised with nh3 (Ammonia) on the way in and again on the way out; plain text
derived for search and screening.

One function, :func:`clean_body`, decides what a body may contain, and every reader of a body
goes through it (the public page, the feeds, the channels, the API and so the admin's review
page): what 三审 approved is byte for byte what the public gets.

- ``style`` keeps only a few text properties (no ``position``, ``z-index``, ``background``,
  ``url()``...), so a body cannot lay a fixed overlay over the page.
- Media (``img``/``video``/``source`` ``src``, ``poster``) must be hub assets (``/media/<id>``);
  anything else is dropped and named in :attr:`CleanBody.removed` so the editor is told.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u", "s",
    "blockquote", "ul", "ol", "li", "a", "img", "figure", "figcaption", "span", "section",
    "table", "thead", "tbody", "tr", "th", "td", "sup", "sub", "video", "source",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height", "data-asset"},
    "video": {"src", "poster", "controls", "width", "height", "data-asset"},
    "source": {"src", "type"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "span": {"style"},
    "p": {"style"},
}
# What editors use to format text. Nothing that moves, layers, sizes or paints a box.
ALLOWED_STYLE_PROPERTIES = {
    "color", "font-style", "font-weight", "text-align", "text-decoration", "text-indent",
}
_MEDIA_ATTRIBUTES = {("img", "src"), ("video", "src"), ("video", "poster"), ("source", "src")}
_HUB_MEDIA_PATH = re.compile(r"/media/[A-Za-z0-9_-]{1,64}(?:/[A-Za-z0-9_-]{1,64})?")
# A media tag as nh3 writes it (attribute values quoted; a ">" may sit inside one).
_MEDIA_TAG = re.compile(r"""<(?:img|source)\b(?:"[^"]*"|'[^']*'|[^'">])*>""", re.IGNORECASE)
_QUOTED = re.compile(r""""[^"]*"|'[^']*'""")
_SRC_ATTRIBUTE = re.compile(r"\ssrc\s*=", re.IGNORECASE)


def _drop_media_without_src(html: str) -> str:
    """Remove the ``img``/``source`` tags whose ``src`` was taken out: an external image said
    to be removed leaves nothing behind (not even an empty tag whose ``alt`` says "src=")."""
    def verdict(tag: re.Match[str]) -> str:
        bare = _QUOTED.sub('""', tag.group(0))  # look at attribute names, not values
        return tag.group(0) if _SRC_ATTRIBUTE.search(bare) else ""

    return _MEDIA_TAG.sub(verdict, html)


@dataclass(frozen=True)
class CleanBody:
    html: str
    removed: tuple[str, ...] = ()  # media URLs dropped because they are not hub assets


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an absolute URL, lower-cased; '' for anything else."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def hub_media_path(url: str, hub_origins: Collection[str]) -> str | None:
    """The ``/media/...`` path when ``url`` names a hub asset (site-relative, or absolute on one
    of ``hub_origins``), else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.query or parts.fragment or not _HUB_MEDIA_PATH.fullmatch(parts.path):
        return None
    on_hub = not (parts.scheme or parts.netloc) or \
        f"{parts.scheme}://{parts.netloc}".lower() in hub_origins
    return parts.path if on_hub else None


def clean_body(html: str, *, base: str = "", hub_origins: Collection[str] = ()) -> CleanBody:
    """Sanitise a body. Hub media links (site-relative, or absolute on ``base``'s origin or one
    of ``hub_origins``) are written as ``{base}/media/...``; other media are removed."""
    origins = {o.lower() for o in hub_origins} | ({origin_of(base)} - {""})
    root = base.rstrip("/")
    removed: list[str] = []

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if (tag, attribute) not in _MEDIA_ATTRIBUTES:
            return value
        path = hub_media_path(value, origins)
        if path is None:
            if value.strip():
                removed.append(value.strip())
            return None
        return root + path

    cleaned = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                        attribute_filter=keep, filter_style_properties=ALLOWED_STYLE_PROPERTIES,
                        url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")
    cleaned = _drop_media_without_src(cleaned)
    return CleanBody(html=cleaned, removed=tuple(dict.fromkeys(removed)))


def sanitise(html: str, *, base: str = "", hub_origins: Collection[str] = ()) -> str:
    return clean_body(html, base=base, hub_origins=hub_origins).html


class _TextExtractor(HTMLParser):
    _BLOCKS = {"p", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "div", "section", "tr",
               "blockquote", "figcaption"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
