"""Live progress of a push (dispatch) or a withdrawal: the page renders the API's counts and a
few lines of JavaScript poll the same API answer (with the session cookie) every second,
reloading the failure list (``failures``) whenever its counts move."""

from __future__ import annotations

from flask import render_template, request, url_for

from hub.fanout.progress import PROBLEM_STATES
from hub.models import DELIVERY_STATES, PLATFORMS

from .. import apicall, failure_list, queries
from ..blueprint import admin_blueprint
from ..web import runtime


def _page(kind: str, run_id: str, api_path: str) -> str:
    run = apicall.call("GET", api_path).raise_for_status().data
    where = failure_list.FailureFilter.from_args(kind, request.args)
    rows, next_cursor = failure_list.page(api_path, where)
    with runtime().db.session() as db:
        title = queries.item_title(db, run["item"])
    return render_template("admin/progress.html", kind=kind, run=run, title=title,
                           rows=rows, where=where,
                           links=failure_list.links(kind, run_id, where, next_cursor),
                           run_id=run_id,
                           problem_states=PROBLEM_STATES[kind], platforms=PLATFORMS,
                           states=DELIVERY_STATES,
                           source=url_for("api.get_dispatch" if kind == "dispatch"
                                          else "api.get_withdrawal",
                                          **{f"{kind}_id": run_id}))


@admin_blueprint.get("/dispatches/<dispatch_id>")
def dispatch(dispatch_id: str) -> str:
    return _page("dispatch", dispatch_id, f"/dispatches/{apicall.segment(dispatch_id)}")


@admin_blueprint.get("/withdrawals/<withdrawal_id>")
def withdrawal(withdrawal_id: str) -> str:
    return _page("withdrawal", withdrawal_id, f"/withdrawals/{apicall.segment(withdrawal_id)}")
