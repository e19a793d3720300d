"""Public, unauthenticated pages: the item page /p/<id>, stored media, health probes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..errors import ApiError
from ..models import Asset, Item, ItemVersion, Org
from ..security.auth import Principal, authenticate
from ..services import asset_access
from ..services.media_urls import public_body
from .public_headers import DATA_CSP, page_csp, protect

log = logging.getLogger("yunchu.public")
public = Blueprint("public", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/static/public")
# Media a withdrawal must reach: shared caches keep them five minutes at most, then revalidate.
PUBLIC_MEDIA_CACHE = "public, max-age=300, must-revalidate"
STAFF_MEDIA_CACHE = "private, no-cache"  # an unpublished asset shown to a logged-in reviewer
BEIJING = timezone(timedelta(hours=8), "CST")


def _rt():
    return current_app.extensions["yunchu"]


@public.after_request
def _headers(response: Response) -> Response:
    if request.endpoint == "public.media":
        return protect(response, DATA_CSP)
    return protect(response, page_csp(_rt().settings.public_url))


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


@public.get("/favicon.ico")
def favicon():
    """Browsers ask every site for this; an SVG answers for the admin and the public pages."""
    response = public.send_static_file("favicon.svg")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def beijing_time(moment: datetime | None) -> str:
    """A stored (naive UTC) time as readers in China read it, the zone named."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") + " 北京时间"


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
                               origin_org=origin_org, cover=cover, videos=videos,
                               body=public_body(version.body_html),
                               published=beijing_time(item.approved_at))


@public.get("/media/<asset_id>")
@public.get("/media/<asset_id>/<spec>")
def media(asset_id: str, spec: str | None = None):
    """An asset's bytes (or a rendition) while a published item shows it; staff also see the
    media of drafts they may read. Anything else, withdrawn items' media included: 404."""
    from storage.base import ObjectNotFound
    from storage.media import asset_key

    runtime = _rt()
    with runtime.db.session() as session:
        asset = session.get(Asset, asset_id)
        cache = _media_cache(session, asset) if asset is not None else None
    if asset is None or cache is None:
        return _media_missing()
    try:
        if spec is None:
            data, content_type = runtime.store.get(asset_key(asset.sha256)), asset.content_type
        else:
            from storage.media_errors import MediaError
            from storage.renditions import Renditions

            try:
                data, content_type = Renditions(runtime.store).rendition(asset, spec)
            except (ValueError, MediaError):
                return _media_missing()
    except ObjectNotFound:
        return _media_missing()
    response = Response(data, content_type=content_type)
    response.headers["Cache-Control"] = cache
    response.headers["Vary"] = "Authorization, Cookie"
    response.headers["ETag"] = f'"{asset.sha256[:32]}{spec or ""}"'
    return response.make_conditional(request)


def _media_cache(session: Session, asset: Asset) -> str | None:
    """The Cache-Control to serve ``asset`` with, or None when this caller may not have it."""
    if asset_access.is_public(session, asset.id):
        return PUBLIC_MEDIA_CACHE
    principal = _caller(session)
    if principal is not None and asset_access.staff_may_see(session, principal, asset):
        return STAFF_MEDIA_CACHE
    return None


def _caller(session: Session) -> Principal | None:
    """The logged-in caller (bearer token or admin session), or None for the public."""
    if "Authorization" not in request.headers and not request.cookies:
        return None
    try:
        return authenticate(session)
    except ApiError:
        return None


def _media_missing() -> Response:
    response = Response("not found\n", status=404, content_type="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Authorization, Cookie"
    return response
