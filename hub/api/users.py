"""/api/v1/users and /api/v1/tokens: people, their roles, passwords and bearer tokens.

Token revocation is ``POST /api/v1/tokens/<id>/revoke``. The rules (who may read, change or
appoint whom, whose tokens) are hub/services/user_actions.py's; these routes parse and answer.
"""

from __future__ import annotations

from flask import jsonify, request

from ..auth import current
from ..services import user_actions
from ..validation import json_body, limit_arg, text
from . import api
from .common import rt


@api.post("/users")
def create_user():
    """Create a user; the answer carries its bearer token, shown this once."""
    principal = current()
    body = json_body()
    with rt().db.session() as session:
        data = user_actions.create(session, principal, body)
    return jsonify(data), 201


@api.get("/users")
def list_users():
    """Users in the caller's subtree (``?org=`` narrows to one org's subtree)."""
    principal = current()
    user_actions.require_reader(principal)  # before the query is read, as always
    limit = limit_arg()
    with rt().db.session() as session:
        items, next_cursor = user_actions.list_page(
            session, principal, org=request.args.get("org"), limit=limit,
            cursor=request.args.get("cursor"))
    return jsonify({"items": items, "next_cursor": next_cursor})


@api.get("/users/<user_id>")
def get_user(user_id: str):
    principal = current()
    with rt().db.session() as session:
        data = user_actions.get(session, principal, user_id)
    return jsonify(data)


@api.patch("/users/<user_id>")
def patch_user(user_id: str):
    """Change roles, review stage, disabled or password (an account or credential change)."""
    principal = current()
    body = json_body()
    return jsonify(user_actions.update(rt(), principal, user_id, body))


@api.get("/users/<user_id>/tokens")
def list_tokens(user_id: str):
    """A user's tokens (never the tokens themselves, nor their hashes)."""
    principal = current()
    with rt().db.session() as session:
        items = user_actions.tokens(session, principal, user_id)
    return jsonify({"items": items, "next_cursor": None})


@api.post("/users/<user_id>/tokens")
def create_token(user_id: str):
    """Issue another bearer token for oneself; the answer shows it this once. (A new user's
    first token comes with ``POST /users``; after that only its holder adds tokens.)"""
    principal = current()
    body = json_body()
    label = text(body, "label", max_len=100, required=False, default="") or ""
    with rt().db.session() as session:
        data = user_actions.issue_token(session, principal, user_id, label)
    return jsonify(data), 201


@api.post("/tokens/<token_id>/revoke")
def revoke(token_id: str):
    """Revoke a token at once; revoking twice is harmless."""
    principal = current()
    json_body()
    with rt().db.session() as session:
        data = user_actions.revoke(session, principal, token_id)
    return jsonify(data)
