"""/api/v1/items/<id>/push (and its preview), /dispatches, /items/<id>/withdraw, /withdrawals.
The rules are hub/services/fanout_actions.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify, request

from ..auth import current
from ..request_limits import bulk_json
from ..services import fanout_actions
from ..validation import json_body, limit_arg
from . import api
from .common import rt


@api.post("/items/<item_id>/push")
@bulk_json
def push_item(item_id: str):
    """Push an approved item to accounts (orgs, platforms, matrices, explicit ids)."""
    principal = current()
    fanout_actions.require_pusher(principal)  # before the body is read, as always
    body = json_body()
    return jsonify(fanout_actions.push(rt(), principal, item_id, body)), 202


@api.post("/items/<item_id>/push/preview")
@bulk_json
def preview_push(item_id: str):
    """What a push with these targets would do, without doing it: how many accounts, by
    platform, skipped (and why: accounts that cannot take the item, or already carry another
    item of its lineage), and already holding the item. The same checks as a push."""
    principal = current()
    fanout_actions.require_pusher(principal)
    body = json_body()
    return jsonify(fanout_actions.preview(rt(), principal, item_id, body))


@api.get("/dispatches/<dispatch_id>")
def get_dispatch(dispatch_id: str):
    """Progress of one push: counts by delivery state."""
    principal = current()
    with rt().db.session() as session:
        data = fanout_actions.dispatch(session, principal, dispatch_id)
    return jsonify(data)


@api.get("/dispatches/<dispatch_id>/deliveries")
def list_dispatch_deliveries(dispatch_id: str):
    """The deliveries of one push, filterable by state."""
    return _deliveries("dispatch", dispatch_id)


@api.get("/withdrawals/<withdrawal_id>/deliveries")
def list_withdrawal_deliveries(withdrawal_id: str):
    """The deliveries one withdrawal covers, filterable by state."""
    return _deliveries("withdrawal", withdrawal_id)


def _deliveries(kind: str, run_id: str):
    principal = current()
    state = request.args.get("state") or None
    fanout_actions.check_state(state)
    limit = limit_arg(default=100, maximum=1000)
    with rt().db.session() as session:
        items, next_cursor = fanout_actions.deliveries(
            session, principal, kind, run_id, state=state, limit=limit,
            cursor=request.args.get("cursor"))
    return jsonify({"items": items, "next_cursor": next_cursor})


@api.post("/items/<item_id>/withdraw")
def withdraw_item(item_id: str):
    """Withdraw an item (and every copy pulled from it) from every account and feed."""
    principal = current()
    body = json_body()
    return jsonify(fanout_actions.withdraw(rt(), principal, item_id, body)), 202


@api.get("/withdrawals/<withdrawal_id>")
def get_withdrawal(withdrawal_id: str):
    """Progress of one withdrawal: remaining counts down to zero."""
    principal = current()
    with rt().db.session() as session:
        data = fanout_actions.withdrawal(session, principal, withdrawal_id)
    return jsonify(data)
