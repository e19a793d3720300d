"""The one error shape of the API (docs/contract.md), and the handlers that guarantee it (never a traceback)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .messages import Message

log = logging.getLogger("yunchu.api")

_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "throttled",
}


def default_message(status: int) -> Message | None:
    """The catalog's message (``status.<status>``) for a bare status; None past the table."""
    return Message(f"status.{status}") if status in _DEFAULT_CODES else None


class ApiError(Exception):
    """A refusal in the one error shape. ``audited``: its audit entry is already written (a
    failed login, a wrong current password), so no ``access.denied`` entry is added for it."""

    def __init__(self, status: int, message: str | None = None, *, code: str | None = None,
                 details: dict[str, Any] | None = None, audited: bool = False):
        message = message or default_message(status) or "error"
        super().__init__(message)
        self.audited = audited
        self.status = status
        self.code = code or _DEFAULT_CODES.get(status, "error")
        self.message = message
        self.details = details or {}


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, message, details=details)


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, Message("not_found", terms=("what",), what=what, id=ident),
                    details={"id": ident})


# A 422 about unknown ids names this many at most; ``unknown_count`` says how many there were.
NAMED_UNKNOWN = 1_000


def invalid(field: str, message: str, **details: Any) -> ApiError:
    return ApiError(422, message, code="invalid", details={"field": field, **details})


def conflict(message: str, code: str = "conflict", **details: Any) -> ApiError:
    return ApiError(409, message, code=code, details=details)


def error_response(err: ApiError) -> Response:
    body = {"error": {"code": err.code, "message": str(err.message), "details": err.details}}
    response = jsonify(body)
    response.status_code = err.status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        log.info("%s %s -> %s %s", request.method, request.path, err.status, err.code)
        if err.audited:
            g.audit_recorded = True
        return error_response(err)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        status = err.code or 500
        if status >= 500:
            log.error("%s %s -> %s", request.method, request.path, status)
        else:
            log.info("%s %s -> %s", request.method, request.path, status)
        message = default_message(status) or err.description or "error"
        return error_response(ApiError(status, message))

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        if service_unreachable(err):
            # PostgreSQL restarting or Redis away: the request may simply be sent again.
            log.warning("%s %s -> 503 (%s unreachable: %s)", request.method, request.path,
                        service_unreachable(err), type(err).__name__)
            response = error_response(ApiError(503, Message("unavailable"), code="unavailable"))
            response.headers["Retry-After"] = "1"
            return response
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(ApiError(500, Message("internal"), code="internal"))


# SQLSTATE classes of a lost or refused connection: 08 connection exception, 57P01–57P03
# the server shutting down or starting up.
_PG_UNREACHABLE = ("08", "57P01", "57P02", "57P03")


def service_unreachable(err: BaseException) -> str | None:
    """"database" or "redis" when ``err`` says that service could not be reached, not that
    the request was wrong."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError

    if isinstance(err, RedisConnectionError | RedisTimeoutError):
        return "redis"
    if isinstance(err, DBAPIError):
        if err.connection_invalidated:
            return "database"
        state = getattr(err.orig, "sqlstate", None)
        if state is None and type(err.orig).__name__ == "OperationalError":
            return "database"  # refused before any server answered
        if state and state.startswith(_PG_UNREACHABLE):
            return "database"
    return None
