"""API error messages out of a catalog: a key, its values, and the words in each language.

Clients get what they always got: one string, "中文 (English)", in the API's error shape (see
README.md). A ``Message`` *is* that string, and also remembers its key and values, so the admin
UI, which holds the same object in process, shows the user's language straight from the
catalog instead of splitting the string.

The words live in hub/translations/<lang>/LC_MESSAGES/api.po (msgid = key, ``{name}``
placeholders, ``{{`` for a literal brace). Values named in ``terms`` are words with an entry of
their own, ``term.<word>`` (a field name such as ``body``, a noun such as 稿件): the UI shows
them in its language, while the string clients get keeps them exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import catalogs

CATALOGS = Path(__file__).parent / "translations"
DOMAIN = "api"


def text(key: str, lang: str, **values: Any) -> str:
    """The catalog's words for ``key`` in ``lang``, filled in; the key itself when missing."""
    return catalogs.translations(CATALOGS, lang, DOMAIN).gettext(key).format(**values)


def term(word: str, lang: str) -> str:
    """A field name or noun in ``lang``; the word as given when the catalog has no entry."""
    key = f"term.{word}"
    found = catalogs.translations(CATALOGS, lang, DOMAIN).gettext(key)
    return word if found == key else found


class Message(str):
    """The bilingual text clients see, built from the catalog, able to speak one language."""

    key: str
    values: dict[str, Any]
    terms: frozenset[str]
    sep: str

    def __new__(cls, key: str, *, terms: Iterable[str] = (), sep: str = " ",
                **values: Any) -> Message:
        """``sep`` is what stood between the halves in the text clients know (a few say
        "…）(…" with no space)."""
        wire = f"{text(key, 'zh', **values)}{sep}({text(key, 'en', **values)})"
        message = super().__new__(cls, wire)
        message.key = key
        message.values = values
        message.terms = frozenset(terms)
        message.sep = sep
        return message

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles rebuild from the key, not from the finished text.
        return _rebuild, (self.key, tuple(self.terms), self.sep, self.values)

    def in_lang(self, lang: str) -> str:
        values = {name: term(str(value), lang) if name in self.terms else value
                  for name, value in self.values.items()}
        return text(self.key, lang, **values)


def _rebuild(key: str, terms: tuple[str, ...], sep: str, values: dict[str, Any]) -> Message:
    return Message(key, terms=terms, sep=sep, **values)
