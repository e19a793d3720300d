"""Matrices (账号矩阵) in the browser: the list with each matrix's resolved account count, and
for administrators a form that creates one and a page that edits or deletes it. A matrix is a
named cross-org group of accounts (e.g. 交通微矩阵): org subtrees, narrowed to some platforms,
plus accounts named one by one. The page calls the same service as the API's /matrices
(hub/services/matrices.py), so its scope rules, validation and audit apply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from hub.errors import ApiError
from hub.platforms import names as platform_names
from hub.security.permissions import may
from hub.services import matrices as matrix_service
from hub.services import org_actions

from .. import i18n
from ..blueprint import admin_blueprint
from ..errors import field_of, refused
from ..typed_lists import split_list
from ..web import runtime

PAGE = 100
# Beyond this many accounts named one by one, the page does not offer to edit the list (a
# textarea of 5,000 ids is the most anyone edits by hand; the API takes 100,000).
EDITABLE_ACCOUNTS = 5000
EMPTY = {"slug": "", "name": "", "orgs": "", "platforms": [], "accounts": ""}


@admin_blueprint.get("/matrices")
def matrices() -> str:
    if not may(g.principal, "matrix.read"):
        abort(403)
    return _list_page(dict(EMPTY))


@admin_blueprint.post("/matrices")
def matrix_create() -> str | tuple[str, int] | Response:
    _require_manager()
    values = _values(with_slug=True)
    body = {"slug": values["slug"], **_body(values)}
    return _outcome(lambda db: matrix_service.create(db, g.principal, body), "done.matrix_created",
                    lambda field: _list_page(values, bad_field=field))


@admin_blueprint.get("/matrices/<slug>")
def matrix_edit(slug: str) -> str:
    _require_manager()
    matrix = _matrix(slug)
    accounts = _explicit_accounts(slug)
    values = {"name": matrix["name"], "orgs": " ".join(matrix["orgs"]),
              "platforms": matrix["platforms"],
              "accounts": "\n".join(accounts) if accounts is not None else ""}
    return _edit_page(matrix, values, editable=accounts is not None)


@admin_blueprint.post("/matrices/<slug>")
def matrix_update(slug: str) -> str | tuple[str, int] | Response:
    _require_manager()
    matrix = _matrix(slug)
    editable = _explicit_accounts(slug) is not None
    values = _values(with_slug=False)
    body = _body(values)
    if not editable:  # the list was not on the page: it stays as it is
        body.pop("accounts")
    return _outcome(lambda db: matrix_service.update(db, g.principal, slug, body),
                    "done.matrix_saved", lambda field: _edit_page(
        matrix, values, editable=editable, bad_field=field))


@admin_blueprint.post("/matrices/<slug>/delete")
def matrix_delete(slug: str) -> Response:
    _require_manager()
    with runtime().db.session() as db:
        matrix_service.remove(db, g.principal, slug)
    flash(i18n.t("done.matrix_deleted", slug=slug), "ok")
    return redirect(url_for("admin.matrices"), 303)  # type: ignore[return-value]


def _outcome(change: Callable[[Session], dict[str, Any]], done: str,
             again: Callable[[str], str]) -> tuple[str, int] | Response:
    """A saved matrix goes back to the list; a refusal shows the form again, as typed (for a
    manager, a 403 is about the orgs or accounts named, to be corrected)."""
    try:
        with runtime().db.session() as db:
            matrix = change(db)
    except ApiError as err:
        if err.status in (401, 404):
            raise
        flash(refused(err), "error")
        return again(field_of(err)), err.status
    flash(i18n.t(done, name=matrix["name"], n=matrix["account_count"]), "ok")
    return redirect(url_for("admin.matrices"), 303)  # type: ignore[return-value]


def _require_manager() -> None:
    if not may(g.principal, "matrix.manage"):
        abort(403)


def _values(*, with_slug: bool) -> dict[str, Any]:
    form = request.form
    values: dict[str, Any] = {"name": form.get("name", "").strip(),
                              "orgs": form.get("orgs", "").strip()[:20_000],
                              "platforms": [p for p in form.getlist("platforms") if p in platform_names()],
                              "accounts": form.get("accounts", "").strip()[:2_000_000]}
    if with_slug:
        values["slug"] = form.get("slug", "").strip()
    return values


def _body(values: dict[str, Any]) -> dict[str, Any]:
    return {"name": values["name"], "orgs": split_list(values["orgs"]),
            "platforms": values["platforms"], "accounts": split_list(values["accounts"])}


def _matrix(slug: str) -> dict[str, Any]:
    with runtime().db.session() as db:
        return matrix_service.get(db, g.principal, slug)


def _explicit_accounts(slug: str) -> list[str] | None:
    """The accounts named one by one, or None when there are too many to edit here."""
    with runtime().db.session() as db:
        ids = matrix_service.explicit_accounts(db, g.principal, slug, EDITABLE_ACCOUNTS + 1)
    return ids if len(ids) <= EDITABLE_ACCOUNTS else None


def _list_page(values: dict[str, Any], *, bad_field: str = "") -> str:
    with runtime().db.session() as db:
        rows, next_cursor = matrix_service.list_page(db, g.principal, limit=PAGE,
                                                     cursor=request.args.get("cursor"))
    return render_template("admin/matrices.html", rows=rows, next_cursor=next_cursor,
                           values=values,
                           bad_field=bad_field, platforms=platform_names(), orgs=_org_choices(),
                           manage=may(g.principal, "matrix.manage"))


def _edit_page(matrix: dict[str, Any], values: dict[str, Any], *, editable: bool,
               bad_field: str = "") -> str:
    return render_template("admin/matrix_edit.html", matrix=matrix, values=values,
                           editable=editable, limit=EDITABLE_ACCOUNTS, bad_field=bad_field,
                           platforms=platform_names(), orgs=_org_choices())


def _org_choices() -> list[tuple[str, str]]:
    with runtime().db.session() as db:
        return org_actions.choices(db, g.principal)
