"""People (用户管理): the users of the caller's subtree, a form that creates one with roles,
review stage and a first password, and switching a user off or on. The same service calls as
the API's /users routes (hub/services/user_actions.py): its scope, rules and audit apply."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from hub.errors import ApiError
from hub.models import ROLES
from hub.security.permissions import may
from hub.services import org_actions, user_actions

from .. import i18n
from ..blueprint import admin_blueprint
from ..errors import field_of, refused
from ..web import runtime

PAGE = 100


@admin_blueprint.get("/users")
def users() -> str:
    return _page({"name": "", "org": "", "roles": [], "review_stage": ""})


@admin_blueprint.post("/users")
def user_create() -> str | tuple[str, int]:
    _require_manager()
    form = request.form
    values: dict[str, Any] = {"name": form.get("name", "").strip(),
                              "org": form.get("org", "").strip(),
                              "roles": [r for r in form.getlist("roles") if r in ROLES],
                              "review_stage": form.get("review_stage", "")}
    body: dict[str, Any] = {"name": values["name"], "roles": values["roles"],
                            "password": form.get("password", "")}
    if values["org"]:
        body["org"] = values["org"]
    if values["review_stage"].isdigit():
        body["review_stage"] = int(values["review_stage"])
    try:
        with runtime().db.session() as db:
            created = user_actions.create(db, g.principal, body)
    except ApiError as err:
        # A reviewer appointment refused (it comes from the org above) is said on the form;
        # any other 401/403 is the error page.
        if err.status in (401, 403) and err.code != "review_grant_forbidden":
            raise
        flash(refused(err), "error")  # what was typed stays, the password excepted
        return _page(values, bad_field=field_of(err)), err.status
    # The API token is shown this once, on this page only (never in a flash or a log).
    return _page({"name": "", "org": "", "roles": [], "review_stage": ""}, created=created)


@admin_blueprint.post("/users/<user_id>/disabled")
def user_disable(user_id: str) -> Response:
    _require_manager()
    disabled = request.form.get("disabled") == "1"
    try:
        user = user_actions.update(runtime(), g.principal, user_id, {"disabled": disabled})
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        flash(refused(err), "error")
    else:
        flash(i18n.t("done.user_disabled" if disabled else "done.user_enabled",
                     name=user["name"]), "ok")
    return redirect(url_for("admin.users"), 303)  # type: ignore[return-value]


def _require_manager() -> None:
    if not may(g.principal, "user.manage"):
        abort(403)


def _page(values: dict[str, Any], *, bad_field: str = "",
          created: dict[str, Any] | None = None) -> str:
    with runtime().db.session() as db:
        rows, next_cursor = user_actions.list_page(db, g.principal, org=None, limit=PAGE,
                                                   cursor=request.args.get("cursor"))
        orgs = org_actions.choices(db, g.principal)
    return render_template("admin/users.html", rows=rows,
                           next_cursor=next_cursor, orgs=orgs, roles=ROLES,
                           values=values, bad_field=bad_field, created=created,
                           manage=may(g.principal, "user.manage"))
