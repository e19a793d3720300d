"""Item version -> platform post, once per (item, version, platform) per process."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import AssetView, CannotRender, ItemVersionView, OriginView, Post

from ..models import Asset, Item, ItemVersion, Org
from ..platforms import channel
from ..services.media_urls import public_body


def public_base(settings: Any) -> str:
    """The base of the links a post carries (/p/<id>, media): the public URL, else the hub's
    default address."""
    return (settings.public_url or "http://127.0.0.1:8000").rstrip("/")


def _asset_view(asset: Asset, base: str) -> AssetView:
    return AssetView(id=asset.id, kind=asset.kind, content_type=asset.content_type,
                     sha256=asset.sha256, bytes=asset.bytes, width=asset.width,
                     height=asset.height, duration_s=asset.duration_s,
                     url=f"{base}/media/{asset.id}")


def item_view(session: Session, item_id: str, version: int, public_base: str) -> ItemVersionView:
    item = session.get(Item, item_id)
    row = session.execute(select(ItemVersion).where(ItemVersion.item_id == item_id,
                                                    ItemVersion.version == version)).scalar_one()
    org = session.get(Org, item.org_id)
    wanted = list(row.asset_ids or []) + ([row.cover_asset_id] if row.cover_asset_id else [])
    assets = {a.id: a for a in session.execute(select(Asset).where(Asset.id.in_(wanted))).scalars()}
    origin = None
    if item.origin_id:
        source_item = session.get(Item, item.origin_id)
        source_org = session.get(Org, source_item.org_id) if source_item else None
        if source_item and source_org:
            origin = OriginView(item_id=source_item.id, org_name=source_org.name,
                                source=row.source or source_org.name,
                                url=f"{public_base}/p/{source_item.id}")
    return ItemVersionView(
        item_id=item.id, version=version, kind=item.kind, title=row.title,
        body_html=public_body(row.body_html, public_base), summary=row.summary, author=row.author, source=row.source,
        tags=tuple(row.tags or ()),
        cover=_asset_view(assets[row.cover_asset_id], public_base) if row.cover_asset_id else None,
        assets=tuple(_asset_view(assets[a], public_base) for a in row.asset_ids or ()
                     if a in assets),
        public_url=f"{public_base}/p/{item.id}", org_name=org.name, origin=origin)


class RenderCache:
    """Rendered posts (or the reason they cannot render), shared by every batch of a process."""

    def __init__(self, media: Any, public_base: str, max_entries: int = 256):
        self._media = media
        self._public_base = public_base
        self._max = max_entries
        self._posts: dict[tuple[str, int, str], Post | CannotRender] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, item_id: str, version: int, platform: str) -> Post:
        key = (item_id, version, platform)
        with self._lock:
            cached = self._posts.get(key)
        if cached is None:
            try:
                view = item_view(session, item_id, version, self._public_base)
                cached = channel(platform).render(view, self._media)
            except CannotRender as err:
                cached = err
            with self._lock:
                if len(self._posts) >= self._max:
                    self._posts.pop(next(iter(self._posts)))
                self._posts[key] = cached
        if isinstance(cached, CannotRender):
            raise cached
        return cached
