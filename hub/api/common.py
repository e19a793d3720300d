"""Small helpers the route modules share."""

from __future__ import annotations

from flask import current_app, request
from sqlalchemy.orm import Session

from ..auth import Principal
from ..runtime import Runtime
from ..services.paging import decode_cursor, encode_cursor, page
from ..services.scoping import scope_path


def rt() -> Runtime:
    return current_app.extensions["yunchu"]


def cursor_arg() -> str | None:
    return decode_cursor(request.args.get("cursor"))


def scope_arg(session: Session, principal: Principal, action: str) -> str | None:
    """The org path a list is limited to: ``?org=`` (which the caller must cover for
    ``action``), else the caller's own subtree (None: the whole province)."""
    return scope_path(session, principal, action, request.args.get("org"))


__all__ = ["cursor_arg", "encode_cursor", "page", "rt", "scope_arg"]
