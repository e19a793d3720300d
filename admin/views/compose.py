"""Writing in the browser: a new draft (an article, or a video with its caption text), or a
new version of an existing item.

The form is sent to the API as it would be by any client (POST /items or PATCH /items/<id>,
files first through POST /assets). A refusal re-shows the form with what the editor typed
and the API's reason in words, and saves nothing of the item. A file that was uploaded
before the refusal is kept (assets are stored once per checksum) and carried in the form,
so the editor does not have to choose it again."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from hub.permissions import may
from hub.request_limits import upload
from hub.services import org_actions

from .. import apicall, i18n
from ..blueprint import admin_blueprint
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
    return _save("POST", "/items", body, values, None)


@admin_blueprint.get("/items/<item_id>/edit")
def item_edit(item_id: str) -> str:
    _require_writer()
    item = apicall.call("GET", f"/items/{apicall.segment(item_id)}").raise_for_status().data
    values = {name: item.get(name) or "" for name in TEXT_FIELDS}
    values.update(org=item["org"], kind=item["kind"], tags="、".join(item.get("tags") or []),
                  shared_to_library=bool(item.get("shared_to_library")),
                  **{f"{name}_asset": "" for name in UPLOADS})
    return _form(item, values)


@admin_blueprint.post("/items/<item_id>/edit")
@upload
def item_update(item_id: str) -> Response | tuple[str, int]:
    _require_writer()
    item = apicall.call("GET", f"/items/{apicall.segment(item_id)}").raise_for_status().data
    values = _typed()
    values.update(org=item["org"], kind=item["kind"])
    body = _content(values)
    body["shared_to_library"] = values["shared_to_library"]
    return _save("PATCH", f"/items/{apicall.segment(item_id)}", body, values, item)


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


def _save(method: str, path: str, body: dict[str, Any], values: dict[str, Any],
          item: dict[str, Any] | None) -> Response | tuple[str, int]:
    for name in UPLOADS:
        upload = request.files.get(name)
        if isinstance(upload, FileStorage) and upload.filename:
            uploaded = apicall.call("POST", "/assets", files={
                "file": (upload.stream, upload.filename, upload.mimetype)})
            if not uploaded.ok:
                return _refused(uploaded, item, values)
            values[f"{name}_asset"] = uploaded.data["id"]
        asset = values[f"{name}_asset"]
        if not asset:
            continue  # an edit without a new file keeps what the item has
        if name == "cover":
            body["cover"] = asset
        else:
            body["assets"] = [asset]
    answer = apicall.call(method, path, json=body)
    if not answer.ok:
        return _refused(answer, item, values)
    flash(i18n.t("done.saved", version=answer.data.get("version", 1)), "ok")
    removed = answer.data.get("removed_media") or []
    if removed:
        flash(i18n.t("done.removed_media", n=len(removed), urls="、".join(removed[:5])), "warn")
    return redirect(url_for("admin.item", item_id=answer.data["id"]), 303)  # type: ignore[return-value]


def _refused(answer: apicall.ApiAnswer, item: dict[str, Any] | None,
             values: dict[str, Any]) -> tuple[str, int]:
    if answer.status in (401, 403):
        raise answer.as_error()
    # Anything else, an unknown owner org (404) included, is about what was typed.
    flash(i18n.refusal(answer), "error")
    return _form(item, values, field=answer.field), answer.status


def _form(item: dict[str, Any] | None, values: dict[str, Any], field: str = "") -> str:
    with runtime().db.session() as db:
        orgs = org_actions.choices(db, g.principal)
    return render_template("admin/compose.html", item=item, values=values, orgs=orgs,
                           bad_field=field)
