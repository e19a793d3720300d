"""What the feeds show, read from the database on every request (no cache to invalidate).

``/feeds/<org>``: the org's own approved items. ``/feeds/library``: the shared library.
Both newest approval first; withdrawn items are never entries (the JSON feed lists recent
ones as tombstones). ``Feed.updated`` (the Last-Modified) is the newest change to any item
that is or ever was in the feed, so a withdrawal moves it forward, never back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from channels.feed_formats import Enclosure, Feed, FeedEntry, Reprint, Tombstone

from ..models import Asset, Item, ItemVersion, Org, utcnow
from . import library as library_service
from . import orgs as org_service
from .media_urls import public_body

LIBRARY = "library"
FEED_SIZE = 50
TOMBSTONE_WINDOW = timedelta(days=30)
MAX_TOMBSTONES = 100
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Scope:
    key: str
    title: str
    description: str
    author: str
    entries: Any  # WHERE clause of the current entries
    ever: Any  # WHERE clause of every item that is or may have been an entry
    floor: datetime  # Last-Modified of a feed that never had an entry


def scope_for(session: Session, key: str) -> Scope:
    """404 (the API's error shape, docs/contract.md) for an unknown org slug."""
    approved_once = Item.approved_at.is_not(None)
    if key == LIBRARY:
        return Scope(key=key, title="云稿库", author="云厨",
                     description="全省共享稿件，各级融媒体中心可转载（云稿库）",
                     entries=library_service.in_library(),
                     ever=and_(approved_once, Item.shared_to_library.is_(True)), floor=EPOCH)
    org = org_service.get_by_slug(session, key)
    return Scope(key=key, title=f"{org.name}", author=org.name,
                 description=f"{org.name}发布的稿件",
                 entries=and_(Item.org_id == org.id, Item.status == "approved",
                              Item.approved_version.is_not(None)),
                 ever=and_(Item.org_id == org.id, approved_once), floor=org.created_at)


def build(session: Session, key: str, *, base: str) -> Feed:
    scope = scope_for(session, key)
    rows = session.execute(
        select(Item, ItemVersion, Org)
        .join(ItemVersion, library_service.approved_version_join())
        .join(Org, Org.id == Item.org_id)
        .where(scope.entries)
        .order_by(Item.approved_at.desc(), Item.id.desc()).limit(FEED_SIZE)).all()
    assets = _assets(session, [v for _, v, _ in rows])
    origins = _origins(session, [i for i, _, _ in rows], base)
    entries = tuple(_entry(item, version, org, assets, origins, base)
                    for item, version, org in rows)
    return Feed(title=scope.title, description=scope.description, home_url=f"{base}/",
                base_url=f"{base}/feeds/{key}", updated=_last_modified(session, scope),
                author=scope.author, entries=entries, tombstones=_tombstones(session, scope, base))


def _last_modified(session: Session, scope: Scope) -> datetime:
    # Library: any approved item counts, shared or not, so un-sharing one moves it forward too.
    ever = Item.approved_at.is_not(None) if scope.key == LIBRARY else scope.ever
    newest = session.execute(select(func.max(Item.updated_at)).where(ever)).scalar_one_or_none()
    return max(newest or scope.floor, scope.floor)


def _tombstones(session: Session, scope: Scope, base: str) -> tuple[Tombstone, ...]:
    since = utcnow() - TOMBSTONE_WINDOW
    rows = session.execute(
        select(Item.id, Item.withdrawn_at)
        .where(scope.ever, Item.status == "withdrawn", Item.withdrawn_at >= since)
        .order_by(Item.withdrawn_at.desc(), Item.id.desc()).limit(MAX_TOMBSTONES)).all()
    return tuple(Tombstone(id=item_id, url=f"{base}/p/{item_id}", withdrawn_at=at)
                 for item_id, at in rows)


def _assets(session: Session, versions: list[ItemVersion]) -> dict[str, Asset]:
    wanted = {a for v in versions for a in (v.asset_ids or [])}
    wanted |= {v.cover_asset_id for v in versions if v.cover_asset_id}
    if not wanted:
        return {}
    return {a.id: a for a in session.execute(select(Asset).where(Asset.id.in_(wanted))).scalars()}


def _origins(session: Session, items: list[Item], base: str) -> dict[str, tuple[str, str]]:
    """origin item id -> (origin org name, origin page URL)."""
    wanted = {i.origin_id for i in items if i.origin_id}
    if not wanted:
        return {}
    rows = session.execute(select(Item.id, Org.name).join(Org, Org.id == Item.org_id)
                           .where(Item.id.in_(wanted))).all()
    return {item_id: (name, f"{base}/p/{item_id}") for item_id, name in rows}


def _entry(item: Item, version: ItemVersion, org: Org, assets: dict[str, Asset],
           origins: dict[str, tuple[str, str]], base: str) -> FeedEntry:
    cover = assets.get(version.cover_asset_id) if version.cover_asset_id else None
    videos = [assets[a] for a in version.asset_ids or [] if a in assets
              and assets[a].kind == "video"]
    enclosures = tuple(Enclosure(url=f"{base}/media/{a.id}", content_type=a.content_type,
                                 length=a.bytes, duration_s=a.duration_s)
                       for a in [*videos, *([cover] if cover else [])])
    reprint = None
    if item.origin_id and item.origin_id in origins:
        org_name, url = origins[item.origin_id]
        reprint = Reprint(item_id=item.origin_id, org_name=org_name,
                          source=version.source or org_name, url=url)
    assert item.approved_at is not None
    return FeedEntry(
        id=item.id, url=f"{base}/p/{item.id}", title=version.title, summary=version.summary,
        content_html=public_body(version.body_html, base), author=version.author or org.name,
        published=item.approved_at, updated=max(item.updated_at, item.approved_at),
        tags=tuple(version.tags or ()),
        image=f"{base}/media/{cover.id}/thumb_feed" if cover else None,
        enclosures=enclosures, reprint=reprint,
        extra={"org": org.slug, "org_name": org.name, "kind": item.kind,
               "version": version.version})
