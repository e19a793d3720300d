"""The negative list (负面清单) in the browser: the current version's terms, a province
administrator's edit (saved as the next version), and the rescan of live items that answers
every change: the items that now hit the list, each a link to its page, where one click
withdraws it everywhere. The same service calls as the API's /safety routes
(hub/services/safety_actions.py)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, render_template, request

from hub.errors import ApiError
from hub.screening import CATEGORIES, DEFAULT_ACTIONS
from hub.security.permissions import may
from hub.services import safety_actions

from .. import i18n, safety_form
from ..blueprint import admin_blueprint
from ..errors import field_of, refused
from ..web import runtime


@admin_blueprint.get("/safety")
def safety() -> str:
    if not may(g.principal, "safety.read"):
        abort(403)
    current = _current()
    return _page(current, text=safety_form.unparse(current["terms"]),
                 names="\n".join(current["canonical_names"]))


@admin_blueprint.post("/safety")
def safety_update() -> str | tuple[str, int]:
    if not _may_edit():
        abort(403)
    text, names = request.form.get("terms", ""), request.form.get("canonical_names", "")
    version = request.form.get("version", "")
    current = _current()
    try:
        terms, lines = safety_form.parse(text)
    except safety_form.LineErrors as wrong:
        said = [i18n.t("safety.line", line=e.line) + i18n.t(e.problem, value=e.value)
                for e in wrong.errors]
        return _page(current, text=text, names=names, bad_line=wrong.errors[0].line,
                     bad_lines=said), 422
    body = {"version": int(version) if version.isdigit() else version, "terms": terms,
            "canonical_names": [n.strip() for n in names.splitlines() if n.strip()]}
    try:
        with runtime().db.session() as db:
            saved = safety_actions.replace(db, g.principal, body)
    except ApiError as err:
        if err.status in (401, 403):
            raise
        # What was typed stays; a line the service refused is named.
        line = safety_form.line_of(field_of(err), lines)
        where = i18n.t("safety.line", line=line) if line else ""
        return _page(current, text=text, names=names, bad_line=line,
                     bad_lines=[where + refused(err)]), err.status
    flash(i18n.t("done.safety_saved", version=saved["version"], n=len(saved["terms"])), "ok")
    return _page(saved, text=safety_form.unparse(saved["terms"]),
                 names="\n".join(saved["canonical_names"]), rescan=saved.get("rescan"))


@admin_blueprint.post("/safety/rescan")
def safety_rescan() -> str:
    if not may(g.principal, "safety.rescan"):
        abort(403)
    with runtime().db.session() as db:
        scanned = safety_actions.rescan(db, g.principal)
    current = _current()
    return _page(current, text=safety_form.unparse(current["terms"]),
                 names="\n".join(current["canonical_names"]), rescan=scanned)


def _may_edit() -> bool:
    """One list for the whole province: only a province-wide administrator changes it."""
    return may(g.principal, "safety.manage") and g.principal.province_wide


def _current() -> dict[str, Any]:
    with runtime().db.session() as db:
        return safety_actions.current(db, g.principal)


def _page(current: dict[str, Any], *, text: str, names: str, bad_line: int | None = None,
          rescan: dict[str, Any] | None = None, bad_lines: list[str] | None = None) -> str:
    counts: dict[str, int] = {}
    for term in current["terms"]:
        counts[term["category"]] = counts.get(term["category"], 0) + 1
    return render_template("admin/safety.html", current=current, text=text, names=names,
                           bad_line=bad_line, bad_lines=bad_lines or [], rescan=rescan,
                           counts=counts,
                           categories=CATEGORIES, defaults=DEFAULT_ACTIONS, edit=_may_edit(),
                           may_rescan=may(g.principal, "safety.rescan"))
