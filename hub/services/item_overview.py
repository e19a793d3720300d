"""Reads of items for the admin UI's pages that the REST API has no route for: the item list
(newest first, by status, title or org) and one item's history (versions, deliveries, pushes,
withdrawals), each scoped to the caller's org subtree like every read of the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import ApiError
from ..fanout.progress import WITHDRAW_REMAINING, failed_counts
from ..fanout.rights import withdrawal_scope
from ..models import PUBLISH_OPEN, Delivery, Dispatch, Item, ItemVersion, Org, User, Withdrawal
from ..security.auth import Principal
from ..security.permissions import require
from . import orgs as org_service
from .scoping import in_scope

ITEMS_PAGE = 50


def finished(db: Session, model: Any, ids: list[str]) -> set[str]:
    """Which of these dispatches (or withdrawals) have nothing left to do: the same rule as
    their progress in the API (no delivery in an open state)."""
    if not ids:
        return set()
    column, states = ((Delivery.dispatch_id, PUBLISH_OPEN) if model is Dispatch
                      else (Delivery.withdrawal_id, WITHDRAW_REMAINING))
    busy = set(db.execute(select(column).where(column.in_(ids), Delivery.state.in_(states))
                          .group_by(column)).scalars())
    return set(ids) - busy


@dataclass(frozen=True)
class ItemFilter:
    status: str | None = None
    q: str | None = None
    org: str | None = None
    before: str | None = None  # cursor: item ids sort by creation time


@dataclass
class ItemRow:
    id: str
    title: str
    status: str
    kind: str
    version: int
    org_slug: str
    org_name: str
    updated_at: datetime | None


def items_page(db: Session, principal: Principal, where: ItemFilter,
               limit: int | None = None) -> tuple[list[ItemRow], str | None]:
    """One page of items, newest first, and the cursor of the next page (None: the last)."""
    require(principal, "item.read")
    limit = limit or ITEMS_PAGE
    query = in_scope(
        select(Item, ItemVersion.title, Org.slug, Org.name)
        .join(Org, Org.id == Item.org_id)
        .join(ItemVersion, (ItemVersion.item_id == Item.id)
              & (ItemVersion.version == Item.version)), principal)
    if where.org:
        org = org_service.get_by_slug(db, where.org)
        require(principal, "item.read", org_path=org.path)
        query = query.where(Org.path.startswith(org.path, autoescape=True))
    if where.status:
        query = query.where(Item.status == where.status)
    if where.q:
        query = query.where(ItemVersion.title.contains(where.q, autoescape=True))
    if where.before:
        query = query.where(Item.id < where.before)
    rows = db.execute(query.order_by(Item.id.desc()).limit(limit + 1)).all()
    page = [ItemRow(id=i.id, title=title, status=i.status, kind=i.kind, version=i.version,
                    org_slug=slug, org_name=name, updated_at=i.updated_at)
            for i, title, slug, name in rows[:limit]]
    return page, (page[-1].id if len(rows) > limit else None)




@dataclass
class ItemHistory:
    versions: list[dict[str, Any]]
    deliveries: dict[str, int]
    dispatches: list[dict[str, Any]]
    withdrawals: list[dict[str, Any]]
    withdraw_reach: str | None  # "all", "own" or None (no right)


def item_history(db: Session, principal: Principal, item_id: str) -> ItemHistory:
    """Versions, delivery counts, pushes and withdrawals of an item the caller may read."""
    item = db.get(Item, item_id)
    if item is None:
        raise ApiError(404)
    require(principal, "item.read", org_path=db.get(Org, item.org_id).path)
    versions = db.execute(
        select(ItemVersion.version, ItemVersion.title, ItemVersion.created_at, User.name)
        .outerjoin(User, User.id == ItemVersion.created_by)
        .where(ItemVersion.item_id == item.id).order_by(ItemVersion.version.desc())).all()
    deliveries = dict(db.execute(select(Delivery.state, func.count())
                                 .where(Delivery.item_id == item.id)
                                 .group_by(Delivery.state)).all())
    dispatches = db.execute(select(Dispatch.id, Dispatch.version, Dispatch.total,
                                   Dispatch.created_at)
                            .where(Dispatch.item_id == item.id)
                            .order_by(Dispatch.created_at.desc())).all()
    withdrawals = _withdrawals_covering(db, item)
    dispatches_done = finished(db, Dispatch, [r[0] for r in dispatches])
    withdrawals_done = finished(db, Withdrawal, [r[0] for r in withdrawals])
    dispatches_failed = failed_counts(db, Delivery.dispatch_id, [r[0] for r in dispatches])
    withdrawals_failed = failed_counts(db, Delivery.withdrawal_id, [r[0] for r in withdrawals])
    return ItemHistory(
        versions=[{"version": v, "title": t, "created_at": at, "by": by}
                  for v, t, at, by in versions],
        deliveries=deliveries,
        dispatches=[{"id": i, "version": v, "total": n, "created_at": at,
                     "done": i in dispatches_done, "failed": dispatches_failed.get(i, 0)}
                    for i, v, n, at in dispatches],
        withdrawals=[{"id": i, "reason": r, "total": n, "created_at": at,
                      "done": i in withdrawals_done, "failed": withdrawals_failed.get(i, 0)}
                     for i, r, n, at in withdrawals],
        withdraw_reach=_withdraw_reach(db, principal, item))


def _withdrawals_covering(db: Session, item: Item) -> list[Any]:
    """Withdrawals of the item and those of its origins that covered it (a reprint is
    withdrawn with its origin: that withdrawal is its own record too), newest first."""
    chain, seen = [item.id], {item.id}
    origin = item.origin_id
    while origin and origin not in seen:  # a reprint of a reprint: a short chain
        chain.append(origin)
        seen.add(origin)
        origin = db.execute(select(Item.origin_id).where(Item.id == origin)).scalar_one_or_none()
    rows = db.execute(select(Withdrawal.id, Withdrawal.reason, Withdrawal.total,
                             Withdrawal.created_at, Withdrawal.item_id, Withdrawal.item_ids)
                      .where(Withdrawal.item_id.in_(chain))
                      .order_by(Withdrawal.created_at.desc())).all()
    return [r[:4] for r in rows if r[4] == item.id or item.id in (r[5] or [])]


def _withdraw_reach(db: Session, principal: Principal, item: Item) -> str | None:
    """How far this caller's withdrawal would reach, by the API's own rule."""
    try:
        scope = withdrawal_scope(db, principal, item)
    except ApiError:
        return None
    return "all" if scope is None else "own"


def item_title(db: Session, item_id: str) -> str | None:
    """The current title of an item (for a page about its push or withdrawal)."""
    return db.execute(select(ItemVersion.title).join(Item, Item.id == ItemVersion.item_id)
                      .where(Item.id == item_id, ItemVersion.version == Item.version)
                      ).scalar_one_or_none()
