"""Who may fetch a stored asset's bytes (``/media/<id>``) and read its metadata.

The bytes are public only while a published item shows them: an approved, not withdrawn item
whose approved version has the asset as cover, as an attached asset or as a ``/media/<id>``
link in its body. A withdrawal therefore takes the cover, the images and every rendition off
the hub at once. Staff still see the media of drafts they may read (the admin's review page):
their own org subtree's uploads and the media of their subtree's items.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Select, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from ..models import Asset, Item, ItemVersion, Org
from ..security.auth import Principal
from ..security.permissions import may


def _like_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _lists(session: Session, asset_id: str) -> ColumnElement[bool]:
    """``asset_id`` is in the version's ``asset_ids`` (a JSON list) on PostgreSQL and SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(ItemVersion.asset_ids, JSONB).contains([asset_id])
    each = func.json_each(ItemVersion.asset_ids).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == asset_id))


def _versions(session: Session, *, live_only: bool, org_path: str | None) -> Select:
    """Versions of live items' approved text (``live_only``), or of any item under ``org_path``."""
    query = select(ItemVersion.body_html).join(Item, Item.id == ItemVersion.item_id)
    if live_only:
        query = query.where(Item.status == "approved",
                            ItemVersion.version == func.coalesce(Item.approved_version,
                                                                 Item.version))
    if org_path is not None:
        query = query.join(Org, Org.id == Item.org_id).where(
            Org.path.like(_like_escaped(org_path) + "%", escape="\\"))
    return query


def _shown(session: Session, asset_id: str, *, live_only: bool,
           org_path: str | None = None) -> bool:
    """Whether such a version shows ``asset_id``: as cover, attached, or linked in the body."""
    versions = _versions(session, live_only=live_only, org_path=org_path)
    attached = versions.where(or_(ItemVersion.cover_asset_id == asset_id,
                                  _lists(session, asset_id)))
    if session.execute(attached.limit(1)).first() is not None:
        return True
    # The LIKE is a pre-filter: a link to a longer id starting with this one is not a link to it.
    linked = versions.where(ItemVersion.body_html.like(
        f"%/media/{_like_escaped(asset_id)}%", escape="\\"))
    link = re.compile(r"/media/" + re.escape(asset_id) + r"(?![A-Za-z0-9_-])")
    return any(link.search(body) for body in session.execute(linked.limit(100)).scalars())


def is_public(session: Session, asset_id: str) -> bool:
    """A published, not withdrawn item shows this asset."""
    return _shown(session, asset_id, live_only=True)


def staff_may_see(session: Session, principal: Principal, asset: Asset) -> bool:
    """Metadata and (unpublished) bytes: the uploader's org subtree, or an item of the
    caller's subtree that uses the asset. Province-wide staff see every upload."""
    if not may(principal, "item.read"):
        return False
    if principal.province_wide:
        return True
    if asset.org_id is not None:
        asset_path = session.execute(select(Org.path).where(Org.id == asset.org_id)).scalar()
        if asset_path is not None and principal.covers_path(asset_path):
            return True
    return _shown(session, asset.id, live_only=False, org_path=principal.org_path)
