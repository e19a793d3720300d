"""The request-body policy, applied to every request before any view reads it.

- Size: a route reads at most ``max_json_bytes`` (1 MiB), except routes marked here:
  ``@bulk_json`` (``max_bulk_json_bytes``: authenticated routes whose documented lists run to
  tens of thousands, such as the org and account imports, push targets of 100,000 accounts,
  matrices, safety term lists and 200,000-character item bodies) and ``@upload`` (multipart
  media and import files, ``max_upload_bytes``). Every marked route authenticates before it
  reads its body, so an anonymous client never gets more than the small cap. A declared Content-Length over the
  cap is a 413 before a byte is read. A body without one (chunked) is read through werkzeug's
  limited stream (``request.max_content_length``), which stops at the cap: ``read_body`` lets it
  read one byte more, so that a body past the cap is a 413 rather than silently cut short.
- Text: a path segment, query parameter or urlencoded form field holding NUL or a lone
  surrogate is a 422 naming it, before it can reach a database that cannot store it.

JSON bodies get the same text rule, and a depth limit, from :mod:`hub.json_input`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from flask import Flask, g, request

from ..errors import ApiError
from ..infra.config import Settings
from ..json_input import UNSTORABLE, unstorable_text
from ..messages import Message

View = TypeVar("View", bound=Callable)

_MARK = "yunchu_body_limit"
_FORM_TYPE = "application/x-www-form-urlencoded"


def upload(view: View) -> View:
    """Mark a view that takes a multipart upload: it may read up to max_upload_bytes."""
    setattr(view, _MARK, "upload")
    return view


def bulk_json(view: View) -> View:
    """Mark an authenticated route with long lists: its JSON body may be up to
    max_bulk_json_bytes. Its view must authenticate (``current()``) before reading the body."""
    setattr(view, _MARK, "bulk")
    return view


def limit_for(settings: Settings, view: Callable | None) -> int:
    mark = getattr(view, _MARK, None)
    if mark == "upload":
        return settings.max_upload_bytes
    if mark == "bulk":
        return settings.max_bulk_json_bytes
    return settings.max_json_bytes


def install(app: Flask, settings: Settings) -> None:
    app.config["MAX_CONTENT_LENGTH"] = settings.max_json_bytes  # for anything unrouted

    @app.before_request
    def _request_policy() -> None:
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        limit = limit_for(settings, view)
        g.body_limit = limit
        request.max_content_length = limit + 1  # one byte past the cap tells "too large"
        if request.content_length is not None and request.content_length > limit:
            raise too_large(limit)
        _refuse_unstorable(request.view_args.items() if request.view_args else ())
        _refuse_unstorable(request.args.items(multi=True))
        if request.mimetype == _FORM_TYPE:
            _refuse_unstorable(request.form.items(multi=True))


def too_large(limit: int) -> ApiError:
    return ApiError(413, Message("request.too_large", limit=limit),
                    code="too_large", details={"max_bytes": limit})


def read_body() -> bytes:
    """The request body, at most this route's cap (413 past it, chunked bodies included)."""
    raw = request.get_data(cache=True)
    limit = getattr(g, "body_limit", None)
    if limit is not None and len(raw) > limit:
        raise too_large(limit)
    return raw


def _refuse_unstorable(pairs: Iterable[tuple[str, object]]) -> None:
    for name, value in pairs:
        if UNSTORABLE.search(name):
            raise unstorable_text("parameter name")
        if isinstance(value, str) and UNSTORABLE.search(value):
            raise unstorable_text(name)
