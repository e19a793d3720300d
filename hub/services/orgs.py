"""The region tree: create, bulk import (upsert by slug), subtree queries by path prefix."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, func, insert, literal, select, update
from sqlalchemy.orm import Session

from ..errors import ApiError, conflict, invalid, not_found
from ..infra.ids import new_id
from ..messages import Message
from ..models import ORG_KINDS, Org
from ..validation import field_message

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Names the hub's own URLs use where an org slug could go (/feeds/library.rss).
RESERVED_SLUGS = frozenset({"library"})


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    name: str
    kind: str
    parent: str | None


def parse_org(body: Any, *, where: str = "") -> OrgSpec:
    prefix = f"{where}." if where else ""
    if not isinstance(body, dict):
        raise invalid(where or "org", Message("orgs.object"))
    slug = body.get("slug")
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise invalid(f"{prefix}slug", Message("orgs.slug"))
    if slug in RESERVED_SLUGS:
        raise invalid(f"{prefix}slug", Message("orgs.slug_reserved", slug=slug))
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise invalid(f"{prefix}name", Message("orgs.name"))
    kind = body.get("kind")
    if kind not in ORG_KINDS:
        raise invalid(f"{prefix}kind", field_message("field.choice", "kind",
                                                     options_zh="、".join(ORG_KINDS),
                                                     options_en=", ".join(ORG_KINDS)))
    parent = body.get("parent")
    if parent is not None and (not isinstance(parent, str) or not parent):
        raise invalid(f"{prefix}parent", Message("orgs.parent"))
    if parent == slug:
        raise invalid(f"{prefix}parent", Message("orgs.own_parent"))
    return OrgSpec(slug=slug, name=name.strip(), kind=kind, parent=parent)


def get_by_slug(session: Session, slug: str, *, field: str | None = None) -> Org:
    org = session.execute(select(Org).where(Org.slug == slug)).scalar_one_or_none()
    if org is None:
        err = not_found("机构", slug)
        if field:
            err.details["field"] = field
        raise err
    return org


def create(session: Session, spec: OrgSpec) -> Org:
    if session.execute(select(Org.id).where(Org.slug == spec.slug)).first():
        raise conflict(Message("orgs.duplicate_slug", slug=spec.slug), code="duplicate_slug",
                       field="slug")
    parent = get_parent(session, spec.parent)
    org_id = new_id("org")
    path = (parent.path if parent else "/") + org_id + "/"
    org = Org(id=org_id, slug=spec.slug, name=spec.name, kind=spec.kind,
              parent_id=parent.id if parent else None, path=path,
              depth=(parent.depth + 1) if parent else 0)
    session.add(org)
    session.flush()
    return org


def get_parent(session: Session, slug: str | None) -> Org | None:
    if slug is None:
        return None
    parent = session.execute(select(Org).where(Org.slug == slug)).scalar_one_or_none()
    if parent is None:
        raise ApiError(404, Message("orgs.parent_not_found", slug=slug), code="not_found",
                       details={"field": "parent", "id": slug})
    return parent


def bulk_import(session: Session, specs: list[OrgSpec],
                covers: Callable[[str], bool] | None = None) -> tuple[int, int]:
    """Upsert by slug; parents must come before children (or exist already).

    ``covers`` (the caller's scope) must hold for every org the import touches: an existing
    org's place, and the parent an org is created or moved under. A new root is the
    province's business (a caller without an org). Checked before anything is written."""
    known: dict[str, tuple[str, str, str | None, int]] = {
        slug: (oid, path, parent_id, depth)
        for slug, oid, path, parent_id, depth in session.execute(
            select(Org.slug, Org.id, Org.path, Org.parent_id, Org.depth))
    }
    new_rows: list[dict[str, Any]] = []
    updates: list[tuple[OrgSpec, str]] = []
    seen: set[str] = set()
    outside: list[str] = []
    for index, spec in enumerate(specs):
        if spec.slug in seen:
            raise invalid(f"orgs[{index}].slug", f"slug {spec.slug} 在本次导入中重复 "
                                                 f"(slug appears twice in this import)")
        seen.add(spec.slug)
        parent = known.get(spec.parent) if spec.parent else None
        if spec.parent and parent is None:
            raise invalid(f"orgs[{index}].parent", f"找不到上级机构 {spec.parent}，上级须排在下级之前 "
                                                   f"(parent not found; list parents before children)")
        parent_path = parent[1] if parent else "/"
        if spec.slug in known:
            oid, path, parent_id, depth = known[spec.slug]
            moved = parent_id != (parent[0] if parent else None)
            if covers is not None and not (covers(path) and (not moved or covers(parent_path))):
                outside.append(spec.slug)
            updates.append((spec, parent[0] if parent else None))
            continue
        if covers is not None and not covers(parent_path):
            outside.append(spec.slug)
        oid = new_id("org")
        path = parent_path + oid + "/"
        depth = parent[3] + 1 if parent else 0
        known[spec.slug] = (oid, path, parent[0] if parent else None, depth)
        new_rows.append({"id": oid, "slug": spec.slug, "name": spec.name, "kind": spec.kind,
                         "parent_id": parent[0] if parent else None, "path": path, "depth": depth})
    if outside:
        raise ApiError(403, Message("orgs.import_outside"),
                       details={"orgs": outside[:50], "count": len(outside)})
    if new_rows:
        session.execute(insert(Org), new_rows)
    for spec, parent_id in updates:
        _update_existing(session, spec, parent_id)
    return len(new_rows), len(updates)


def _update_existing(session: Session, spec: OrgSpec, parent_id: str | None) -> None:
    org = session.execute(select(Org).where(Org.slug == spec.slug)).scalar_one()
    org.name, org.kind = spec.name, spec.kind
    if org.parent_id != parent_id:
        move(session, org, parent_id)


def move(session: Session, org: Org, parent_id: str | None) -> None:
    """Re-parent ``org``; every descendant's path follows in one statement."""
    parent = session.get(Org, parent_id) if parent_id else None
    if parent is not None and parent.path.startswith(org.path):
        raise invalid("parent", Message("orgs.move_under_own"))
    old_path = org.path
    new_path = (parent.path if parent else "/") + org.id + "/"
    depth_change = ((parent.depth + 1) if parent else 0) - org.depth
    session.execute(
        update(Org)
        .where(Org.path.startswith(old_path, autoescape=True))
        .values(path=literal(new_path, String) + func.substr(Org.path, len(old_path) + 1),
                depth=Org.depth + depth_change)
        .execution_options(synchronize_session=False)
    )
    org.parent_id = parent.id if parent else None
    session.flush()
    session.refresh(org)


def children_count(session: Session, org: Org) -> int:
    return session.execute(select(func.count()).where(Org.parent_id == org.id)).scalar_one()


def to_json(org: Org, *, parent_slug: str | None, children: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": org.id, "slug": org.slug, "name": org.name, "kind": org.kind,
                            "parent": parent_slug, "depth": org.depth}
    if children is not None:
        data["children_count"] = children
    return data


def slug_of(session: Session, org_id: str | None) -> str | None:
    if org_id is None:
        return None
    return session.execute(select(Org.slug).where(Org.id == org_id)).scalar_one_or_none()
