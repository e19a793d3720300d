"""What a principal may do with the org tree: create and import orgs (inside their subtree),
read them, and the lists of their own orgs the admin UI offers as choices, each with its
permission check and audit entry. The REST API and the admin UI call these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ..models import Org
from ..security.audit import record
from ..security.auth import Principal
from ..security.permissions import require
from ..validation import import_rows
from . import orgs as org_service
from .paging import decode_cursor, keyset_page
from .scoping import in_scope

MAX_IMPORT = 60_000


def create(session: Session, principal: Principal, body: Any) -> dict[str, Any]:
    """A new org under ``parent`` (inside the caller's subtree); a root only province-wide."""
    spec = org_service.parse_org(body)
    parent = org_service.get_parent(session, spec.parent)
    require(principal, "org.manage", org_path=parent.path if parent else None)
    if parent is None and principal.org_path is not None:
        require(principal, "org.manage", org_path="/")
    org = org_service.create(session, spec)
    record(session, "org.create", target=org.slug)
    return org_service.to_json(org, parent_slug=spec.parent, children=0)


def require_manager(principal: Principal) -> None:
    require(principal, "org.manage")


def import_all(session: Session, principal: Principal, raw: Any) -> dict[str, int]:
    """Create, move or rename every org of ``raw`` (a list of org objects), all or none; each
    must lie in the caller's subtree."""
    require_manager(principal)
    rows = import_rows(raw, "orgs", most=MAX_IMPORT)
    specs = [org_service.parse_org(o, where=f"orgs[{i}]") for i, o in enumerate(rows)]
    created, updated = org_service.bulk_import(session, specs, covers=principal.covers_path)
    record(session, "org.import", details={"created": created, "updated": updated})
    return {"created": created, "updated": updated}


def get(session: Session, principal: Principal, slug: str) -> dict[str, Any]:
    org = org_service.get_by_slug(session, slug)
    require(principal, "org.read", org_path=org.path)
    return org_service.to_json(org, parent_slug=org_service.slug_of(session, org.parent_id),
                               children=org_service.children_count(session, org))


def require_reader(principal: Principal) -> None:
    require(principal, "org.read")


def list_page(session: Session, principal: Principal, *, parent: str | None, kind: str | None,
              limit: int, cursor: str | None) -> dict[str, Any]:
    """Orgs of the caller's subtree by id (``parent``'s children, of one ``kind``), the next
    cursor, and for a province-wide caller the total."""
    require_reader(principal)
    after = decode_cursor(cursor)
    parent_org = aliased(Org)
    query = in_scope(select(Org, parent_org.slug).outerjoin(parent_org,
                                                           parent_org.id == Org.parent_id),
                     principal)
    if parent:
        query = query.where(Org.parent_id == org_service.get_by_slug(session, parent).id)
    if kind:
        query = query.where(Org.kind == kind)
    rows, next_cursor = keyset_page(session, query, Org.id, limit=limit, after=after)
    total = session.execute(select(func.count()).select_from(Org)).scalar_one() \
        if principal.org_path is None else None
    return {"items": [org_service.to_json(o, parent_slug=p) for o, p in rows],
            "next_cursor": next_cursor, "total": total}


def choices(session: Session, principal: Principal, limit: int = 500) -> list[tuple[str, str]]:
    """(slug, name) of orgs in the caller's subtree, for filter suggestions."""
    rows = session.execute(in_scope(select(Org.slug, Org.name), principal)
                           .order_by(Org.path).limit(limit)).all()
    return [(slug, name) for slug, name in rows]


def own_name(session: Session, principal: Principal) -> str | None:
    """The name of the caller's org (None province-wide)."""
    if principal.org_id is None:
        return None
    return session.execute(select(Org.name).where(Org.id == principal.org_id)
                           ).scalar_one_or_none()


def whole_scope(session: Session, principal: Principal) -> list[str]:
    """The org slugs that make up "everything in my scope": the caller's org, or every root."""
    if principal.org_id is not None:
        return [session.execute(select(Org.slug).where(Org.id == principal.org_id)
                                ).scalar_one()]
    return list(session.execute(select(Org.slug).where(Org.parent_id.is_(None))
                                .order_by(Org.slug)).scalars())
