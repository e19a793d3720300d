"""/api/v1/items: create, edit (new version), read, submit, review. The rules are
hub/services/item_actions.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify

from hub.services import item_actions
from hub.validation import json_body

from ..request_limits import bulk_json
from . import api
from .common import in_session


@api.post("/items")
@bulk_json
def create_item():
    return jsonify(in_session(item_actions.create, json_body())), 201


@api.patch("/items/<item_id>")
@bulk_json
def patch_item(item_id: str):
    return jsonify(in_session(item_actions.edit, item_id, json_body()))


@api.get("/items/<item_id>")
def get_item(item_id: str):
    return jsonify(in_session(item_actions.get, item_id))


@api.post("/items/<item_id>/submit")
def submit_item(item_id: str):
    json_body()
    return jsonify(in_session(item_actions.submit, item_id))


@api.post("/items/<item_id>/reviews")
def review_item(item_id: str):
    return jsonify(in_session(item_actions.review, item_id, json_body()))
