"""Changing one's own password: the same service as the API's ``POST /session/password``
(hub/services/session_actions.py: the check of the current password, throttle and audit)
behind a form. Success ends every session of the user,
this one included, so the page sends them to sign in again with the new password."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from hub.errors import ApiError
from hub.services import session_actions

from .. import i18n
from ..blueprint import admin_blueprint
from ..errors import refused
from ..web import runtime


def _form(status: int = 200, error: str | None = None) -> Response:
    return Response(render_template("admin/password.html", error=error), status=status,
                    mimetype="text/html")


@admin_blueprint.route("/password", methods=["GET", "POST"])
def password() -> Response:
    if request.method == "GET":
        return _form()
    current = request.form.get("current_password") or ""
    new = request.form.get("new_password") or ""
    if not current or not new:
        return _form(422, i18n.t("password.missing"))
    if new != (request.form.get("new_password2") or ""):
        return _form(422, i18n.t("password.mismatch"))
    try:
        session_actions.change_password(runtime(), g.principal,
                                        {"current_password": current, "new_password": new},
                                        request.remote_addr)
    except ApiError as err:
        if err.code == "wrong_password":
            refused(err)  # already audited as a failed password change
            return _form(403, i18n.t("password.wrong"))
        if err.status == 429:
            seconds = err.details.get("retry_after", 60)
            throttled = _form(429, i18n.t("login.throttled", seconds=seconds))
            throttled.headers["Retry-After"] = str(seconds)
            return throttled
        return _form(err.status, refused(err))
    flash(i18n.t("password.changed"), "ok")
    return redirect(url_for("admin.login"), 303)  # type: ignore[return-value]
