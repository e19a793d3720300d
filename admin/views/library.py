"""云稿库 in the browser: approved shared items, searchable, and 转载 (pull) of one into an
org of one's own as a derived draft, with a localised title and summary if wanted. The pull
is the same service call as the API's POST /library/<id>/pull
(hub/services/library_actions.py); the editor lands on the new draft to edit and submit."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from hub.errors import ApiError
from hub.security.permissions import may
from hub.services import library_actions, org_actions

from .. import i18n
from ..blueprint import admin_blueprint
from ..errors import refused
from ..web import runtime

PAGE = 20


@admin_blueprint.get("/library")
def library() -> str:
    where = {"q": (request.args.get("q") or "").strip()[:100],
             "tag": (request.args.get("tag") or "").strip()[:20]}
    rows: list = []
    next_cursor = None
    with runtime().db.session() as db:
        try:
            rows, next_cursor = library_actions.list_page(
                db, g.principal, q=where["q"], tag=where["tag"], org=None, descendants=False,
                limit=PAGE, cursor=request.args.get("cursor"))
        except ApiError as err:
            if err.status in (401, 403, 404):
                raise
            flash(refused(err), "error")  # a search refused (e.g. too long a tag): list nothing
        orgs = org_actions.choices(db, g.principal)
    return render_template("admin/library.html", rows=rows, next_cursor=next_cursor,
                           where=where, orgs=orgs, may_pull=may(g.principal, "library.pull"))


@admin_blueprint.post("/library/<item_id>/pull")
def library_pull(item_id: str) -> Response:
    body = {name: value for name in ("org", "title", "summary")
            if (value := (request.form.get(name) or "").strip())}
    try:
        copy = library_actions.pull(runtime(), g.principal, item_id, body)
    except ApiError as err:
        if err.status in (401, 403):
            raise
        flash(refused(err), "error")
        return redirect(url_for("admin.library"), 303)  # type: ignore[return-value]
    flash(i18n.t("done.pulled"), "ok")
    return redirect(url_for("admin.item", item_id=copy["id"]), 303)  # type: ignore[return-value]
