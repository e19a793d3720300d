"""云稿库, the shared library: approved items marked shared_to_library, and pulling one into a
county's own (derived) item.

A pulled item is an ordinary draft owned by the pulling org: it goes through that org's own
三审 before it can be pushed. Its first version copies the origin's approved version (title and
summary may be localised), keeps the origin's author and source (the reprint attribution: the
source names the original publisher, falling back to the origin org's name) and shares the
origin's assets by id. ``origin_id``/``root_id`` keep the lineage, so withdrawing the origin (or
the root of a chain) withdraws every copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from ..errors import ApiError, invalid
from ..messages import Message
from ..models import Item, ItemVersion, Org
from ..validation import field_message, rfc3339
from . import items as item_service
from .media_urls import public_body

MAX_QUERY_CHARS = 100
MAX_QUERY_TERMS = 5


@dataclass(frozen=True)
class LibraryFilter:
    terms: tuple[str, ...] = ()  # every term must occur in the title, summary or body text
    tag: str | None = None
    org_path: str | None = None  # owner org (with ``descendants``: its subtree)
    org_id: str | None = None
    descendants: bool = False
    after: tuple[datetime, str] | None = None  # keyset cursor: (approved_at, id), newest first


def parse_terms(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return ()
    if len(raw) > MAX_QUERY_CHARS:
        raise invalid("q", Message("library.query_too_long", max_len=MAX_QUERY_CHARS))
    terms = tuple(dict.fromkeys(raw.split()))
    if len(terms) > MAX_QUERY_TERMS:
        raise invalid("q", Message("library.query_terms", max_terms=MAX_QUERY_TERMS))
    return terms


def approved_version_join() -> Any:
    return and_(ItemVersion.item_id == Item.id, ItemVersion.version == Item.approved_version)


def in_library() -> Any:
    """Approved and shared: withdrawn, draft and in-review items are never in the library."""
    return and_(Item.status == "approved", Item.shared_to_library.is_(True),
                Item.approved_version.is_not(None))


def has_tag(session: Session, tag: str) -> Any:
    """``tag`` is one of the version's tags (a JSON list) on PostgreSQL and SQLite alike."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(ItemVersion.tags, JSONB).contains([tag])
    each = func.json_each(ItemVersion.tags).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == tag))


def library_query(session: Session, where: LibraryFilter) -> Select:
    """(Item, ItemVersion, Org) rows of the library, newest approval first."""
    query = (select(Item, ItemVersion, Org)
             .join(ItemVersion, approved_version_join())
             .join(Org, Org.id == Item.org_id)
             .where(in_library()))
    for term in where.terms:
        query = query.where(or_(ItemVersion.title.icontains(term, autoescape=True),
                                ItemVersion.summary.icontains(term, autoescape=True),
                                ItemVersion.body_text.icontains(term, autoescape=True)))
    if where.tag:
        query = query.where(has_tag(session, where.tag))
    if where.org_id is not None:
        if where.descendants and where.org_path is not None:
            query = query.where(Org.path.startswith(where.org_path, autoescape=True))
        else:
            query = query.where(Item.org_id == where.org_id)
    if where.after is not None:
        at, item_id = where.after
        query = query.where(or_(Item.approved_at < at,
                                and_(Item.approved_at == at, Item.id < item_id)))
    return query.order_by(Item.approved_at.desc(), Item.id.desc())


def cursor_key(item: Item) -> str:
    assert item.approved_at is not None
    return f"{item.approved_at.isoformat()}|{item.id}"


def parse_cursor(value: str | None) -> tuple[datetime, str] | None:
    if value is None:
        return None
    at, sep, item_id = value.partition("|")
    try:
        parsed = datetime.fromisoformat(at)
    except ValueError:
        parsed = None
    if not sep or not item_id or parsed is None or parsed.tzinfo is None:
        raise invalid("cursor", Message("library.cursor"))
    return parsed, item_id


def origin_names(session: Session, items: list[Item]) -> dict[str, tuple[str, str, str]]:
    """origin item id -> (origin id, org slug, org name) for the pulled items among ``items``."""
    wanted = {i.origin_id for i in items if i.origin_id}
    if not wanted:
        return {}
    rows = session.execute(select(Item.id, Org.slug, Org.name).join(Org, Org.id == Item.org_id)
                           .where(Item.id.in_(wanted))).all()
    return {r[0]: (r[0], r[1], r[2]) for r in rows}


def entry_json(item: Item, version: ItemVersion, org: Org, *, url: str,
               origins: dict[str, tuple[str, str, str]]) -> dict[str, Any]:
    origin = None
    if item.origin_id and item.origin_id in origins:
        oid, slug, name = origins[item.origin_id]
        origin = {"item": oid, "org": slug, "org_name": name}
    return {
        "id": item.id, "org": org.slug, "org_name": org.name, "kind": item.kind,
        "status": item.status, "version": version.version, "title": version.title,
        "summary": version.summary, "body": public_body(version.body_html), "author": version.author,
        "source": version.source, "tags": list(version.tags), "cover": version.cover_asset_id,
        "assets": list(version.asset_ids), "origin": origin, "url": url,
        "approved_at": rfc3339(item.approved_at), "created_at": rfc3339(item.created_at),
    }


# ------------------------------------------------------------------------------------ pull


@dataclass(frozen=True)
class PullRequest:
    title: str | None
    summary: str | None


def parse_pull(body: dict[str, Any]) -> PullRequest:
    """Optional localised title and summary; the body text itself is never rewritten here."""
    title = summary = None
    if body.get("title") is not None:
        title = _text(body, "title", item_service.LIMITS["title"], allow_empty=False)
    if body.get("summary") is not None:
        summary = _text(body, "summary", item_service.LIMITS["summary"], allow_empty=True)
    return PullRequest(title=title, summary=summary)


def _text(body: dict[str, Any], name: str, limit: int, *, allow_empty: bool) -> str:
    value = body[name]
    if not isinstance(value, str):
        raise invalid(name, field_message("field.not_text", name, label=name))
    value = value.strip()
    if not value and not allow_empty:
        raise invalid(name, field_message("field.empty", name, label=name))
    if len(value) > limit:
        raise invalid(name, field_message("field.too_long", name, label=name, max_len=limit),
                      max_length=limit, length=len(value))
    return value


def check_pullable(session: Session, origin: Item, org: Org) -> None:
    """409 with a readable reason unless ``origin`` is in the library and ``org`` has no live
    copy of it yet."""
    if origin.status == "withdrawn":
        raise ApiError(409, Message("library.withdrawn"),
                       code="item_withdrawn", details={"item": origin.id})
    if not origin.shared_to_library:
        raise ApiError(409, Message("library.not_shared"),
                       code="not_in_library", details={"item": origin.id})
    if origin.status != "approved" or origin.approved_version != origin.version:
        raise ApiError(409, Message("library.not_approved"), code="not_approved",
                       details={"item": origin.id, "status": origin.status})
    if origin.org_id == org.id:
        raise ApiError(409, Message("library.own_item"),
                       code="own_item", details={"item": origin.id})
    existing = session.execute(select(Item.id).where(
        Item.origin_id == origin.id, Item.org_id == org.id, Item.status != "withdrawn")
        .order_by(Item.created_at).limit(1)).scalar_one_or_none()
    if existing is not None:
        raise ApiError(409, Message("library.already_pulled", item=existing),
                       code="already_pulled",
                       details={"item": existing, "origin": origin.id})


def pull(session: Session, origin: Item, org: Org, request: PullRequest,
         user_id: str | None) -> Item:
    """Create ``org``'s derived draft of the library item ``origin`` (locked by the caller)."""
    check_pullable(session, origin, org)
    version = item_service.current_version(session, origin, origin.approved_version)
    origin_org = session.get(Org, origin.org_id)
    assert origin_org is not None
    content = item_service.content_of(version)
    content.title = request.title if request.title is not None else version.title
    content.summary = request.summary if request.summary is not None else version.summary
    content.source = version.source or origin_org.name
    item, _ = item_service.create(session, org=org, kind=origin.kind, content=content,
                                  shared=False, user_id=user_id)
    item.origin_id = origin.id
    item.root_id = origin.root_id or origin.id
    session.flush()
    return item
