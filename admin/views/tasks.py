"""Manual tasks (e.g. a post a platform cannot delete by API): the list, and "done". The same
service calls as the API's /tasks (hub/services/tasks.py)."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from hub.errors import ApiError
from hub.services import tasks as task_service

from .. import i18n
from ..blueprint import admin_blueprint
from ..errors import refused
from ..web import runtime

PAGE = 100


@admin_blueprint.get("/tasks")
def tasks() -> str:
    state = request.args.get("state", "open")
    state = state if state in task_service.STATES else "open"
    with runtime().db.session() as db:
        rows, next_cursor = task_service.list_page(db, g.principal, state=state, org=None,
                                                   limit=PAGE,
                                                   cursor=request.args.get("cursor"))
    return render_template("admin/tasks.html", rows=rows, state=state, next_cursor=next_cursor)


@admin_blueprint.post("/tasks/<task_id>/done")
def task_done(task_id: str) -> Response:
    try:
        with runtime().db.session() as db:
            task_service.mark_done(db, g.principal, task_id, request.form.get("note") or "")
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        flash(refused(err), "error")
    else:
        flash(i18n.t("done.task"), "ok")
    return redirect(url_for("admin.tasks"), 303)  # type: ignore[return-value]
