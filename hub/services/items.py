"""Items and their immutable versions: create, edit (new version), read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import conflict, invalid, not_found
from ..infra.ids import new_id
from ..messages import Message
from ..models import ITEM_KINDS, Asset, Item, ItemVersion, Org, Review, utcnow
from ..validation import field_message, rfc3339
from .html import clean_body, plain_text
from .media_urls import hub_origins, public_body

LIMITS = {"title": 100, "summary": 500, "author": 50, "source": 100}
MAX_BODY_CHARS = 200_000
MAX_TAGS, MAX_TAG_LEN, MAX_ASSETS = 20, 20, 50


@dataclass
class Content:
    title: str
    body_html: str
    summary: str = ""
    author: str = ""
    source: str = ""
    tags: list[str] = field(default_factory=list)
    cover: str | None = None
    assets: list[str] = field(default_factory=list)
    # Media links taken out of the body on this save (not hub assets); told to the editor.
    removed_media: tuple[str, ...] = field(default=(), compare=False)


def parse_content(body: dict[str, Any], *, base: Content | None = None) -> Content:
    """Validate the content fields of a create (base None) or a patch (base = current)."""
    values: dict[str, Any] = {} if base is None else dict(base.__dict__)
    for name, limit in LIMITS.items():
        if name in body or base is None:
            values[name] = _text(body, name, limit, required=(name == "title"))
    if "body" in body or base is None:
        raw = body.get("body", "")
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            raise invalid("body", Message("items.body_html"))
        if len(raw) > MAX_BODY_CHARS:
            raise invalid("body", Message("items.body_too_long", max_len=MAX_BODY_CHARS),
                          max_length=MAX_BODY_CHARS)
        cleaned = clean_body(raw, hub_origins=hub_origins())
        values["body_html"], values["removed_media"] = cleaned.html, cleaned.removed
    if "tags" in body or base is None:
        tags = body.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise invalid("tags", field_message("field.string_list", "tags"))
        if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_LEN for t in tags):
            raise invalid("tags", Message("items.tags_limits", max_tags=MAX_TAGS,
                                           max_len=MAX_TAG_LEN))
        values["tags"] = list(dict.fromkeys(t.strip() for t in tags))
    if "cover" in body or base is None:
        cover = body.get("cover")
        if cover is not None and not isinstance(cover, str):
            raise invalid("cover", Message("items.cover_id"))
        values["cover"] = cover
    if "assets" in body or base is None:
        assets = body.get("assets") or []
        if not isinstance(assets, list) or not all(isinstance(a, str) for a in assets):
            raise invalid("assets", Message("items.assets_ids"))
        if len(assets) > MAX_ASSETS:
            raise invalid("assets", Message("items.assets_limit", max_assets=MAX_ASSETS))
        values["assets"] = list(dict.fromkeys(assets))
    return Content(**values)


def _text(body: dict[str, Any], name: str, limit: int, *, required: bool) -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(name, field_message("field.required", name, label=name))
        return ""
    if not isinstance(value, str):
        raise invalid(name, field_message("field.not_text", name, label=name))
    value = value.strip()
    if required and not value:
        raise invalid(name, field_message("field.empty", name, label=name))
    if len(value) > limit:
        raise invalid(name, field_message("field.too_long", name, label=name, max_len=limit),
                      max_length=limit, length=len(value))
    return value


def check_assets(session: Session, kind: str, content: Content) -> dict[str, Asset]:
    wanted = set(content.assets) | ({content.cover} if content.cover else set())
    found = {a.id: a for a in session.execute(select(Asset).where(Asset.id.in_(wanted))).scalars()}
    unknown = sorted(wanted - set(found))
    if unknown:
        field_name = "cover" if content.cover in unknown and len(unknown) == 1 else "assets"
        raise invalid(field_name, Message("items.unknown_assets", ids="、".join(unknown)),
                      unknown=unknown)
    if content.cover and found[content.cover].kind != "image":
        raise invalid("cover", Message("items.cover_image"))
    if kind == "video" and not any(found[a].kind == "video" for a in content.assets):
        raise invalid("assets", Message("items.video_needed"))
    return found


def create(session: Session, *, org: Org, kind: str, content: Content, shared: bool,
           user_id: str | None) -> tuple[Item, ItemVersion]:
    if kind not in ITEM_KINDS:
        raise invalid("kind", Message("items.kind"))
    check_assets(session, kind, content)
    item = Item(id=new_id("itm"), org_id=org.id, kind=kind, status="draft", version=1,
                shared_to_library=shared, created_by=user_id)
    session.add(item)
    session.flush()
    version = _new_version(session, item, content, user_id)
    return item, version


def _new_version(session: Session, item: Item, content: Content, user_id: str | None) -> ItemVersion:
    version = ItemVersion(item_id=item.id, version=item.version, title=content.title,
                          body_html=content.body_html, body_text=plain_text(content.body_html),
                          summary=content.summary, author=content.author, source=content.source,
                          tags=content.tags, cover_asset_id=content.cover,
                          asset_ids=content.assets, created_by=user_id)
    session.add(version)
    session.flush()
    return version


def edit(session: Session, item: Item, body: dict[str, Any],
         user_id: str | None) -> tuple[ItemVersion, Content]:
    """The item's version after the edit (a new one when anything changed) and what was parsed."""
    if item.status == "withdrawn":
        raise conflict(Message("items.withdrawn_no_edit"),
                       code="item_withdrawn")
    current = current_version(session, item)
    content = parse_content(body, base=content_of(current))
    check_assets(session, item.kind, content)
    if "shared_to_library" in body:
        if not isinstance(body["shared_to_library"], bool):
            raise invalid("shared_to_library", field_message("field.boolean", "shared_to_library"))
        item.shared_to_library = body["shared_to_library"]
    if content == content_of(current):
        return current, content
    item.version += 1
    # Any edit needs a fresh 三审: what was approved is a different text.
    if item.status in ("in_review", "approved"):
        item.status = "draft"
    item.updated_at = utcnow()
    return _new_version(session, item, content, user_id), content


def content_of(version: ItemVersion) -> Content:
    return Content(title=version.title, body_html=version.body_html, summary=version.summary,
                   author=version.author, source=version.source, tags=list(version.tags),
                   cover=version.cover_asset_id, assets=list(version.asset_ids))


def get(session: Session, item_id: str, *, for_update: bool = False) -> Item:
    query = select(Item).where(Item.id == item_id)
    if for_update:
        query = query.with_for_update()
    item = session.execute(query).scalar_one_or_none()
    if item is None:
        raise not_found("稿件", item_id)
    return item


def current_version(session: Session, item: Item, version: int | None = None) -> ItemVersion:
    return session.execute(select(ItemVersion).where(
        ItemVersion.item_id == item.id, ItemVersion.version == (version or item.version))
    ).scalar_one()


def to_json(session: Session, item: Item, version: ItemVersion, *, org_slug: str,
            public_url: str) -> dict[str, Any]:
    reviews = session.execute(select(Review).where(Review.item_id == item.id)
                              .order_by(Review.created_at)).scalars().all()
    origin = None
    if item.origin_id:
        origin_row = session.execute(select(Item.id, Org.slug, Org.name).join(
            Org, Org.id == Item.org_id).where(Item.id == item.origin_id)).first()
        if origin_row:
            origin = {"item": origin_row[0], "org": origin_row[1], "org_name": origin_row[2]}
    from .review import review_json
    from .safety import item_hits_json

    return {
        "id": item.id, "org": org_slug, "kind": item.kind, "status": item.status,
        "version": item.version, "approved_version": item.approved_version,
        "title": version.title, "body": public_body(version.body_html), "summary": version.summary,
        "author": version.author, "source": version.source, "tags": list(version.tags),
        "cover": version.cover_asset_id, "assets": list(version.asset_ids),
        "shared_to_library": item.shared_to_library, "origin": origin,
        "root": item.root_id, "url": public_url,
        "review": review_json(session, item, version, list(reviews)),
        "safety_hits": item_hits_json(session, version),
        "created_at": rfc3339(item.created_at), "updated_at": rfc3339(item.updated_at),
        "approved_at": rfc3339(item.approved_at), "withdrawn_at": rfc3339(item.withdrawn_at),
        "withdraw_reason": item.withdraw_reason,
    }
