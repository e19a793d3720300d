"""Uploading media and reading an asset's record: who may, and whose uploads they see. The
REST API and the admin UI call these. Uploads are checked by content and stored once per
content hash."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ApiError, not_found
from ..infra.ids import new_id
from ..infra.runtime import Runtime
from ..messages import Message
from ..models import Asset
from ..security.auth import Principal
from ..security.permissions import require
from . import asset_access
from .media_urls import asset_json

ACCEPTED = ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4"]


def require_uploader(principal: Principal) -> None:
    require(principal, "asset.create")


def upload(runtime: Runtime, principal: Principal, data: bytes) -> dict[str, Any]:
    """Store an uploaded file (read with at most ``max_upload_bytes + 1`` bytes): 413 when too
    large, 415 when not an accepted image or video."""
    from storage.media import MediaTooLarge, UnsupportedMedia, asset_key, inspect_upload

    require_uploader(principal)
    try:
        inspected = inspect_upload(data, max_bytes=runtime.settings.max_upload_bytes,
                                   max_image_pixels=runtime.settings.max_image_pixels)
    except MediaTooLarge as err:
        raise ApiError(413, err.reason, code="too_large") from None
    except UnsupportedMedia as err:
        raise ApiError(415, err.reason, code="unsupported_media_type",
                       details={"accepted": ACCEPTED}) from None
    with runtime.db.session() as session:
        asset = session.execute(select(Asset).where(Asset.sha256 == inspected.sha256)
                                ).scalar_one_or_none()
        if asset is None:
            runtime.store.put(asset_key(inspected.sha256), inspected.data, inspected.content_type)
            asset = Asset(id=new_id("ast"), sha256=inspected.sha256, kind=inspected.kind,
                          content_type=inspected.content_type, bytes=len(inspected.data),
                          width=inspected.width, height=inspected.height,
                          duration_s=inspected.duration_s, org_id=principal.org_id,
                          created_by=principal.user_id)
            session.add(asset)
        return asset_json(asset)


def get(session: Session, principal: Principal, asset_id: str) -> dict[str, Any]:
    require(principal, "item.read")
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise not_found("素材", asset_id)
    # Another org's upload: 403 like any out-of-scope object (unless an item here uses it).
    if not asset_access.staff_may_see(session, principal, asset):
        raise ApiError(403, Message("access.scope"),
                       details={"action": "item.read"})
    return asset_json(asset)
