"""Login and logout: the same session service as the API's /session (throttling, audit,
cookie; hub/services/session_actions.py), behind a form."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from hub.errors import ApiError
from hub.services import session_actions
from hub.services.cookies import clear_session_cookie, set_session_cookie
from hub.services.sessions import COOKIE

from .. import i18n
from ..blueprint import admin_blueprint
from ..errors import error_page
from ..web import (
    login_csrf_matches,
    login_csrf_token,
    principal_or_none,
    rotate_login_csrf,
    runtime,
    safe_next,
)


def _form(status: int = 200, error: str | None = None, name: str = "") -> Response:
    body = render_template("admin/login.html", error=error, name=name,
                           login_csrf=login_csrf_token(), next=request.values.get("next", ""))
    return Response(body, status=status, mimetype="text/html")


@admin_blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response:
    """The login form (GET) and its submission (POST); public, guarded by its own CSRF token."""
    if request.method == "POST":
        return _submit()
    if principal_or_none() is not None:
        return redirect(safe_next(request.args.get("next")), 303)  # type: ignore[return-value]
    return _form()


def _submit() -> Response:
    if not login_csrf_matches(request.form.get("csrf_token")):
        return error_page(403, code="csrf_failed")
    name = (request.form.get("name") or "").strip()
    password = request.form.get("password") or ""
    if not name or not password:
        return _form(422, i18n.t("login.missing"), name)
    try:
        done = session_actions.log_in(runtime(), {"name": name, "password": password},
                                      request.remote_addr)
    except ApiError as err:
        if err.status == 429:
            seconds = err.details.get("retry_after", 60)
            throttled = _form(429, i18n.t("login.throttled", seconds=seconds), name)
            throttled.headers["Retry-After"] = str(seconds)
            return throttled
        if err.status == 401:
            return _form(401, i18n.t("login.failed"), name)
        return _form(err.status, i18n.localise(err.message), name)
    rotate_login_csrf()
    response = redirect(safe_next(request.form.get("next")), 303)
    set_session_cookie(response, runtime().settings, done.session_id)
    return response  # type: ignore[return-value]


@admin_blueprint.post("/logout")
def logout() -> Response:
    session_actions.log_out(runtime(), g.principal, request.cookies.get(COOKIE, ""))
    response = redirect(url_for("admin.login"), 303)
    clear_session_cookie(response, runtime().settings)
    g.principal = None
    flash(i18n.t("login.logged_out"), "info")
    return response  # type: ignore[return-value]
