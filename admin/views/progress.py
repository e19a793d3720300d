"""Live progress of a push (dispatch) or a withdrawal: the page renders the counts of the
same service as the API's (hub/services/fanout_actions.py), and a few lines of JavaScript poll
the API's answer (with the session cookie) every second."""

from __future__ import annotations

from flask import g, render_template, url_for

from hub.models import DELIVERY_STATES
from hub.services import fanout_actions
from hub.services.item_overview import item_title

from ..blueprint import admin_blueprint
from ..web import runtime

PROBLEMS = {"dispatch": ("failed", "retry", "unknown"),
            "withdrawal": ("manual", "withdraw_retry", "failed")}
PROBLEM_ROWS = 50


def _page(kind: str, run_id: str) -> str:
    progress = fanout_actions.dispatch if kind == "dispatch" else fanout_actions.withdrawal
    with runtime().db.session() as db:
        run = progress(db, g.principal, run_id)
        problems: list[dict] = []
        for state in PROBLEMS[kind]:
            if run["counts"].get(state):
                problems += fanout_actions.deliveries(db, g.principal, kind, run_id,
                                                      state=state, limit=PROBLEM_ROWS,
                                                      cursor=None)[0]
        title = item_title(db, run["item"])
    return render_template("admin/progress.html", kind=kind, run=run, title=title,
                           problems=problems[:PROBLEM_ROWS], states=DELIVERY_STATES,
                           source=url_for("api.get_dispatch" if kind == "dispatch"
                                          else "api.get_withdrawal",
                                          **{f"{kind}_id": run_id}))


@admin_blueprint.get("/dispatches/<dispatch_id>")
def dispatch(dispatch_id: str) -> str:
    return _page("dispatch", dispatch_id)


@admin_blueprint.get("/withdrawals/<withdrawal_id>")
def withdrawal(withdrawal_id: str) -> str:
    return _page("withdrawal", withdrawal_id)
