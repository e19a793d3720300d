"""Items: the list, one item's page, and its actions (submit, review, push, withdraw), each
action one API call whose refusal is shown to the editor in words."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from hub.models import ITEM_STATUSES, PLATFORMS
from hub.permissions import may

from .. import apicall, confirmation, i18n, queries
from ..blueprint import admin_blueprint
from ..push_targets import PushChoice
from ..web import runtime

MATRIX_CHOICES = 200


@admin_blueprint.get("/items")
def items() -> str:
    status = request.args.get("status") or None
    where = queries.ItemFilter(status=status if status in ITEM_STATUSES else None,
                               q=(request.args.get("q") or "").strip()[:100] or None,
                               org=(request.args.get("org") or "").strip() or None,
                               before=request.args.get("before") or None)
    with runtime().db.session() as db:
        rows, next_before = queries.items_page(db, g.principal, where)
        orgs = queries.org_choices(db, g.principal)
    return render_template("admin/items.html", rows=rows, where=where, next_before=next_before,
                           statuses=ITEM_STATUSES, orgs=orgs)


@admin_blueprint.get("/items/<item_id>")
def item(item_id: str) -> str:
    return _item_page(item_id, PushChoice())


def _item_page(item_id: str, push: PushChoice, preview: dict | None = None,
               withdraw: dict | None = None) -> str:
    data = apicall.call("GET", f"/items/{apicall.segment(item_id)}").raise_for_status().data
    with runtime().db.session() as db:
        history = queries.item_history(db, g.principal, item_id)
        scope_orgs = queries.push_orgs(db, g.principal)
        org_choices = queries.org_choices(db, g.principal)
    actions = _actions(data, history)
    return render_template("admin/item.html", item=data, history=history, actions=actions,
                           scope_orgs=scope_orgs, org_choices=org_choices, push=push,
                           platforms=PLATFORMS, preview=preview, withdraw=withdraw,
                           confirm_threshold=confirmation.threshold(),
                           matrices=_matrices() if actions["push"] else [])


def _matrices() -> list[dict]:
    """The matrices a push may name (the first page; more are reachable by the API)."""
    answer = apicall.call("GET", "/matrices", query={"limit": MATRIX_CHOICES})
    return answer.data.get("items", []) if answer.ok else []


def _actions(data: dict, history: queries.ItemHistory) -> dict[str, bool]:
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


def _refused(answer: apicall.ApiAnswer, item_id: str) -> Response:
    """A refused action: a 404/403 is an error page; anything else a message on the item."""
    if answer.status in (401, 403, 404):
        raise answer.as_error()
    flash(i18n.refusal(answer), "error")
    return _back(item_id)


@admin_blueprint.post("/items/<item_id>/submit")
def item_submit(item_id: str) -> Response:
    return _act(item_id, "submit", {}, "done.submit")


@admin_blueprint.post("/items/<item_id>/review")
def item_review(item_id: str) -> Response:
    decision = request.form.get("decision")
    body = {"decision": decision, "comment": request.form.get("comment") or "",
            "override_reason": request.form.get("override_reason") or ""}
    version = request.form.get("version", "")
    if version.isdigit():
        body["version"] = int(version)  # the version the reviewer read: a stale page is refused
    return _act(item_id, "reviews", body, "done.review")


def _act(item_id: str, action: str, body: dict, done: str) -> Response:
    """POST an item action through the API; flash its outcome and go back to the item."""
    answer = apicall.call("POST", f"/items/{apicall.segment(item_id)}/{action}", json=body)
    if not answer.ok:
        return _refused(answer, item_id)
    flash(i18n.t(done), "ok")
    return _back(item_id)


@admin_blueprint.post("/items/<item_id>/push")
def item_push(item_id: str) -> Response | tuple[str, int]:
    choice = PushChoice.from_form(request.form)
    with runtime().db.session() as db:
        scope_orgs = queries.push_orgs(db, g.principal)
    body = choice.body(scope_orgs)
    numbers = _push_numbers(item_id, choice, scope_orgs)
    if numbers.ok and not confirmation.accepted(numbers.data, request.form):
        return _confirm_again(item_id, choice, numbers.data)
    if numbers.ok:  # what the operator saw, or else no push (409: confirm again)
        body[confirmation.EXPECTED] = numbers.data.get("total", 0)
    answer = apicall.call("POST", f"/items/{apicall.segment(item_id)}/push", json=body)
    if answer.code == confirmation.CHANGED:
        return _confirm_again(item_id, choice, _push_numbers(item_id, choice, scope_orgs).data)
    if not answer.ok and _about_the_choice(answer):  # shown again, to be corrected
        flash(i18n.refusal(answer), "error")
        return _item_page(item_id, choice), answer.status
    if not answer.ok:  # not allowed, or the item changed: its page says how
        return _refused(answer, item_id)
    flash(i18n.t("done.push", total=answer.data.get("total", 0)), "ok")
    return redirect(url_for("admin.dispatch", dispatch_id=answer.data["dispatch_id"]),
                    303)  # type: ignore[return-value]


@admin_blueprint.post("/items/<item_id>/push/preview")
def item_push_preview(item_id: str) -> Response | tuple[str, int] | str:
    """How many accounts the choice reaches, shown on the item page with the choice kept."""
    choice = PushChoice.from_form(request.form)
    with runtime().db.session() as db:
        scope_orgs = queries.push_orgs(db, g.principal)
    answer = _push_numbers(item_id, choice, scope_orgs)
    if not answer.ok and _about_the_choice(answer):
        flash(i18n.refusal(answer), "error")
        return _item_page(item_id, choice), answer.status
    if not answer.ok:
        return _refused(answer, item_id)
    return _item_page(item_id, choice, preview=answer.data)


def _push_numbers(item_id: str, choice: PushChoice, scope_orgs: list[str]
                  ) -> apicall.ApiAnswer:
    body = {"targets": choice.body(scope_orgs)["targets"], **choice.override()}
    return apicall.call("POST", f"/items/{apicall.segment(item_id)}/push/preview", json=body)


def _confirm_again(item_id: str, choice: PushChoice, numbers: dict,
                   withdraw: dict | None = None) -> tuple[str, int]:
    """The confirmation shown again: the number typed was not the current count (or none was
    typed), or the count changed between the confirmation and the push."""
    flash(i18n.t("confirm.again", total=numbers.get("total", 0)), "error")
    if withdraw is not None:
        return _item_page(item_id, choice, withdraw=withdraw), 409
    return _item_page(item_id, choice, preview=numbers), 409


def _about_the_choice(answer: apicall.ApiAnswer) -> bool:
    """A refusal of what the form named (a bad field, or orgs or accounts outside the
    caller's scope), rather than of the push itself."""
    details = answer.error.get("details")
    outside = isinstance(details, dict) and ("orgs" in details or "accounts" in details)
    return answer.status == 422 or (answer.status == 403 and outside)


@admin_blueprint.post("/items/<item_id>/withdraw/preview")
def item_withdraw_preview(item_id: str) -> Response | str:
    """What the withdrawal would remove, shown on the item page to be confirmed."""
    numbers = _withdraw_numbers(item_id)
    if not numbers.ok:
        return _refused(numbers, item_id)
    return _item_page(item_id, PushChoice(), withdraw=_withdraw_view(numbers.data))


def _withdraw_numbers(item_id: str) -> apicall.ApiAnswer:
    return apicall.call("POST", f"/items/{apicall.segment(item_id)}/withdraw/preview", json={})


def _withdraw_view(numbers: dict) -> dict:
    return {**numbers, "reason": (request.form.get("reason") or "")[:1000]}


@admin_blueprint.post("/items/<item_id>/withdraw")
def item_withdraw(item_id: str) -> Response | tuple[str, int]:
    body = {"reason": request.form.get("reason") or ""}
    numbers = _withdraw_numbers(item_id)
    if numbers.ok and not confirmation.accepted(numbers.data, request.form):
        return _confirm_again(item_id, PushChoice(), numbers.data,
                              withdraw=_withdraw_view(numbers.data))
    if numbers.ok:
        body[confirmation.EXPECTED] = numbers.data.get("total", 0)
    answer = apicall.call("POST", f"/items/{apicall.segment(item_id)}/withdraw", json=body)
    if answer.code == confirmation.CHANGED:
        fresh = _withdraw_numbers(item_id).data
        return _confirm_again(item_id, PushChoice(), fresh, withdraw=_withdraw_view(fresh))
    if not answer.ok:
        return _refused(answer, item_id)
    flash(i18n.t("done.withdraw", total=answer.data.get("total", 0)), "ok")
    return redirect(url_for("admin.withdrawal", withdrawal_id=answer.data["withdrawal_id"]),
                    303)  # type: ignore[return-value]
