"""Cursor pages shared by the API and the admin UI: opaque cursors, and rows fetched limit+1."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from ..errors import invalid
from ..messages import Message

BAD_CURSOR = Message("library.cursor")


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> str | None:
    """The key a cursor of ``encode_cursor`` carries; None when there is none. 422 otherwise."""
    if not raw:
        return None
    try:
        value = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=True)
        decoded = value.decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid("cursor", BAD_CURSOR) from None
    if "\x00" in decoded:  # a cursor this API wrote never has one; a database cannot hold it
        raise invalid("cursor", BAD_CURSOR)
    return decoded


def page(rows: list, limit: int, key: Callable[[Any], str]) -> tuple[list, str | None]:
    """Rows fetched with limit+1: the visible page and the next cursor."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(key(rows[-1]))
    return rows, None


def keyset_page(session: Session, query: Select, key: Any, *, limit: int,
                after: str | None) -> tuple[list, str | None]:
    """One page of ``query``'s rows by ``key`` (a unique column, the first entity's), those
    after ``after``, and the next cursor."""
    if after:
        query = query.where(key > after)
    rows = session.execute(query.order_by(key).limit(limit + 1)).all()
    return page(rows, limit, lambda r: getattr(r[0], key.key))
