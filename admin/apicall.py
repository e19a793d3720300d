"""The admin UI speaks the hub's HTTP API (docs/contract.md), in process.

Every state change the UI makes, and every read the API already offers, goes through the API's
own route: the same authentication (the browser's session cookie), CSRF check, permission and
org-scope rules, audit entries, queueing and error messages. Nothing is re-implemented here, so
the UI can never do what the API would refuse.

A call builds a WSGI environ for ``/api/v1/...`` from the browser's request (cookie, address,
scheme) and dispatches it through the Flask app inside a fresh application context, so the
inner request's ``g`` never leaks into the page being rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flask import current_app, g, request
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder

from hub.errors import ApiError
from hub.messages import Message
from hub.services.sessions import CSRF_HEADER

API_PREFIX = "/api/v1"
FORWARDED_HEADERS = ("Cookie", "Authorization", "User-Agent")


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    data: dict[str, Any]
    headers: Headers = field(repr=False)
    # The API's catalog message for an error (hub/messages.py): the same text as
    # ``error.message``, able to speak the user's language.
    catalog_message: Message | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> dict[str, Any]:
        error = self.data.get("error")
        return error if isinstance(error, dict) else {}

    @property
    def message(self) -> str:
        text = str(self.error.get("message") or "")
        return self.catalog_message if self.catalog_message == text else text

    @property
    def code(self) -> str:
        return str(self.error.get("code") or "")

    @property
    def field(self) -> str:
        """The request field a 422 names (details.field), or ""."""
        details = self.error.get("details")
        return str(details.get("field") or "") if isinstance(details, dict) else ""

    def as_error(self) -> ApiError:
        details = self.error.get("details")
        return ApiError(self.status, self.message or None, code=self.code or None,
                        details=details if isinstance(details, dict) else None)

    def raise_for_status(self) -> ApiAnswer:
        """This answer when it succeeded; else its error, to be shown as an error page."""
        if not self.ok:
            raise self.as_error()
        return self

    def cookies(self) -> list[str]:
        return self.headers.getlist("Set-Cookie")


def segment(value: str) -> str:
    """An id as one path segment: "?", "#" or "%" in it can never change the API path."""
    return quote(value, safe="")


def call(method: str, path: str, *, json: dict[str, Any] | None = None,
         query: dict[str, Any] | None = None, files: dict[str, Any] | None = None
         ) -> ApiAnswer:
    """Send ``method /api/v1<path>`` as the browser's user and return the decoded answer.
    ``files`` sends a multipart body instead of JSON: ``{"file": (stream, name, type)}``."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS
               if name in request.headers}
    csrf = getattr(g, "csrf_token", None)
    if method != "GET" and csrf:
        headers[CSRF_HEADER] = csrf
    clean_query = {k: v for k, v in (query or {}).items() if v not in (None, "")}
    builder = EnvironBuilder(path=API_PREFIX + path, method=method, json=json, data=files,
                             query_string=clean_query, headers=headers,
                             base_url=request.url_root,
                             environ_base={"REMOTE_ADDR": request.remote_addr or ""})
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    with app.app_context(), app.request_context(environ):
        response = app.full_dispatch_request()
    data = response.get_json(silent=True)
    answer = ApiAnswer(status=response.status_code,
                       data=data if isinstance(data, dict) else {},
                       headers=Headers(response.headers),
                       catalog_message=getattr(response, "api_message", None))
    response.close()
    if answer.status in (401, 403):
        g.audit_recorded = True  # the API wrote its own access.denied entry
    return answer
