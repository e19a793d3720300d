"""The failure list of a push or a withdrawal on its own: the fragment the progress page
reloads while the run goes on, the CSV export, and "retry the failed ones"."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from hub.errors import ApiError
from hub.fanout.progress import PROBLEM_STATES
from hub.platforms import names as platform_names
from hub.services import fanout_actions

from .. import failure_list, i18n
from ..blueprint import admin_blueprint
from ..errors import refused
from ..web import runtime


def progress_of(kind: str, run_id: str) -> dict:
    """The run's counts, from the same service as the API's progress."""
    read = fanout_actions.dispatch if kind == "dispatch" else fanout_actions.withdrawal
    with runtime().db.session() as db:
        return read(db, g.principal, run_id)


def _fragment(kind: str, run_id: str) -> str:
    run = progress_of(kind, run_id)
    where = failure_list.FailureFilter.from_args(kind, request.args)
    rows, next_cursor = failure_list.page(run_id, where)
    return render_template("admin/_failures.html", kind=kind, run=run, run_id=run_id,
                           rows=rows, where=where,
                           links=failure_list.links(kind, run_id, where, next_cursor),
                           problem_states=PROBLEM_STATES[kind], platforms=platform_names())


def _csv(kind: str, run_id: str) -> Response:
    progress_of(kind, run_id)  # the run exists and the caller may read it, before any row
    where = failure_list.FailureFilter.from_args(kind, request.args)
    text = failure_list.as_csv(failure_list.every_row(run_id, where))
    name = f"{kind}-{run_id}-failures.csv".replace('"', "")
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _register(kind: str, plural: str) -> None:
    """The fragment and the CSV of one kind of run, at /<plural>/<kind_id>/failures[.csv]."""
    key = f"{kind}_id"

    def fragment(**args: str) -> str:
        return _fragment(kind, args[key])

    def export(**args: str) -> Response:
        return _csv(kind, args[key])

    admin_blueprint.add_url_rule(f"/{plural}/<{key}>/failures", endpoint=f"{kind}_failures",
                                 view_func=fragment)
    admin_blueprint.add_url_rule(f"/{plural}/<{key}>/failures.csv",
                                 endpoint=f"{kind}_failures_csv", view_func=export)


_register("dispatch", "dispatches")
_register("withdrawal", "withdrawals")


@admin_blueprint.post("/dispatches/<dispatch_id>/retry")
def dispatch_retry(dispatch_id: str) -> Response:
    try:
        retried = fanout_actions.retry(runtime(), g.principal, dispatch_id)
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        flash(refused(err), "error")
    else:
        flash(i18n.t("failures.retried", n=retried.get("retried", 0)), "ok")
    return redirect(url_for("admin.dispatch", dispatch_id=dispatch_id),
                    303)  # type: ignore[return-value]
