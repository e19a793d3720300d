"""Live progress of a push (dispatch) or a withdrawal: the page renders the API's counts and a
few lines of JavaScript poll the same API answer (with the session cookie) every second."""

from __future__ import annotations

from flask import render_template, url_for

from hub.models import DELIVERY_STATES
from hub.services.item_overview import item_title

from .. import apicall
from ..blueprint import admin_blueprint
from ..web import runtime

PROBLEMS = {"dispatch": ("failed", "retry", "unknown"),
            "withdrawal": ("manual", "withdraw_retry", "failed")}
PROBLEM_ROWS = 50


def _page(kind: str, run_id: str, api_path: str) -> str:
    run = apicall.call("GET", api_path).raise_for_status().data
    problems: list[dict] = []
    for state in PROBLEMS[kind]:
        if run["counts"].get(state):
            answer = apicall.call("GET", f"{api_path}/deliveries",
                                  query={"state": state, "limit": PROBLEM_ROWS})
            problems += answer.data.get("items", []) if answer.ok else []
    with runtime().db.session() as db:
        title = item_title(db, run["item"])
    return render_template("admin/progress.html", kind=kind, run=run, title=title,
                           problems=problems[:PROBLEM_ROWS], states=DELIVERY_STATES,
                           source=url_for("api.get_dispatch" if kind == "dispatch"
                                          else "api.get_withdrawal",
                                          **{f"{kind}_id": run_id}))


@admin_blueprint.get("/dispatches/<dispatch_id>")
def dispatch(dispatch_id: str) -> str:
    return _page("dispatch", dispatch_id, f"/dispatches/{apicall.segment(dispatch_id)}")


@admin_blueprint.get("/withdrawals/<withdrawal_id>")
def withdrawal(withdrawal_id: str) -> str:
    return _page("withdrawal", withdrawal_id, f"/withdrawals/{apicall.segment(withdrawal_id)}")
