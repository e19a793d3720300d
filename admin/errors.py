"""HTML error pages for the admin: readable words, the right status, never a traceback."""

from __future__ import annotations

import logging

from flask import Response, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from hub.errors import ApiError, service_unreachable

from . import i18n
from .blueprint import admin_blueprint

log = logging.getLogger("yunchu.admin")


def refused(err: ApiError) -> str:
    """What to say on the page about a refused service call, in the user's language. A 403
    shown on the form is still a denial: its code and action go into the audit entry."""
    g.error_code = err.code
    g.denied_action = err.details.get("action")
    if err.audited:
        g.audit_recorded = True
    return i18n.refusal(err)


def field_of(err: ApiError) -> str:
    """The request field a 422 names (details.field), or ""."""
    return str(err.details.get("field") or "")


def error_page(status: int, message: str | None = None, *, code: str | None = None) -> Response:
    g.error_code = code
    key = f"error.{status}"
    title = i18n.t(key) if i18n.lookup(key) is not None else i18n.t("error.title")
    if code == "csrf_failed":
        text = i18n.t("error.csrf")
    else:
        text = i18n.localise(message) if message else title
    body = render_template("admin/error.html", status=status, title=title, message=text)
    return Response(body, status=status, mimetype="text/html")


@admin_blueprint.errorhandler(ApiError)
def _api_error(err: ApiError) -> Response:
    if err.status == 401:
        return redirect(url_for("admin.login"), 303)  # type: ignore[return-value]
    log.info("%s %s -> %s %s", request.method, request.path, err.status, err.code)
    g.denied_action = err.details.get("action")
    if err.audited:
        g.audit_recorded = True
    return error_page(err.status, err.message, code=err.code)


@admin_blueprint.errorhandler(HTTPException)
def _http_error(err: HTTPException) -> Response:
    status = err.code or 500
    return error_page(status, i18n.t("error.not_found") if status == 404 else None)


@admin_blueprint.errorhandler(Exception)
def _unexpected(err: Exception) -> Response:
    unreachable = service_unreachable(err)
    if unreachable:
        log.warning("admin page %s %s -> 503 (%s unreachable)", request.method, request.path,
                    unreachable)
    else:
        log.exception("admin page failed: %s %s", request.method, request.path)
    try:
        if unreachable:
            return error_page(503, i18n.t("error.503"))
        return error_page(500, i18n.t("error.500"))
    except Exception:  # noqa: BLE001 - the error page itself must not fail into a traceback
        log.exception("could not render the admin error page")
        return Response(i18n.t("error.500"), status=500, mimetype="text/plain")
