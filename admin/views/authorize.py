"""授权接入 (connect an account by the holder's consent) and 重新授权 in the browser: the same
service calls as the API (hub/services/authorization_actions.py). The platforms offered are
those with a starter in hub/services/onboarding/registry.py, so a platform whose starter is
registered there appears here with nothing else to change. The attempt page shows the link
and its QR code and polls GET /api/v1/authorizations/<id> until the attempt is final."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from hub.errors import ApiError
from hub.security.permissions import may
from hub.services import authorization_actions, org_actions

from ..blueprint import admin_blueprint
from ..errors import refused
from ..web import runtime


@admin_blueprint.get("/orgs/<slug>/authorize")
def authorize_start_page(slug: str) -> str:
    org = _org(slug)
    return render_template("admin/authorize.html", org=org,
                           platforms=authorization_actions.connectable(),
                           account_id=request.args.get("account_id") or "")


@admin_blueprint.post("/orgs/<slug>/authorize")
def authorize_start(slug: str) -> Response | tuple[str, int]:
    org = _org(slug)
    body: dict[str, Any] = {"platform": request.form.get("platform", "")}
    if request.form.get("account_id"):
        body["account_id"] = request.form["account_id"]
    try:
        with runtime().db.session() as db:
            attempt = authorization_actions.start(runtime(), db, g.principal, slug, body)
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        flash(refused(err), "error")
        return render_template("admin/authorize.html", org=org,
                               platforms=authorization_actions.connectable(),
                               account_id=body.get("account_id", "")), err.status
    return redirect(url_for("admin.authorize_attempt", attempt_id=attempt["id"]),
                    303)  # type: ignore[return-value]


@admin_blueprint.get("/authorizations/<attempt_id>")
def authorize_attempt(attempt_id: str) -> str:
    if not may(g.principal, "account.authorize"):
        abort(403)
    with runtime().db.session() as db:
        attempt = authorization_actions.get(runtime(), db, g.principal, attempt_id)
    return render_template("admin/authorize_attempt.html", attempt=attempt)


def _org(slug: str) -> dict[str, Any]:
    if not may(g.principal, "account.authorize"):
        abort(403)
    with runtime().db.session() as db:
        return org_actions.get(db, g.principal, slug)
