"""The caption texts of a body that its plain text lacks: image and video alt/title attributes.

<figcaption> text is part of the body's plain text already, so it is screened (and reported)
as ``body``.
"""

from __future__ import annotations

from html.parser import HTMLParser


class _CaptionParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.captions: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("img", "video"):
            for name, value in attrs:
                if name in ("alt", "title") and value and value.strip():
                    self.captions.append(value.strip())


def captions(body_html: str) -> list[str]:
    parser = _CaptionParser()
    parser.feed(body_html)
    parser.close()
    return parser.captions
