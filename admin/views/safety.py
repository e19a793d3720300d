"""The negative list (负面清单) in the browser: the current version's terms, a province
administrator's edit (saved as the next version), and the rescan of live items that answers
every change: the items that now hit the list, each a link to its page, where one click
withdraws it everywhere. Through GET/PUT /safety/terms and POST /safety/rescan."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, render_template, request

from hub.permissions import may
from hub.safety import CATEGORIES, DEFAULT_ACTIONS

from .. import apicall, i18n, safety_form
from ..blueprint import admin_blueprint


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
    answer = apicall.call("PUT", "/safety/terms", json={
        "version": int(version) if version.isdigit() else version, "terms": terms,
        "canonical_names": [n.strip() for n in names.splitlines() if n.strip()]})
    if answer.status in (401, 403):
        raise answer.as_error()
    if not answer.ok:  # what was typed stays; a line the API refused is named
        line = safety_form.line_of(answer.field, lines)
        where = i18n.t("safety.line", line=line) if line else ""
        return _page(current, text=text, names=names, bad_line=line,
                     bad_lines=[where + i18n.refusal(answer)]), answer.status
    flash(i18n.t("done.safety_saved", version=answer.data["version"],
                 n=len(answer.data["terms"])), "ok")
    return _page(answer.data, text=safety_form.unparse(answer.data["terms"]),
                 names="\n".join(answer.data["canonical_names"]),
                 rescan=answer.data.get("rescan"))


@admin_blueprint.post("/safety/rescan")
def safety_rescan() -> str:
    if not may(g.principal, "safety.rescan"):
        abort(403)
    answer = apicall.call("POST", "/safety/rescan", json={}).raise_for_status()
    current = _current()
    return _page(current, text=safety_form.unparse(current["terms"]),
                 names="\n".join(current["canonical_names"]), rescan=answer.data)


def _may_edit() -> bool:
    """One list for the whole province: only a province-wide administrator changes it."""
    return may(g.principal, "safety.manage") and g.principal.province_wide


def _current() -> dict[str, Any]:
    return apicall.call("GET", "/safety/terms").raise_for_status().data


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
