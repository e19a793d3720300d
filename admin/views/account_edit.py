"""Editing one account of the ledger (统一台账) in the browser: its name, status (with a
reason) and the ledger's responsibility fields. The same service call as the API's PATCH
/accounts/<id> (hub/services/account_actions.py), so its rules, scope and audit apply;
credentials are not edited here (they are never shown)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from hub.errors import ApiError
from hub.models import ACCOUNT_STATUSES
from hub.security.permissions import may
from hub.services import account_actions, authorization_actions

from .. import i18n
from ..blueprint import admin_blueprint
from ..errors import field_of, refused
from ..web import runtime

FIELDS = ("name", "status_reason", "responsible_person", "chief_editor",
          "managing_department", "filing_number", "filing_date")


@admin_blueprint.get("/accounts/<account_id>/edit")
def account_edit(account_id: str) -> str:
    account = _account(account_id)
    values = {name: account.get(name) or "" for name in FIELDS}
    values["status"] = account["status"]
    return _form(account, values)


@admin_blueprint.post("/accounts/<account_id>/edit")
def account_update(account_id: str) -> Response | tuple[str, int]:
    account = _account(account_id)
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    values["status"] = request.form.get("status", "")
    body: dict[str, Any] = {name: values[name] for name in FIELDS}
    # The API keeps a reason with a status: both go together, empty meaning none.
    body.update(status=values["status"], status_reason=values["status_reason"] or None,
                filing_date=values["filing_date"] or None)
    try:
        with runtime().db.session() as db:
            account_actions.update(runtime(), db, g.principal, account_id, body)
    except ApiError as err:
        if err.status in (401, 403, 404):
            raise
        flash(refused(err), "error")
        return _form(account, values, field_of(err)), err.status
    flash(i18n.t("done.account_saved"), "ok")
    return redirect(url_for("admin.accounts", org=account["org"]), 303)  # type: ignore[return-value]


def _account(account_id: str) -> dict[str, Any]:
    """The account, for someone who may manage accounts (the org is checked on save)."""
    if not may(g.principal, "account.manage"):
        abort(403)
    with runtime().db.session() as db:
        return account_actions.get(db, g.principal, account_id,
                                   expiring_days=runtime().settings.auth_expiring_days)


def _form(account: dict[str, Any], values: dict[str, Any], field: str = "") -> str:
    return render_template("admin/account_edit.html", account=account, values=values,
                           statuses=ACCOUNT_STATUSES, bad_field=field,
                           connectable=authorization_actions.connectable())
