"""导入 in the browser: orgs or accounts from a CSV sheet (or JSON), the format ``yunchu import``
reads, imported by the same service calls as the API's /orgs/import and /accounts/import
(hub/services/org_actions.py, account_actions.py). Every row is validated and all or nothing is
written; a row refused is named by its line in the sheet. Credentials are sealed as they are
stored; the page never shows them back."""

from __future__ import annotations

import re

from flask import abort, flash, g, render_template, request

from hub.errors import ApiError
from hub.security.permissions import may
from hub.services import account_actions, org_actions
from hub.services.import_sheets import UnreadableFile, read_rows
from hub.web.request_limits import upload

from .. import i18n
from ..blueprint import admin_blueprint
from ..errors import field_of, refused
from ..web import runtime

MAX_FILE_BYTES = 32 * 1024 * 1024
RIGHTS = {"orgs": "org.manage", "accounts": "account.manage"}
_ROW_FIELD = re.compile(r"^(orgs|accounts)\[(\d+)\]")


@admin_blueprint.get("/import")
def imports() -> str:
    _require_any()
    return _page()


@admin_blueprint.post("/import/<kind>")
@upload
def import_file(kind: str) -> str | tuple[str, int]:
    if kind not in RIGHTS:
        abort(404)
    if kind not in _allowed():
        abort(403)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(i18n.t("import.no_file"), "error")
        return _page(), 422
    data = upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        flash(i18n.t("import.too_big", mb=MAX_FILE_BYTES // 1024 // 1024), "error")
        return _page(), 413
    try:
        text = data.decode("utf-8-sig")
        rows = read_rows(text, kind, as_json=upload.filename.lower().endswith(".json"))
    except UnicodeDecodeError:
        flash(i18n.t("import.not_utf8"), "error")
        return _page(), 422
    except UnreadableFile as err:
        flash(i18n.localise(str(err)), "error")
        return _page(), 422
    if not rows:
        flash(i18n.t("import.empty"), "error")
        return _page(), 422
    try:
        done = _import(kind, rows)
    except ApiError as err:
        if err.status == 401:
            raise
        flash(_where(field_of(err), as_json=upload.filename.lower().endswith(".json"))
              + refused(err), "error")
        return _page(), err.status
    flash(i18n.t("done.imported", created=done["created"], updated=done["updated"]), "ok")
    return _page()


def _import(kind: str, rows: list) -> dict[str, int]:
    if kind == "accounts":
        return account_actions.import_all(runtime(), g.principal, rows)
    with runtime().db.session() as db:
        return org_actions.import_all(db, g.principal, rows)


def _where(field: str, *, as_json: bool) -> str:
    """The sheet line (the header is line 1) or list entry a refused field belongs to."""
    found = _ROW_FIELD.match(field)
    if found is None:
        return ""
    index = int(found.group(2))
    if as_json:
        return i18n.t("import.entry", n=index + 1)
    return i18n.t("safety.line", line=index + 2)


def _allowed() -> list[str]:
    """What the caller may import (within their subtree: the import checks every row)."""
    return [kind for kind, right in RIGHTS.items() if may(g.principal, right)]


def _require_any() -> None:
    if not _allowed():
        abort(403)


def _page() -> str:
    return render_template("admin/import.html", kinds=_allowed())
