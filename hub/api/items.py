"""/api/v1/items: create, edit (new version), read, submit, review."""

from __future__ import annotations

from flask import jsonify

from ..audit import record
from ..auth import current
from ..errors import invalid
from ..messages import Message
from ..models import Item, Org
from ..permissions import require
from ..request_limits import bulk_json
from ..services import items as item_service
from ..services import orgs as org_service
from ..services import review as review_service
from ..services.media_urls import item_url
from ..validation import json_body
from . import api
from .common import rt


def _item_response(session, item: Item, status: int = 200,
                   saved: item_service.Content | None = None):
    version = item_service.current_version(session, item)
    org = session.get(Org, item.org_id)
    data = item_service.to_json(session, item, version, org_slug=org.slug,
                                public_url=item_url(item.id))
    if saved is not None:
        # Media links the sanitiser took out of this save's body (not hub assets).
        data["removed_media"] = list(saved.removed_media)
    return jsonify(data), status


@api.post("/items")
@bulk_json
def create_item():
    principal = current()
    body = json_body()
    kind = body.get("kind", "article")
    content = item_service.parse_content(body)
    shared = body.get("shared_to_library", False)
    with rt().db.session() as session:
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
        item, _ = item_service.create(session, org=org, kind=kind, content=content,
                                      shared=shared, user_id=principal.user_id)
        record(session, "item.create", target=item.id, item_id=item.id)
        return _item_response(session, item, 201, saved=content)


@api.patch("/items/<item_id>")
@bulk_json
def patch_item(item_id: str):
    principal = current()
    body = json_body()
    with rt().db.session() as session:
        item = item_service.get(session, item_id, for_update=True)
        require(principal, "item.write", org_path=session.get(Org, item.org_id).path)
        _, content = item_service.edit(session, item, body, principal.user_id)
        record(session, "item.edit", target=item.id, item_id=item.id,
               details={"version": item.version})
        return _item_response(session, item, saved=content)


@api.get("/items/<item_id>")
def get_item(item_id: str):
    principal = current()
    with rt().db.session() as session:
        item = item_service.get(session, item_id)
        require(principal, "item.read", org_path=session.get(Org, item.org_id).path)
        return _item_response(session, item)


@api.post("/items/<item_id>/submit")
def submit_item(item_id: str):
    principal = current()
    json_body()
    with rt().db.session() as session:
        item = item_service.get(session, item_id, for_update=True)
        require(principal, "item.submit", org_path=session.get(Org, item.org_id).path)
        review_service.submit(session, item, principal)
        record(session, "item.submit", target=item.id, item_id=item.id,
               details={"version": item.version})
        return _item_response(session, item)


@api.post("/items/<item_id>/reviews")
def review_item(item_id: str):
    principal = current()
    body = json_body()
    with rt().db.session() as session:
        item = item_service.get(session, item_id, for_update=True)
        require(principal, "item.review", org_path=session.get(Org, item.org_id).path)
        review = review_service.decide(session, item, principal, body)
        record(session, "item.review", target=item.id, item_id=item.id,
               details={"stage": review.stage, "decision": review.decision,
                        "version": review.version})
        return _item_response(session, item)
