"""What a principal may do with items: write and edit them, read one, submit it, review it,
each with its permission check inside the item's org scope and its audit entry. The REST API
and the admin UI call these."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..errors import invalid
from ..messages import Message
from ..models import Item, Org
from ..security.audit import record
from ..security.auth import Principal
from ..security.permissions import require
from . import items as item_service
from . import orgs as org_service
from . import review as review_service
from .media_urls import item_url


def to_json(session: Session, item: Item,
            saved: item_service.Content | None = None) -> dict[str, Any]:
    """An item at its current version; after a save, with the media links the sanitiser took
    out of that save's body (not hub assets) as ``removed_media``."""
    version = item_service.current_version(session, item)
    org = session.get(Org, item.org_id)
    data = item_service.to_json(session, item, version, org_slug=org.slug,
                                public_url=item_url(item.id))
    if saved is not None:
        data["removed_media"] = list(saved.removed_media)
    return data


def _require_on(session: Session, principal: Principal, action: str, item: Item) -> None:
    require(principal, action, org_path=session.get(Org, item.org_id).path)


def create(session: Session, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A new draft {kind?, org?, shared_to_library?, title, body, ...} in ``org`` (default the
    caller's)."""
    kind = body.get("kind", "article")
    content = item_service.parse_content(body)
    shared = body.get("shared_to_library", False)
    if body.get("org") is not None:
        if not isinstance(body["org"], str):
            raise invalid("org", Message("items.org_slug"))
        org = org_service.get_by_slug(session, body["org"])
    elif principal.org_id is not None:
        org = session.get(Org, principal.org_id)
    else:
        raise invalid("org", Message("items.org_required"))
    require(principal, "item.write", org_path=org.path)
    if not isinstance(shared, bool):
        raise invalid("shared_to_library", "shared_to_library 必须是 true 或 false "
                                           "(shared_to_library must be a boolean)")
    item, _ = item_service.create(session, org=org, kind=kind, content=content, shared=shared,
                                  user_id=principal.user_id)
    record(session, "item.create", target=item.id, item_id=item.id)
    return to_json(session, item, saved=content)


def edit(session: Session, principal: Principal, item_id: str,
         body: dict[str, Any]) -> dict[str, Any]:
    """A new version of an item from the fields of ``body``."""
    item = item_service.get(session, item_id, for_update=True)
    _require_on(session, principal, "item.write", item)
    _, content = item_service.edit(session, item, body, principal.user_id)
    record(session, "item.edit", target=item.id, item_id=item.id,
           details={"version": item.version})
    return to_json(session, item, saved=content)


def get(session: Session, principal: Principal, item_id: str) -> dict[str, Any]:
    item = item_service.get(session, item_id)
    _require_on(session, principal, "item.read", item)
    return to_json(session, item)


def submit(session: Session, principal: Principal, item_id: str) -> dict[str, Any]:
    """Send a draft to review."""
    item = item_service.get(session, item_id, for_update=True)
    _require_on(session, principal, "item.submit", item)
    review_service.submit(session, item, principal)
    record(session, "item.submit", target=item.id, item_id=item.id,
           details={"version": item.version})
    return to_json(session, item)


def review(session: Session, principal: Principal, item_id: str,
           body: dict[str, Any]) -> dict[str, Any]:
    """A reviewer's decision {decision, comment?, override_reason?, version?} at their stage."""
    item = item_service.get(session, item_id, for_update=True)
    _require_on(session, principal, "item.review", item)
    decided = review_service.decide(session, item, principal, body)
    record(session, "item.review", target=item.id, item_id=item.id,
           details={"stage": decided.stage, "decision": decided.decision,
                    "version": decided.version})
    return to_json(session, item)
