"""Editing one account of the ledger (统一台账) in the browser: its name, status (with a
reason) and the ledger's responsibility fields. Through PATCH /accounts/<id>, so the API's
rules, scope and audit apply; credentials are not edited here (the API never shows them)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from hub.models import ACCOUNT_STATUSES
from hub.permissions import may

from .. import apicall, i18n
from ..blueprint import admin_blueprint

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
    answer = apicall.call("PATCH", f"/accounts/{apicall.segment(account_id)}", json=body)
    if answer.status in (401, 403, 404):
        raise answer.as_error()
    if not answer.ok:
        flash(i18n.refusal(answer), "error")
        return _form(account, values, answer.field), answer.status
    flash(i18n.t("done.account_saved"), "ok")
    return redirect(url_for("admin.accounts", org=account["org"]), 303)  # type: ignore[return-value]


def _account(account_id: str) -> dict[str, Any]:
    """The account, for someone who may manage accounts (the API checks the org on save)."""
    if not may(g.principal, "account.manage"):
        abort(403)
    account = apicall.call("GET", f"/accounts/{apicall.segment(account_id)}")
    return account.raise_for_status().data


def _form(account: dict[str, Any], values: dict[str, Any], field: str = "") -> str:
    return render_template("admin/account_edit.html", account=account, values=values,
                           statuses=ACCOUNT_STATUSES, bad_field=field)
