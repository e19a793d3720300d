"""What a principal may do with the shared library (云稿库): browse it and pull (adopt) an
item into an org of their own, with the permission checks, org scope and audit entries. The
REST API and the admin UI call these."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..errors import ApiError, invalid
from ..infra.runtime import Runtime
from ..messages import Message
from ..models import Item, Org
from ..security.audit import record, record_separately
from ..security.auth import Principal
from ..security.permissions import may, require
from . import items as item_service
from . import library as library_service
from . import orgs as org_service
from .media_urls import item_url
from .paging import decode_cursor, page


def require_reader(principal: Principal) -> None:
    require(principal, "library.read")


def list_page(session: Session, principal: Principal, *, q: str | None, tag: str | None,
              org: str | None, descendants: bool, limit: int,
              cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Approved shared items, newest first, and the next cursor."""
    require_reader(principal)
    terms = library_service.parse_terms(q)
    tag = (tag or "").strip() or None
    if tag is not None and len(tag) > item_service.MAX_TAG_LEN:
        raise invalid("tag", Message("library.tag_too_long", max_len=item_service.MAX_TAG_LEN))
    after = library_service.parse_cursor(decode_cursor(cursor))
    org_id = org_path = None
    if org:
        found = org_service.get_by_slug(session, org, field="org")
        org_id, org_path = found.id, found.path
    where = library_service.LibraryFilter(terms=terms, tag=tag, org_id=org_id, org_path=org_path,
                                          descendants=descendants, after=after)
    rows = session.execute(library_service.library_query(session, where).limit(limit + 1)).all()
    rows, next_cursor = page(rows, limit, lambda r: library_service.cursor_key(r[0]))
    origins = library_service.origin_names(session, [r[0] for r in rows])
    return [library_service.entry_json(item, version, owner, url=item_url(item.id),
                                       origins=origins)
            for item, version, owner in rows], next_cursor


def require_puller(principal: Principal) -> None:
    require(principal, "library.pull")


def pull(runtime: Runtime, principal: Principal, item_id: str,
         body: dict[str, Any]) -> dict[str, Any]:
    """Pull a library item {org?, title?, summary?}: a derived draft in ``org`` (default the
    caller's) for that org's own review. A refused pull (409) is audited as rejected."""
    require_puller(principal)
    wanted = library_service.parse_pull(body)
    org_slug = body.get("org")
    if org_slug is not None and (not isinstance(org_slug, str) or not org_slug):
        raise invalid("org", Message("items.org_slug"))
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
            return item_service.to_json(session, copy, version, org_slug=org.slug,
                                        public_url=item_url(copy.id))
    except ApiError as err:
        if err.status == 409:
            record_separately(runtime.db, "item.pull", outcome="rejected", target=item_id,
                              item_id=item_id, details={"code": err.code, "org": org_slug})
        raise


def _may_read(session: Session, principal: Principal, item: Item) -> bool:
    org = session.get(Org, item.org_id)
    return org is not None and may(principal, "item.read") and principal.covers_path(org.path)
