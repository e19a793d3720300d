"""Login and logout: the API's own session calls (throttling, audit, cookie), behind a form."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from .. import apicall, i18n
from ..blueprint import admin_blueprint
from ..errors import error_page
from ..web import (
    login_csrf_matches,
    login_csrf_token,
    principal_or_none,
    rotate_login_csrf,
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
    answer = apicall.call("POST", "/session", json={"name": name, "password": password})
    if answer.status == 429:
        seconds = (answer.error.get("details") or {}).get("retry_after", 60)
        throttled = _form(429, i18n.t("login.throttled", seconds=seconds), name)
        throttled.headers["Retry-After"] = str(seconds)
        return throttled
    if answer.status == 401:
        return _form(401, i18n.t("login.failed"), name)
    if not answer.ok:
        return _form(answer.status, i18n.localise(answer.message), name)
    rotate_login_csrf()
    response = redirect(safe_next(request.form.get("next")), 303)
    for cookie in answer.cookies():
        response.headers.add("Set-Cookie", cookie)
    return response  # type: ignore[return-value]


@admin_blueprint.post("/logout")
def logout() -> Response:
    answer = apicall.call("DELETE", "/session")
    response = redirect(url_for("admin.login"), 303)
    for cookie in answer.cookies():
        response.headers.add("Set-Cookie", cookie)
    g.principal = None
    flash(i18n.t("login.logged_out"), "info")
    return response  # type: ignore[return-value]
