"""/api/v1/library: browse the shared library (云稿库) and pull an item into one's own org.
The rules are hub/services/library_actions.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify, request

from hub.security.auth import current
from hub.services import library_actions
from hub.validation import json_body, limit_arg

from . import api
from .common import listing, rt


@api.get("/library")
def list_library():
    """Approved shared items, newest first: ?q=&tag=&org=&descendants=&limit=&cursor="""
    library_actions.require_reader(current())  # before the query is read, as always
    descendants = request.args.get("descendants", "0").lower() in {"1", "true", "yes"}
    return listing(library_actions.list_page, q=request.args.get("q"),
                   tag=request.args.get("tag"), org=request.args.get("org"),
                   descendants=descendants, limit=limit_arg(default=20, maximum=100))


@api.post("/library/<item_id>/pull")
def pull_library_item(item_id: str):
    """Pull (adopt) a library item: a derived draft in ``org`` for that org's own review."""
    principal = current()
    library_actions.require_puller(principal)
    body = json_body()
    return jsonify(library_actions.pull(rt(), principal, item_id, body)), 201
