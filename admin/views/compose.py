"""Writing in the browser: a new draft (an article, or a video with its caption text), or a
new version of an existing item.

The form goes to the same service calls as the API's POST /items or PATCH /items/<id>
(hub/services/item_actions.py), files first through the upload of POST /assets
(hub/services/asset_actions.py). A refusal re-shows the form with what the editor typed and
the reason in words, and saves nothing of the item. A file that was uploaded
before the refusal is kept (assets are stored once per checksum) and carried in the form,
so the editor does not have to choose it again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from hub.errors import ApiError
from hub.security.permissions import may
from hub.services import asset_actions, item_actions, org_actions
from hub.web.request_limits import upload

from .. import i18n
from ..blueprint import admin_blueprint
from ..errors import field_of, refused
from ..typed_lists import split_list
from ..web import runtime

TEXT_FIELDS = ("title", "summary", "author", "source", "body")
UPLOADS = ("cover", "video")


@admin_blueprint.get("/items/new")
def item_new() -> str:
    _require_writer()
    return _form(None, {"org": "", "kind": "article", "tags": "", "shared_to_library": False,
                        **dict.fromkeys(TEXT_FIELDS, ""),
                        **{f"{name}_asset": "" for name in UPLOADS}})


@admin_blueprint.post("/items/new")
@upload
def item_create() -> Response | tuple[str, int]:
    _require_writer()
    values = _typed()
    body = _content(values)
    if values["org"]:
        body["org"] = values["org"]
    body["kind"] = values["kind"]
    body["shared_to_library"] = values["shared_to_library"]
    return _save(lambda db: item_actions.create(db, g.principal, body), body, values, None)


@admin_blueprint.get("/items/<item_id>/edit")
def item_edit(item_id: str) -> str:
    _require_writer()
    item = _item(item_id)
    values = {name: item.get(name) or "" for name in TEXT_FIELDS}
    values.update(org=item["org"], kind=item["kind"], tags="、".join(item.get("tags") or []),
                  shared_to_library=bool(item.get("shared_to_library")),
                  **{f"{name}_asset": "" for name in UPLOADS})
    return _form(item, values)


@admin_blueprint.post("/items/<item_id>/edit")
@upload
def item_update(item_id: str) -> Response | tuple[str, int]:
    _require_writer()
    item = _item(item_id)
    values = _typed()
    values.update(org=item["org"], kind=item["kind"])
    body = _content(values)
    body["shared_to_library"] = values["shared_to_library"]
    return _save(lambda db: item_actions.edit(db, g.principal, item_id, body), body, values,
                 item)


def _item(item_id: str) -> dict[str, Any]:
    with runtime().db.session() as db:
        return item_actions.get(db, g.principal, item_id)


def _require_writer() -> None:
    if not may(g.principal, "item.write"):
        abort(403)


def _typed() -> dict[str, Any]:
    """The form as the editor typed it, to save or to show again."""
    form = request.form
    values: dict[str, Any] = {name: form.get(name, "") for name in TEXT_FIELDS}
    values["org"] = form.get("org", "").strip()
    values["kind"] = "video" if form.get("kind") == "video" else "article"
    values["tags"] = form.get("tags", "")
    values["shared_to_library"] = form.get("shared_to_library") == "1"
    for name in UPLOADS:  # uploaded by an earlier, refused send of this form
        values[f"{name}_asset"] = form.get(f"{name}_asset", "").strip()
    return values


def _content(values: dict[str, Any]) -> dict[str, Any]:
    body = {name: values[name] for name in TEXT_FIELDS}
    body["tags"] = split_list(values["tags"])
    return body


def _save(save: Callable[[Session], dict[str, Any]], body: dict[str, Any],
          values: dict[str, Any], item: dict[str, Any] | None) -> Response | tuple[str, int]:
    """Upload the files chosen, put them in ``body``, then ``save`` the item."""
    try:
        for name in UPLOADS:
            upload = request.files.get(name)
            if isinstance(upload, FileStorage) and upload.filename:
                data = upload.read(runtime().settings.max_upload_bytes + 1)
                values[f"{name}_asset"] = asset_actions.upload(runtime(), g.principal, data)["id"]
            asset = values[f"{name}_asset"]
            if not asset:
                continue  # an edit without a new file keeps what the item has
            if name == "cover":
                body["cover"] = asset
            else:
                body["assets"] = [asset]
        with runtime().db.session() as db:
            saved = save(db)
    except ApiError as err:
        return _refused(err, item, values)
    flash(i18n.t("done.saved", version=saved.get("version", 1)), "ok")
    removed = saved.get("removed_media") or []
    if removed:
        flash(i18n.t("done.removed_media", n=len(removed), urls="、".join(removed[:5])), "warn")
    return redirect(url_for("admin.item", item_id=saved["id"]), 303)  # type: ignore[return-value]


def _refused(err: ApiError, item: dict[str, Any] | None,
             values: dict[str, Any]) -> tuple[str, int]:
    if err.status in (401, 403):
        raise err
    # Anything else, an unknown owner org (404) included, is about what was typed.
    flash(refused(err), "error")
    return _form(item, values, field=field_of(err)), err.status


def _form(item: dict[str, Any] | None, values: dict[str, Any], field: str = "") -> str:
    with runtime().db.session() as db:
        orgs = org_actions.choices(db, g.principal)
    return render_template("admin/compose.html", item=item, values=values, orgs=orgs,
                           bad_field=field)
