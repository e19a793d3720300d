"""The failure list of a push or a withdrawal on its own: the fragment the progress page
reloads while the run goes on, the CSV export, and "retry the failed ones"."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for

from hub.fanout.progress import PROBLEM_STATES
from hub.models import PLATFORMS

from .. import apicall, failure_list, i18n
from ..blueprint import admin_blueprint

RUN_PATHS = {"dispatch": "/dispatches/", "withdrawal": "/withdrawals/"}


def _api_path(kind: str, run_id: str) -> str:
    return RUN_PATHS[kind] + apicall.segment(run_id)


def _fragment(kind: str, run_id: str) -> str:
    api_path = _api_path(kind, run_id)
    run = apicall.call("GET", api_path).raise_for_status().data
    where = failure_list.FailureFilter.from_args(kind, request.args)
    rows, next_cursor = failure_list.page(api_path, where)
    return render_template("admin/_failures.html", kind=kind, run=run, run_id=run_id,
                           rows=rows, where=where,
                           links=failure_list.links(kind, run_id, where, next_cursor),
                           problem_states=PROBLEM_STATES[kind], platforms=PLATFORMS)


def _csv(kind: str, run_id: str) -> Response:
    where = failure_list.FailureFilter.from_args(kind, request.args)
    text = failure_list.as_csv(failure_list.every_row(_api_path(kind, run_id), where))
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
    answer = apicall.call("POST", f"{_api_path('dispatch', dispatch_id)}/retry", json={})
    if answer.status in (401, 403, 404):
        raise answer.as_error()
    if answer.ok:
        flash(i18n.t("failures.retried", n=answer.data.get("retried", 0)), "ok")
    else:
        flash(i18n.refusal(answer), "error")
    return redirect(url_for("admin.dispatch", dispatch_id=dispatch_id),
                    303)  # type: ignore[return-value]
