"""/api/v1/accounts, and /api/v1/inspection: how the ledger would fare in an inspection. The
rules are hub/services/account_actions.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify, request

from hub.errors import invalid
from hub.messages import Message
from hub.security.auth import current
from hub.services import account_actions
from hub.services import inspection as inspection_service
from hub.validation import json_body, limit_arg

from ..request_limits import bulk_json
from . import api
from .common import in_session, listing, rt


@api.post("/accounts")
def create_account():
    principal = current()
    body = json_body()
    runtime = rt()
    with runtime.db.session() as session:
        data = account_actions.create(runtime, session, principal, body)
    return jsonify(data), 201


@api.post("/accounts/import")
@bulk_json
def import_accounts():
    principal = current()
    account_actions.require_manager(principal)  # before the body is read, as always
    body = json_body()
    return jsonify(account_actions.import_all(rt(), principal, body.get("accounts")))


@api.get("/accounts")
def list_accounts():
    account_actions.require_reader(current())  # before the query is read, as always
    platform = request.args.get("platform") or None
    status = request.args.get("status") or None
    inspection = request.args.get("inspection") or None
    auth = request.args.get("auth") or None
    account_actions.check_filters(platform, status, inspection, auth)
    descendants = request.args.get("descendants", "0").lower() in {"1", "true", "yes"}
    window_days = window_days_arg()
    return listing(account_actions.list_page, platform=platform, status=status,
                   inspection=inspection, org=request.args.get("org"), descendants=descendants,
                   window_days=window_days, limit=limit_arg(default=100, maximum=1000),
                   auth=auth, expiring_days=rt().settings.auth_expiring_days)


@api.get("/accounts/authorization-summary")
def authorization_summary():
    """Token health of a subtree: accounts by authorisation state (authorized, expired,
    revoked, insufficient), how many expire within YUNCHU_AUTH_EXPIRING_DAYS, by mode."""
    account_actions.require_reader(current())
    return jsonify(in_session(account_actions.authorization_summary,
                              org=request.args.get("org"),
                              expiring_days=rt().settings.auth_expiring_days))


@api.get("/accounts/<account_id>")
def get_account(account_id: str):
    return jsonify(in_session(account_actions.get, account_id,
                              expiring_days=rt().settings.auth_expiring_days))


@api.patch("/accounts/<account_id>")
def patch_account(account_id: str):
    principal = current()
    body = json_body()
    runtime = rt()
    with runtime.db.session() as session:
        data = account_actions.update(runtime, session, principal, account_id, body)
    return jsonify(data)


@api.get("/inspection")
def inspection_summary():
    """How many accounts of a subtree would pass an inspection, and what fails the others:
    not updated in ``window_days`` (default 14), zombie (90 days), ledger incomplete,
    credentials rejected. Closed accounts are not inspected."""
    account_actions.require_reader(current())
    return jsonify(in_session(account_actions.inspection_summary, org=request.args.get("org"),
                              window_days=window_days_arg()))


def window_days_arg() -> int:
    raw = request.args.get("window_days")
    if raw is None:
        return inspection_service.WINDOW_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= inspection_service.MAX_WINDOW_DAYS:
        raise invalid("window_days", Message("accounts.window_days",
                                             most=inspection_service.MAX_WINDOW_DAYS))
    return int(raw)
