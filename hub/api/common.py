"""Small helpers the route modules share."""

from __future__ import annotations

import base64
import binascii

from flask import current_app, request

from ..errors import invalid
from ..runtime import Runtime


def rt() -> Runtime:
    return current_app.extensions["yunchu"]


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def cursor_arg() -> str | None:
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        value = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=True)
        return value.decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid("cursor", "cursor 无效 (cursor is not one this API returned)") from None


def page(rows: list, limit: int, key) -> tuple[list, str | None]:
    """Rows fetched with limit+1: the visible page and the next cursor."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(key(rows[-1]))
    return rows, None
