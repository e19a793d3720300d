"""Live progress of a push (dispatch) or a withdrawal: the page renders the counts of the
same service as the API's (hub/services/fanout_actions.py), and a few lines of JavaScript poll
the API's answer (with the session cookie) every second, reloading the failure list
(``failures``) whenever its counts move."""

from __future__ import annotations

from flask import render_template, request, url_for

from hub.fanout.progress import PROBLEM_STATES
from hub.models import DELIVERY_STATES
from hub.platforms import names as platform_names
from hub.services.item_overview import item_title

from .. import failure_list
from ..blueprint import admin_blueprint
from ..web import runtime
from .failures import progress_of


def _page(kind: str, run_id: str) -> str:
    run = progress_of(kind, run_id)
    where = failure_list.FailureFilter.from_args(kind, request.args)
    rows, next_cursor = failure_list.page(run_id, where)
    with runtime().db.session() as db:
        title = item_title(db, run["item"])
    return render_template("admin/progress.html", kind=kind, run=run, title=title,
                           rows=rows, where=where,
                           links=failure_list.links(kind, run_id, where, next_cursor),
                           run_id=run_id,
                           problem_states=PROBLEM_STATES[kind], platforms=platform_names(),
                           states=DELIVERY_STATES,
                           source=url_for("api.get_dispatch" if kind == "dispatch"
                                          else "api.get_withdrawal",
                                          **{f"{kind}_id": run_id}))


@admin_blueprint.get("/dispatches/<dispatch_id>")
def dispatch(dispatch_id: str) -> str:
    return _page("dispatch", dispatch_id)


@admin_blueprint.get("/withdrawals/<withdrawal_id>")
def withdrawal(withdrawal_id: str) -> str:
    return _page("withdrawal", withdrawal_id)
