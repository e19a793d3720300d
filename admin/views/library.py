"""云稿库 in the browser: approved shared items, searchable, and 转载 (pull) of one into an
org of one's own as a derived draft, with a localised title and summary if wanted. The pull
goes through POST /library/<id>/pull; the editor lands on the new draft to edit and submit."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from hub.permissions import may

from .. import apicall, i18n, queries
from ..blueprint import admin_blueprint
from ..web import runtime

PAGE = 20


@admin_blueprint.get("/library")
def library() -> str:
    where = {"q": (request.args.get("q") or "").strip()[:100],
             "tag": (request.args.get("tag") or "").strip()[:20]}
    answer = apicall.call("GET", "/library", query={
        **where, "limit": PAGE, "cursor": request.args.get("cursor") or None})
    if answer.status in (401, 403, 404):
        raise answer.as_error()
    if not answer.ok:  # a search the API refuses (e.g. too long a tag): say so, list nothing
        flash(i18n.refusal(answer), "error")
    with runtime().db.session() as db:
        orgs = queries.org_choices(db, g.principal)
    return render_template("admin/library.html", rows=answer.data.get("items", []),
                           next_cursor=answer.data.get("next_cursor"), where=where,
                           orgs=orgs, may_pull=may(g.principal, "library.pull"))


@admin_blueprint.post("/library/<item_id>/pull")
def library_pull(item_id: str) -> Response:
    body = {name: value for name in ("org", "title", "summary")
            if (value := (request.form.get(name) or "").strip())}
    answer = apicall.call("POST", f"/library/{apicall.segment(item_id)}/pull", json=body)
    if answer.status in (401, 403):
        raise answer.as_error()
    if not answer.ok:
        flash(i18n.refusal(answer), "error")
        return redirect(url_for("admin.library"), 303)  # type: ignore[return-value]
    flash(i18n.t("done.pulled"), "ok")
    return redirect(url_for("admin.item", item_id=answer.data["id"]), 303)  # type: ignore[return-value]
