"""The admin UI's words, in Chinese (the default) and English, from gettext catalogs.

The catalogs are admin/translations/<lang>/LC_MESSAGES/messages.po (msgid = a dotted key such
as ``nav.items``; ``{name}`` placeholders), compiled when the app starts (hub/catalogs.py) and
served by Flask-Babel, whose locale is the request's language (?lang=, then the yunchu_lang
cookie, then Chinese). ``t(key)`` looks a key up; ``label(group, value)`` names an enum value
(msgid ``label.<group>.<value>``: an item status, a delivery state...); ``localise(message)``
shows an API error message in the request's language.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flask_babel
from babel.support import NullTranslations
from flask import Flask, current_app, g, has_request_context

from hub import catalogs
from hub.messages import Message
from hub.platforms import label as platform_label

if TYPE_CHECKING:
    from hub.errors import ApiError

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "yunchu_lang"

CATALOGS = Path(__file__).parent / "translations"
DOMAIN = "messages"

# The table the catalogs replaced, "key": ("中文", "English"). New words go into the .po files
# (tests/admin/test_catalogs.py keeps this empty); t() still reads an entry found here.
TEXT: dict[str, tuple[str, str]] = {}

# Groups still named in code rather than in the catalogs (platform names follow the platforms).
LABELS: dict[str, dict[str, tuple[str, str]]] = {}


def install(app: Flask) -> None:
    """Flask-Babel on ``app``: the request's language picks the catalog; templates get ``_``."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANG)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(catalogs.compiled(CATALOGS))
    flask_babel.Babel(app, locale_selector=current_lang)


def current_lang() -> str:
    lang = getattr(g, "lang", None) if has_request_context() else None
    return lang if lang in LANGS else DEFAULT_LANG


def lookup(key: str, lang: str | None = None) -> str | None:
    """The words for ``key`` in ``lang`` (default: the request's, through Flask-Babel), or None
    when no catalog has them."""
    catalog: NullTranslations
    if lang is None and has_request_context() and "babel" in current_app.extensions:
        catalog = flask_babel.get_translations()
    else:
        catalog = catalogs.translations(CATALOGS, lang or current_lang(), DOMAIN)
    text = catalog.gettext(key)
    if text != key:
        return text
    pair = TEXT.get(key)
    return pair[LANGS.index(lang or current_lang())] if pair else None


def t(key: str, **values: Any) -> str:
    text = lookup(key)
    if text is None:
        return key
    return text.format(**values) if values else text


def label(group: str, value: Any) -> str:
    if group == "platform":  # each platform names itself in its spec (adapters/spec.py)
        return "" if value is None else platform_label(str(value), current_lang())
    pair = LABELS.get(group, {}).get(str(value))
    if pair is not None:
        return pair[LANGS.index(current_lang())]
    text = lookup(f"label.{group}.{value}")
    if text is None:
        return "" if value is None else str(value)
    return text


_BILINGUAL = re.compile(r"^(?P<zh>.*?\S)\s+\((?P<en>[^()]*[A-Za-z][^()]*)\)\s*$", re.S)


def refusal(answer: ApiError) -> str:
    """What to tell the user about a refused call: its message in their language, or
    the generic text of its status."""
    return localise(answer.message) or t(f"error.{answer.status}")


def localise(message: str | None) -> str:
    """An API message in the request's language: a catalog ``Message`` speaks it directly;
    text that only exists as "中文 (English)" (stored delivery errors, messages not yet in the
    API catalog) is split."""
    if not message:
        return ""
    if isinstance(message, Message):
        return message.in_lang(current_lang())
    match = _BILINGUAL.match(message)
    if match is None:
        return message
    if current_lang() == "zh":
        return match["zh"]
    return match["en"] if match["en"].isascii() else message
