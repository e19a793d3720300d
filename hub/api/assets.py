"""/api/v1/assets: uploads checked by content, stored by content hash."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select

from ..auth import current
from ..errors import ApiError, not_found
from ..ids import new_id
from ..messages import Message
from ..models import Asset
from ..permissions import require
from ..request_limits import upload
from ..services import asset_access
from ..services.media_urls import asset_json
from . import api
from .common import rt


@api.post("/assets")
@upload
def upload_asset():
    from storage.media import MediaTooLarge, UnsupportedMedia, asset_key, inspect_upload

    principal = current()
    require(principal, "asset.create")
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(400, Message("assets.missing_file"), code="missing_file")
    runtime = rt()
    data = upload.read(runtime.settings.max_upload_bytes + 1)
    try:
        inspected = inspect_upload(data, max_bytes=runtime.settings.max_upload_bytes,
                                   max_image_pixels=runtime.settings.max_image_pixels)
    except MediaTooLarge as err:
        raise ApiError(413, err.reason, code="too_large") from None
    except UnsupportedMedia as err:
        raise ApiError(415, err.reason, code="unsupported_media_type",
                       details={"accepted": ["image/jpeg", "image/png", "image/gif",
                                             "image/webp", "video/mp4"]}) from None
    with runtime.db.session() as session:
        asset = session.execute(select(Asset).where(Asset.sha256 == inspected.sha256)).scalar_one_or_none()
        if asset is None:
            runtime.store.put(asset_key(inspected.sha256), inspected.data, inspected.content_type)
            asset = Asset(id=new_id("ast"), sha256=inspected.sha256, kind=inspected.kind,
                          content_type=inspected.content_type, bytes=len(inspected.data),
                          width=inspected.width, height=inspected.height,
                          duration_s=inspected.duration_s, org_id=principal.org_id,
                          created_by=principal.user_id)
            session.add(asset)
        data = asset_json(asset)
    return jsonify(data), 201


@api.get("/assets/<asset_id>")
def get_asset(asset_id: str):
    principal = current()
    require(principal, "item.read")
    with rt().db.session() as session:
        asset = session.get(Asset, asset_id)
        if asset is None:
            raise not_found("素材", asset_id)
        # Another org's upload: 403 like any out-of-scope object (unless an item here uses it).
        if not asset_access.staff_may_see(session, principal, asset):
            raise ApiError(403, Message("access.scope"),
                           details={"action": "item.read"})
        data = asset_json(asset)
    return jsonify(data)
