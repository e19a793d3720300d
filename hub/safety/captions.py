"""The caption texts of a body: image alt/title attributes and <figcaption> text."""

from __future__ import annotations

from html.parser import HTMLParser


class _CaptionParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.captions: list[str] = []
        self._in_figcaption = 0
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("img", "video"):
            for name, value in attrs:
                if name in ("alt", "title") and value and value.strip():
                    self.captions.append(value.strip())
        elif tag == "figcaption":
            self._in_figcaption += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption" and self._in_figcaption:
            self._in_figcaption -= 1
            text = " ".join("".join(self._buffer).split())
            if text:
                self.captions.append(text)
            self._buffer = []

    def handle_data(self, data: str) -> None:
        if self._in_figcaption:
            self._buffer.append(data)


def captions(body_html: str) -> list[str]:
    parser = _CaptionParser()
    parser.feed(body_html)
    parser.close()
    return parser.captions
