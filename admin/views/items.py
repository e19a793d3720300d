"""Items: the list, one item's page, and its actions (submit, review, push, withdraw), each
action one service call (hub/services/item_actions.py, fanout_actions.py) whose refusal is
shown to the editor in words."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from hub.errors import ApiError
from hub.models import ITEM_STATUSES
from hub.platforms import names as platform_names
from hub.security.permissions import may
from hub.services import fanout_actions, item_actions, item_overview, org_actions
from hub.services import matrices as matrix_service

from .. import confirmation, i18n
from ..blueprint import admin_blueprint
from ..errors import refused
from ..push_targets import PushChoice
from ..web import runtime

MATRIX_CHOICES = 200


@admin_blueprint.get("/items")
def items() -> str:
    status = request.args.get("status") or None
    where = item_overview.ItemFilter(status=status if status in ITEM_STATUSES else None,
                                     q=(request.args.get("q") or "").strip()[:100] or None,
                                     org=(request.args.get("org") or "").strip() or None,
                                     before=request.args.get("before") or None)
    with runtime().db.session() as db:
        rows, next_before = item_overview.items_page(db, g.principal, where)
        orgs = org_actions.choices(db, g.principal)
    return render_template("admin/items.html", rows=rows, where=where, next_before=next_before,
                           statuses=ITEM_STATUSES, orgs=orgs)


@admin_blueprint.get("/items/<item_id>")
def item(item_id: str) -> str:
    return _item_page(item_id, PushChoice())


def _item_page(item_id: str, push: PushChoice, preview: dict | None = None,
               withdraw: dict | None = None) -> str:
    with runtime().db.session() as db:
        data = item_actions.get(db, g.principal, item_id)
        history = item_overview.item_history(db, g.principal, item_id)
        scope_orgs = org_actions.whole_scope(db, g.principal)
        org_choices = org_actions.choices(db, g.principal)
    actions = _actions(data, history)
    return render_template("admin/item.html", item=data, history=history, actions=actions,
                           scope_orgs=scope_orgs, org_choices=org_choices, push=push,
                           platforms=platform_names(), preview=preview, withdraw=withdraw,
                           confirm_threshold=confirmation.threshold(),
                           matrices=_matrices() if actions["push"] else [])


def _matrices() -> list[dict]:
    """The matrices a push may name (the first page; more are reachable by the API)."""
    try:
        with runtime().db.session() as db:
            return matrix_service.list_page(db, g.principal, limit=MATRIX_CHOICES,
                                            cursor=None)[0]
    except ApiError:
        return []


def _actions(data: dict, history: item_overview.ItemHistory) -> dict[str, bool]:
    """Which buttons to show; the API decides again (and explains) when one is pressed."""
    principal = g.principal
    status = data["status"]
    review = data.get("review") or {}
    approved = status == "approved" and data.get("approved_version") == data.get("version")
    reach = history.withdraw_reach
    withdrawable = reach is not None and (
        (status == "approved" or (status != "withdrawn" and bool(history.deliveries)))
        or (status == "withdrawn" and reach == "own"))
    return {
        "submit": status == "draft" and may(principal, "item.submit"),
        "review": status == "in_review" and may(principal, "item.review")
        and review.get("stage") is not None and review.get("stage") == principal.review_stage,
        # A blocking hit on the current list stops a push; only a province admin may override.
        "push": approved and may(principal, "item.push") and (
            not (data.get("safety_hits") or {}).get("blocked") or principal.province_wide),
        "withdraw": withdrawable,
    }


def _back(item_id: str) -> Response:
    return redirect(url_for("admin.item", item_id=item_id), 303)  # type: ignore[return-value]


def _refused(err: ApiError, item_id: str) -> Response:
    """A refused action: a 404/403 is an error page; anything else a message on the item."""
    if err.status in (401, 403, 404):
        raise err
    flash(refused(err), "error")
    return _back(item_id)


@admin_blueprint.post("/items/<item_id>/submit")
def item_submit(item_id: str) -> Response:
    return _act(item_id, lambda db: item_actions.submit(db, g.principal, item_id), "done.submit")


@admin_blueprint.post("/items/<item_id>/review")
def item_review(item_id: str) -> Response:
    decision = request.form.get("decision")
    body = {"decision": decision, "comment": request.form.get("comment") or "",
            "override_reason": request.form.get("override_reason") or ""}
    version = request.form.get("version", "")
    if version.isdigit():
        body["version"] = int(version)  # the version the reviewer read: a stale page is refused
    return _act(item_id, lambda db: item_actions.review(db, g.principal, item_id, body),
                "done.review")


def _act(item_id: str, action: Callable[[Session], dict], done: str) -> Response:
    """One item action; flash its outcome and go back to the item."""
    try:
        with runtime().db.session() as db:
            action(db)
    except ApiError as err:
        return _refused(err, item_id)
    flash(i18n.t(done), "ok")
    return _back(item_id)


@admin_blueprint.post("/items/<item_id>/push")
def item_push(item_id: str) -> Response | tuple[str, int]:
    choice = PushChoice.from_form(request.form)
    with runtime().db.session() as db:
        scope_orgs = org_actions.whole_scope(db, g.principal)
    body = choice.body(scope_orgs)
    numbers = _push_numbers(item_id, choice, scope_orgs)
    if numbers is not None and not confirmation.accepted(numbers, request.form):
        return _confirm_again(item_id, choice, numbers)
    if numbers is not None:  # what the operator saw, or else no push (409: confirm again)
        body[confirmation.EXPECTED] = numbers.get("total", 0)
    try:
        pushed = fanout_actions.push(runtime(), g.principal, item_id, body)
    except ApiError as err:
        if err.code == confirmation.CHANGED:
            return _confirm_again(item_id, choice,
                                  _push_numbers(item_id, choice, scope_orgs) or {})
        if _about_the_choice(err):  # shown again, to be corrected
            flash(refused(err), "error")
            return _item_page(item_id, choice), err.status
        return _refused(err, item_id)  # not allowed, or the item changed: its page says how
    flash(i18n.t("done.push", total=pushed.get("total", 0)), "ok")
    return redirect(url_for("admin.dispatch", dispatch_id=pushed["dispatch_id"]),
                    303)  # type: ignore[return-value]


@admin_blueprint.post("/items/<item_id>/push/preview")
def item_push_preview(item_id: str) -> Response | tuple[str, int] | str:
    """How many accounts the choice reaches, shown on the item page with the choice kept."""
    choice = PushChoice.from_form(request.form)
    with runtime().db.session() as db:
        scope_orgs = org_actions.whole_scope(db, g.principal)
    try:
        preview = _preview(item_id, choice, scope_orgs)
    except ApiError as err:
        if _about_the_choice(err):
            flash(refused(err), "error")
            return _item_page(item_id, choice), err.status
        return _refused(err, item_id)
    return _item_page(item_id, choice, preview=preview)


def _preview(item_id: str, choice: PushChoice, scope_orgs: list[str]) -> dict:
    body = {"targets": choice.body(scope_orgs)["targets"], **choice.override()}
    return fanout_actions.preview(runtime(), g.principal, item_id, body)


def _push_numbers(item_id: str, choice: PushChoice, scope_orgs: list[str]) -> dict | None:
    """The preview's numbers the confirmation is checked against; None when the preview is
    refused (the push then says why)."""
    try:
        return _preview(item_id, choice, scope_orgs)
    except ApiError:
        return None


def _confirm_again(item_id: str, choice: PushChoice, numbers: dict,
                   withdraw: dict | None = None) -> tuple[str, int]:
    """The confirmation shown again: the number typed was not the current count (or none was
    typed), or the count changed between the confirmation and the push."""
    flash(i18n.t("confirm.again", total=numbers.get("total", 0)), "error")
    if withdraw is not None:
        return _item_page(item_id, choice, withdraw=withdraw), 409
    return _item_page(item_id, choice, preview=numbers), 409


def _about_the_choice(err: ApiError) -> bool:
    """A refusal of what the form named (a bad field, or orgs or accounts outside the
    caller's scope), rather than of the push itself."""
    outside = "orgs" in err.details or "accounts" in err.details
    return err.status == 422 or (err.status == 403 and outside)


@admin_blueprint.post("/items/<item_id>/withdraw/preview")
def item_withdraw_preview(item_id: str) -> Response | str:
    """What the withdrawal would remove, shown on the item page to be confirmed."""
    try:
        numbers = fanout_actions.withdraw_preview(runtime(), g.principal, item_id)
    except ApiError as err:
        return _refused(err, item_id)
    return _item_page(item_id, PushChoice(), withdraw=_withdraw_view(numbers))


def _withdraw_numbers(item_id: str) -> dict | None:
    try:
        return fanout_actions.withdraw_preview(runtime(), g.principal, item_id)
    except ApiError:
        return None  # the withdrawal itself says why


def _withdraw_view(numbers: dict) -> dict:
    return {**numbers, "reason": (request.form.get("reason") or "")[:1000]}


@admin_blueprint.post("/items/<item_id>/withdraw")
def item_withdraw(item_id: str) -> Response | tuple[str, int]:
    body: dict = {"reason": request.form.get("reason") or ""}
    numbers = _withdraw_numbers(item_id)
    if numbers is not None and not confirmation.accepted(numbers, request.form):
        return _confirm_again(item_id, PushChoice(), numbers, withdraw=_withdraw_view(numbers))
    if numbers is not None:
        body[confirmation.EXPECTED] = numbers.get("total", 0)
    try:
        withdrawn = fanout_actions.withdraw(runtime(), g.principal, item_id, body)
    except ApiError as err:
        if err.code == confirmation.CHANGED:
            fresh = _withdraw_numbers(item_id) or {}
            return _confirm_again(item_id, PushChoice(), fresh, withdraw=_withdraw_view(fresh))
        return _refused(err, item_id)
    flash(i18n.t("done.withdraw", total=withdrawn.get("total", 0)), "ok")
    return redirect(url_for("admin.withdrawal", withdrawal_id=withdrawn["withdrawal_id"]),
                    303)  # type: ignore[return-value]
