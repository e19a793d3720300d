"""/api/v1/users and /api/v1/tokens: people, their roles, passwords and bearer tokens.

Token revocation is ``POST /api/v1/tokens/<id>/revoke``. The rules (who may read, change or
appoint whom, whose tokens) are hub/services/user_actions.py's; these routes parse and answer.
"""

from __future__ import annotations

from flask import jsonify, request

from hub.security.auth import current
from hub.services import user_actions
from hub.validation import json_body, limit_arg, text

from . import api
from .common import in_session, listing, rt


@api.post("/users")
def create_user():
    """Create a user; the answer carries its bearer token, shown this once."""
    return jsonify(in_session(user_actions.create, json_body())), 201


@api.get("/users")
def list_users():
    """Users in the caller's subtree (``?org=`` narrows to one org's subtree)."""
    user_actions.require_reader(current())  # before the query is read, as always
    return listing(user_actions.list_page, org=request.args.get("org"), limit=limit_arg())


@api.get("/users/<user_id>")
def get_user(user_id: str):
    return jsonify(in_session(user_actions.get, user_id))


@api.patch("/users/<user_id>")
def patch_user(user_id: str):
    """Change roles, review stage, disabled or password (an account or credential change)."""
    principal = current()
    body = json_body()
    return jsonify(user_actions.update(rt(), principal, user_id, body))


@api.get("/users/<user_id>/tokens")
def list_tokens(user_id: str):
    """A user's tokens (never the tokens themselves, nor their hashes)."""
    return jsonify({"items": in_session(user_actions.tokens, user_id), "next_cursor": None})


@api.post("/users/<user_id>/tokens")
def create_token(user_id: str):
    """Issue another bearer token for oneself; the answer shows it this once. (A new user's
    first token comes with ``POST /users``; after that only its holder adds tokens.)"""
    label = text(json_body(), "label", max_len=100, required=False, default="") or ""
    return jsonify(in_session(user_actions.issue_token, user_id, label)), 201


@api.post("/tokens/<token_id>/revoke")
def revoke(token_id: str):
    """Revoke a token at once; revoking twice is harmless."""
    json_body()
    return jsonify(in_session(user_actions.revoke, token_id))
