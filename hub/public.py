"""Public, unauthenticated pages: the item page /p/<id>, stored media, health probes."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, jsonify, render_template
from sqlalchemy import select, text

from .models import Asset, Item, ItemVersion, Org

log = logging.getLogger("yunchu.public")
public = Blueprint("public", __name__, template_folder="templates")


def _rt():
    return current_app.extensions["yunchu"]


@public.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@public.get("/readyz")
def readyz():
    runtime = _rt()
    checks: dict[str, str] = {}
    try:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as err:  # noqa: BLE001 - a probe reports, it does not raise
        checks["database"] = f"error: {type(err).__name__}"
    try:
        runtime.redis.ping()
        checks["redis"] = "ok"
    except Exception as err:  # noqa: BLE001
        checks["redis"] = f"error: {type(err).__name__}"
    try:
        runtime.store.ping()
        checks["object_store"] = "ok"
    except Exception as err:  # noqa: BLE001
        checks["object_store"] = f"error: {type(err).__name__}"
    ready = all(v == "ok" for v in checks.values())
    if not ready:
        log.warning("not ready: %s", checks)
    return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), \
        200 if ready else 503


@public.get("/p/<item_id>")
def item_page(item_id: str):
    runtime = _rt()
    with runtime.db.session() as session:
        item = session.get(Item, item_id)
        if item is None or item.status in ("draft", "in_review"):
            return render_template("public/missing.html"), 404
        if item.status == "withdrawn":
            return render_template("public/withdrawn.html", item=item), 410
        version = session.execute(select(ItemVersion).where(
            ItemVersion.item_id == item.id,
            ItemVersion.version == (item.approved_version or item.version))).scalar_one()
        org = session.get(Org, item.org_id)
        origin_org = None
        if item.origin_id:
            origin = session.get(Item, item.origin_id)
            origin_org = session.get(Org, origin.org_id) if origin else None
        cover = session.get(Asset, version.cover_asset_id) if version.cover_asset_id else None
        videos = [a for a in session.execute(select(Asset).where(
            Asset.id.in_(version.asset_ids or []))).scalars() if a.kind == "video"]
        return render_template("public/item.html", item=item, version=version, org=org,
                               origin_org=origin_org, cover=cover, videos=videos)


@public.get("/media/<asset_id>")
@public.get("/media/<asset_id>/<spec>")
def media(asset_id: str, spec: str | None = None):
    from storage.base import ObjectNotFound
    from storage.media import asset_key

    runtime = _rt()
    with runtime.db.session() as session:
        asset = session.get(Asset, asset_id)
    if asset is None:
        abort(404)
    try:
        if spec is None:
            data, content_type = runtime.store.get(asset_key(asset.sha256)), asset.content_type
        else:
            from storage.media_errors import MediaError
            from storage.renditions import Renditions

            try:
                data, content_type = Renditions(runtime.store).rendition(asset, spec)
            except (ValueError, MediaError):
                abort(404)
    except ObjectNotFound:
        abort(404)
    response = Response(data, content_type=content_type)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["ETag"] = f'"{asset.sha256[:32]}{spec or ""}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
