"""Manual tasks (e.g. a post a platform cannot delete by API): the API's list, and "done"."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for

from .. import apicall, i18n
from ..blueprint import admin_blueprint

PAGE = 100


@admin_blueprint.get("/tasks")
def tasks() -> str:
    state = request.args.get("state", "open")
    state = state if state in ("open", "done") else "open"
    data = apicall.call("GET", "/tasks", query={
        "state": state, "limit": PAGE, "cursor": request.args.get("cursor") or None,
    }).raise_for_status().data
    return render_template("admin/tasks.html", rows=data.get("items", []), state=state,
                           next_cursor=data.get("next_cursor"))


@admin_blueprint.post("/tasks/<task_id>/done")
def task_done(task_id: str) -> Response:
    answer = apicall.call("POST", f"/tasks/{apicall.segment(task_id)}/done",
                          json={"note": request.form.get("note") or ""})
    if answer.status in (401, 403, 404):
        raise answer.as_error()
    if answer.ok:
        flash(i18n.t("done.task"), "ok")
    else:
        flash(i18n.refusal(answer), "error")
    return redirect(url_for("admin.tasks"), 303)  # type: ignore[return-value]
