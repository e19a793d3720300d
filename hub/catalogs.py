"""Gettext message catalogs: kept in the repo as .po text, compiled to .mo when a process first
needs them.

The .po files are the only source (no compiled files in git to fall out of step or to merge);
compiling a few hundred messages takes milliseconds. The compiled tree is written once per
process to a private temporary directory laid out as ``<lang>/LC_MESSAGES/<domain>.mo``, the
layout gettext and Flask-Babel read.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGS = ("zh", "en")


def po_files(source: Path) -> list[Path]:
    """Every catalog under ``source`` (``<lang>/LC_MESSAGES/<domain>.po``)."""
    return sorted(source.glob("*/LC_MESSAGES/*.po"))


def read_entries(po_file: Path) -> dict[str, str]:
    """msgid -> msgstr of one catalog, untranslated entries included (as "")."""
    with po_file.open("rb") as handle:
        catalog = read_po(handle)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str)}


@cache
def compiled(source: Path) -> Path:
    """A directory holding every catalog under ``source`` compiled to .mo."""
    target = Path(tempfile.mkdtemp(prefix="yunchu-catalogs-"))
    atexit.register(_remove, target, os.getpid())
    for po_file in po_files(source):
        with po_file.open("rb") as handle:
            catalog = read_po(handle)
        mo_file = target / po_file.relative_to(source).with_suffix(".mo")
        mo_file.parent.mkdir(parents=True, exist_ok=True)
        with mo_file.open("wb") as handle:
            write_mo(handle, catalog)
    return target


def _remove(target: Path, owner: int) -> None:
    # Forked workers (gunicorn) share the directory and read it lazily: only its creator removes it.
    if os.getpid() == owner:
        shutil.rmtree(target, ignore_errors=True)


@cache
def translations(source: Path, lang: str, domain: str) -> NullTranslations:
    """The ``domain`` catalog of ``lang`` under ``source``; a missing msgid reads as itself."""
    return Translations.load(str(compiled(source)), [lang], domain)
