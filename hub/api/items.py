"""/api/v1/items: create, edit (new version), read, submit, review. The rules are
hub/services/item_actions.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify

from ..auth import current
from ..request_limits import bulk_json
from ..services import item_actions
from ..validation import json_body
from . import api
from .common import rt


@api.post("/items")
@bulk_json
def create_item():
    principal = current()
    body = json_body()
    with rt().db.session() as session:
        data = item_actions.create(session, principal, body)
    return jsonify(data), 201


@api.patch("/items/<item_id>")
@bulk_json
def patch_item(item_id: str):
    principal = current()
    body = json_body()
    with rt().db.session() as session:
        data = item_actions.edit(session, principal, item_id, body)
    return jsonify(data)


@api.get("/items/<item_id>")
def get_item(item_id: str):
    principal = current()
    with rt().db.session() as session:
        data = item_actions.get(session, principal, item_id)
    return jsonify(data)


@api.post("/items/<item_id>/submit")
def submit_item(item_id: str):
    principal = current()
    json_body()
    with rt().db.session() as session:
        data = item_actions.submit(session, principal, item_id)
    return jsonify(data)


@api.post("/items/<item_id>/reviews")
def review_item(item_id: str):
    principal = current()
    body = json_body()
    with rt().db.session() as session:
        data = item_actions.review(session, principal, item_id, body)
    return jsonify(data)
