"""Small helpers the route modules share."""

from __future__ import annotations

import base64
import binascii

from flask import current_app, request
from sqlalchemy.orm import Session

from ..auth import Principal
from ..errors import invalid
from ..messages import Message
from ..permissions import require
from ..runtime import Runtime
from ..services import orgs as org_service


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
        decoded = value.decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid("cursor", Message("library.cursor")) from None
    if "\x00" in decoded:  # a cursor this API wrote never has one; a database cannot hold it
        raise invalid("cursor", Message("library.cursor"))
    return decoded


def page(rows: list, limit: int, key) -> tuple[list, str | None]:
    """Rows fetched with limit+1: the visible page and the next cursor."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(key(rows[-1]))
    return rows, None


def scope_arg(session: Session, principal: Principal, action: str) -> str | None:
    """The org path a list is limited to: ``?org=`` (which the caller must cover for
    ``action``), else the caller's own subtree (None: the whole province)."""
    if not request.args.get("org"):
        return principal.org_path
    org = org_service.get_by_slug(session, request.args["org"])
    require(principal, action, org_path=org.path)
    return org.path

