"""/api/v1/orgs"""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import func, select

from ..audit import record
from ..auth import current
from ..errors import invalid
from ..messages import Message
from ..models import Org
from ..permissions import require
from ..request_limits import bulk_json
from ..services import orgs as org_service
from ..validation import json_body, limit_arg
from . import api
from .common import cursor_arg, page, rt

MAX_IMPORT = 60_000


@api.post("/orgs")
def create_org():
    principal = current()
    spec = org_service.parse_org(json_body())
    with rt().db.session() as session:
        parent = org_service.get_parent(session, spec.parent)
        require(principal, "org.manage", org_path=parent.path if parent else None)
        if parent is None and principal.org_path is not None:
            require(principal, "org.manage", org_path="/")
        org = org_service.create(session, spec)
        record(session, "org.create", target=org.slug)
        data = org_service.to_json(org, parent_slug=spec.parent, children=0)
    return jsonify(data), 201


@api.post("/orgs/import")
@bulk_json
def import_orgs():
    principal = current()
    require(principal, "org.manage")
    body = json_body()
    raw = body.get("orgs")
    if not isinstance(raw, list):
        raise invalid("orgs", Message("import.orgs_list"))
    if len(raw) > MAX_IMPORT:
        raise invalid("orgs", Message("import.orgs_limit", most=MAX_IMPORT))
    specs = [org_service.parse_org(o, where=f"orgs[{i}]") for i, o in enumerate(raw)]
    with rt().db.session() as session:
        # Every org it creates, moves or renames must lie in the caller's subtree.
        created, updated = org_service.bulk_import(session, specs, covers=principal.covers_path)
        record(session, "org.import", details={"created": created, "updated": updated})
    return jsonify({"created": created, "updated": updated})


@api.get("/orgs/<slug>")
def get_org(slug: str):
    principal = current()
    with rt().db.session() as session:
        org = org_service.get_by_slug(session, slug)
        require(principal, "org.read", org_path=org.path)
        data = org_service.to_json(org, parent_slug=org_service.slug_of(session, org.parent_id),
                                   children=org_service.children_count(session, org))
    return jsonify(data)


@api.get("/orgs")
def list_orgs():
    principal = current()
    require(principal, "org.read")
    limit = limit_arg()
    after = cursor_arg()
    with rt().db.session() as session:
        parent = aliased_parent()
        query = select(Org, parent.slug).outerjoin(parent, parent.id == Org.parent_id)
        if principal.org_path is not None:
            query = query.where(Org.path.startswith(principal.org_path, autoescape=True))
        if request.args.get("parent"):
            parent_org = org_service.get_by_slug(session, request.args["parent"])
            query = query.where(Org.parent_id == parent_org.id)
        if request.args.get("kind"):
            query = query.where(Org.kind == request.args["kind"])
        if after:
            query = query.where(Org.id > after)
        rows = session.execute(query.order_by(Org.id).limit(limit + 1)).all()
        rows, next_cursor = page(rows, limit, lambda r: r[0].id)
        items = [org_service.to_json(o, parent_slug=p) for o, p in rows]
        total = session.execute(select(func.count()).select_from(Org)).scalar_one() \
            if principal.org_path is None else None
    return jsonify({"items": items, "next_cursor": next_cursor, "total": total})


def aliased_parent():
    from sqlalchemy.orm import aliased

    return aliased(Org)
