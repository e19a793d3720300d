"""/api/v1/items/<id>/push (and its preview), /dispatches (and their retry),
/items/<id>/withdraw (and its preview), /withdrawals.
The rules are hub/services/fanout_actions.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify, request

from hub.security.auth import current
from hub.services import fanout_actions
from hub.validation import json_body, limit_arg

from ..request_limits import bulk_json
from . import api
from .common import in_session, rt


@api.post("/items/<item_id>/push")
@bulk_json
def push_item(item_id: str):
    """Push an approved item to accounts (orgs, platforms, matrices, explicit ids).
    With ``expected_total``, only if the push covers exactly that many accounts (else 409)."""
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
    return jsonify(in_session(fanout_actions.dispatch, dispatch_id))


@api.get("/dispatches/<dispatch_id>/deliveries")
def list_dispatch_deliveries(dispatch_id: str):
    """The deliveries of one push, filterable by state, error kind and platform."""
    return _deliveries("dispatch", dispatch_id)


@api.get("/withdrawals/<withdrawal_id>/deliveries")
def list_withdrawal_deliveries(withdrawal_id: str):
    """The deliveries one withdrawal covers, filterable by state, error kind and platform."""
    return _deliveries("withdrawal", withdrawal_id)


def _deliveries(kind: str, run_id: str):
    principal = current()
    # One state, or several separated by commas (a failure list covers failed and retry).
    states = [s for s in (request.args.get("state") or "").split(",") if s]
    platform = request.args.get("platform") or None
    fanout_actions.check_filters(states, platform)
    error_kind = (request.args.get("error_kind") or "")[:32] or None
    limit = limit_arg(default=100, maximum=1000)
    with rt().db.session() as session:
        items, next_cursor = fanout_actions.deliveries(
            session, principal, kind, run_id, states=states, limit=limit,
            cursor=request.args.get("cursor"), error_kind=error_kind, platform=platform)
    return jsonify({"items": items, "next_cursor": next_cursor})


@api.post("/items/<item_id>/withdraw")
def withdraw_item(item_id: str):
    """Withdraw an item (and every copy pulled from it) from every account and feed.
    With ``expected_total``, only if it covers exactly that many deliveries (else 409)."""
    principal = current()
    body = json_body()
    return jsonify(fanout_actions.withdraw(rt(), principal, item_id, body)), 202


@api.post("/items/<item_id>/withdraw/preview")
def preview_withdraw(item_id: str):
    """What a withdrawal by this caller would do, without doing it: copies to remove by
    platform, sends to cancel, items covered; ``total`` is what ``expected_total`` confirms."""
    return jsonify(fanout_actions.withdraw_preview(rt(), current(), item_id))


@api.post("/dispatches/<dispatch_id>/retry")
def retry_dispatch(dispatch_id: str):
    """Queue a push's failed deliveries again where the cause was passing (platform
    unreachable, rate limited); other failures need a fix first and are left as they are."""
    return jsonify(fanout_actions.retry(rt(), current(), dispatch_id)), 202


@api.get("/withdrawals/<withdrawal_id>")
def get_withdrawal(withdrawal_id: str):
    """Progress of one withdrawal: remaining counts down to zero."""
    return jsonify(in_session(fanout_actions.withdrawal, withdrawal_id))
