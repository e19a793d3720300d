"""/api/v1/library: browse the shared library (云稿库) and pull an item into one's own org."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy.orm import Session

from ..audit import record, record_separately
from ..auth import Principal, current
from ..errors import ApiError, invalid
from ..messages import Message
from ..models import Item, Org
from ..permissions import may, require
from ..services import items as item_service
from ..services import library as library_service
from ..services import orgs as org_service
from ..services.media_urls import item_url
from ..validation import json_body, limit_arg
from . import api
from .common import cursor_arg, page, rt


@api.get("/library")
def list_library():
    """Approved shared items, newest first: ?q=&tag=&org=&descendants=&limit=&cursor="""
    principal = current()
    require(principal, "library.read")
    terms = library_service.parse_terms(request.args.get("q"))
    tag = (request.args.get("tag") or "").strip() or None
    if tag is not None and len(tag) > item_service.MAX_TAG_LEN:
        raise invalid("tag", Message("library.tag_too_long", max_len=item_service.MAX_TAG_LEN))
    descendants = request.args.get("descendants", "0").lower() in {"1", "true", "yes"}
    limit = limit_arg(default=20, maximum=100)
    after = library_service.parse_cursor(cursor_arg())
    with rt().db.session() as session:
        org_id = org_path = None
        if request.args.get("org"):
            org = org_service.get_by_slug(session, request.args["org"], field="org")
            org_id, org_path = org.id, org.path
        where = library_service.LibraryFilter(terms=terms, tag=tag, org_id=org_id,
                                              org_path=org_path, descendants=descendants,
                                              after=after)
        query = library_service.library_query(session, where).limit(limit + 1)
        rows = session.execute(query).all()
        rows, next_cursor = page(rows, limit, lambda r: library_service.cursor_key(r[0]))
        origins = library_service.origin_names(session, [r[0] for r in rows])
        items = [library_service.entry_json(item, version, org, url=item_url(item.id),
                                            origins=origins)
                 for item, version, org in rows]
    return jsonify({"items": items, "next_cursor": next_cursor})


@api.post("/library/<item_id>/pull")
def pull_library_item(item_id: str):
    """Pull (adopt) a library item: a derived draft in ``org`` for that org's own review."""
    principal = current()
    require(principal, "library.pull")
    body = json_body()
    wanted = library_service.parse_pull(body)
    org_slug = body.get("org")
    if org_slug is not None and (not isinstance(org_slug, str) or not org_slug):
        raise invalid("org", Message("items.org_slug"))
    runtime = rt()
    try:
        with runtime.db.session() as session:
            origin = item_service.get(session, item_id, for_update=True)
            if org_slug is not None:
                org = org_service.get_by_slug(session, org_slug, field="org")
            elif principal.org_id is not None:
                org = session.get(Org, principal.org_id)
            else:
                raise invalid("org", Message("library.org_required"))
            require(principal, "library.pull", org_path=org.path)
            if not origin.shared_to_library and not _may_read(session, principal, origin):
                # A private draft of another org is not the caller's business: unknown id.
                raise ApiError(404, Message("library.not_found", id=item_id),
                               details={"id": item_id})
            copy = library_service.pull(session, origin, org, wanted, principal.user_id)
            record(session, "item.pull", target=origin.id, item_id=copy.id,
                   details={"origin": origin.id, "root": copy.root_id, "org": org.slug})
            version = item_service.current_version(session, copy)
            data = item_service.to_json(session, copy, version, org_slug=org.slug,
                                        public_url=item_url(copy.id))
            return jsonify(data), 201
    except ApiError as err:
        if err.status == 409:
            record_separately(runtime.db, "item.pull", outcome="rejected", target=item_id,
                              item_id=item_id, details={"code": err.code, "org": org_slug})
        raise


def _may_read(session: Session, principal: Principal, item: Item) -> bool:
    org = session.get(Org, item.org_id)
    return org is not None and may(principal, "item.read") and principal.covers_path(org.path)
