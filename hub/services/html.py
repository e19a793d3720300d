"""Body HTML: sanitised with nh3 (Ammonia) on the way in; plain text derived for search and screening."""

from __future__ import annotations

from html.parser import HTMLParser

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


def sanitise(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


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
