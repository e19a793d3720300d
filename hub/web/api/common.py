"""Small helpers the route modules share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from hub.infra.runtime import Runtime
from hub.security.auth import Principal, current
from hub.services.paging import decode_cursor, encode_cursor, page
from hub.services.scoping import scope_path

T = TypeVar("T")


def rt() -> Runtime:
    return current_app.extensions["yunchu"]


def cursor_arg() -> str | None:
    return decode_cursor(request.args.get("cursor"))


def scope_arg(session: Session, principal: Principal, action: str) -> str | None:
    """The org path a list is limited to: ``?org=`` (which the caller must cover for
    ``action``), else the caller's own subtree (None: the whole province)."""
    return scope_path(session, principal, action, request.args.get("org"))


def in_session(action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``action(session, principal, *args, **kwargs)`` for the caller, in one session: the
    shape of every route that hands a service call its database session and caller."""
    principal = current()
    with rt().db.session() as session:
        return action(session, principal, *args, **kwargs)


def listing(list_page: Callable[..., tuple[list[Any], str | None]], *, limit: int,
            **filters: Any) -> Response:
    """One page of a service's ``list_page`` as the API answers lists,
    ``{"items": [...], "next_cursor": ...}``; ``?cursor=`` is passed on as sent."""
    items, next_cursor = in_session(list_page, limit=limit, cursor=request.args.get("cursor"),
                                    **filters)
    return jsonify({"items": items, "next_cursor": next_cursor})


__all__ = ["cursor_arg", "encode_cursor", "in_session", "listing", "page", "rt", "scope_arg"]
