"""/api/v1/users and /api/v1/tokens: people, their roles, passwords and bearer tokens.

Token revocation is ``POST /api/v1/tokens/<id>/revoke`` (a user may revoke their own tokens;
an admin any token of a user in their subtree). Tokens are minted only by their holder (and
once by ``POST /users`` for the new user); new tokens are shown once, in the answer.
Reviewer roles and stages are granted only from an org above (``permissions.may_grant_review``).
"""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from ..audit import record
from ..auth import Principal, current, issue_token_row, revoke_token
from ..errors import ApiError, not_found
from ..messages import Message
from ..models import ApiToken, Org, User
from ..permissions import require, require_review_grant
from ..services import orgs as org_service
from ..services import users as user_service
from ..services.sessions import store_for
from ..validation import json_body, limit_arg, text
from . import api
from .common import cursor_arg, page, rt, scope_arg

PROVINCE = "/"  # the scope path of a user without an org: only province-wide callers cover it


def _user_scope(session, user: User) -> tuple[str, str | None]:
    if user.org_id is None:
        return PROVINCE, None
    org = session.get(Org, user.org_id)
    return org.path, org.slug


def _require_user_access(principal: Principal, action: str, path: str, user: User) -> None:
    """Anyone may read and manage their own tokens; otherwise the role and the subtree decide."""
    if user.id != principal.user_id:
        require(principal, action, org_path=path)


def _require_self(principal: Principal, user: User) -> None:
    """A bearer token is its holder's alone: nobody mints one for another person, or an admin
    could act as any reviewer of their subtree."""
    if user.id != principal.user_id:
        raise ApiError(403, Message("users.own_token"),
                       code="not_your_token", details={"action": "token.issue"})


def _grants_review(user: User, body: dict) -> bool:
    """Would this PATCH give ``user`` a reviewer role or another review stage?"""
    if "roles" not in body and "review_stage" not in body:
        return False
    roles = body.get("roles", list(user.roles))
    if not isinstance(roles, list) or "reviewer" not in roles:
        return False
    return "reviewer" not in user.roles or body.get("review_stage",
                                                    user.review_stage) != user.review_stage


@api.post("/users")
def create_user():
    """Create a user; the answer carries its bearer token, shown this once."""
    principal = current()
    body = json_body()
    name = text(body, "name", max_len=100)
    assert name is not None
    roles, stage = user_service.parse_roles(body.get("roles"), body.get("review_stage"))
    with rt().db.session() as session:
        org_slug = text(body, "org", max_len=64, required=False)
        org = org_service.get_by_slug(session, org_slug) if org_slug else None
        require(principal, "user.manage", org_path=org.path if org else PROVINCE)
        if "reviewer" in roles:
            require_review_grant(principal, org.path if org else None)
        user, token = user_service.create(session, org=org, name=name, roles=roles,
                                          review_stage=stage, password=body.get("password"),
                                          sponsor_id=principal.user_id)
        record(session, "user.create", target=user.id,
               details={"roles": roles, "review_stage": stage, "org": org_slug,
                        "password_set": user.password_hash is not None})
        record(session, "token.issue", target=user.id, details={"label": "created"})
        data = {**user_service.to_json(user, org.slug if org else None), "token": token}
    return jsonify(data), 201


@api.get("/users")
def list_users():
    """Users in the caller's subtree (``?org=`` narrows to one org's subtree)."""
    principal = current()
    require(principal, "user.read")
    limit = limit_arg()
    after = cursor_arg()
    with rt().db.session() as session:
        scope = scope_arg(session, principal, "user.read")
        query = select(User, Org.slug).outerjoin(Org, Org.id == User.org_id)
        if scope is not None:
            query = query.where(Org.path.startswith(scope, autoescape=True))
        if after:
            query = query.where(User.id > after)
        rows = session.execute(query.order_by(User.id).limit(limit + 1)).all()
        rows, next_cursor = page(rows, limit, lambda r: r[0].id)
        items = [user_service.to_json(u, slug) for u, slug in rows]
    return jsonify({"items": items, "next_cursor": next_cursor})


@api.get("/users/<user_id>")
def get_user(user_id: str):
    principal = current()
    with rt().db.session() as session:
        user = user_service.get(session, user_id)
        path, slug = _user_scope(session, user)
        _require_user_access(principal, "user.read", path, user)
        data = user_service.to_json(user, slug)
    return jsonify(data)


@api.patch("/users/<user_id>")
def patch_user(user_id: str):
    """Change roles, review stage, disabled or password (an account or credential change)."""
    principal = current()
    body = json_body()
    runtime = rt()
    with runtime.db.session() as session:
        user = user_service.get(session, user_id)
        path, slug = _user_scope(session, user)
        require(principal, "user.manage", org_path=path)
        org_path = None if path == PROVINCE else path
        if _grants_review(user, body):
            require_review_grant(principal, org_path)
        if "password" in body and user.id != principal.user_id and "reviewer" in user.roles:
            # Whoever sets a reviewer's password can sign in as them: only those who may
            # make them a reviewer may.
            require_review_grant(principal, org_path)
        changed = user_service.update(session, user, body, actor_id=principal.user_id)
        if "roles" in changed or "disabled" in changed:
            record(session, "user.update", target=user.id,
                   details={"fields": [f for f in changed if f != "password"],
                            "roles": list(user.roles), "review_stage": user.review_stage,
                            "disabled": user.disabled})
        if "password" in changed:
            record(session, "user.password", target=user.id)
        data = user_service.to_json(user, slug)
    if "password" in changed or user.disabled:
        store_for(runtime).delete_user(user.id)
    return jsonify(data)


@api.get("/users/<user_id>/tokens")
def list_tokens(user_id: str):
    """A user's tokens (never the tokens themselves, nor their hashes)."""
    principal = current()
    with rt().db.session() as session:
        user = user_service.get(session, user_id)
        path, _ = _user_scope(session, user)
        _require_user_access(principal, "user.read", path, user)
        tokens = session.execute(select(ApiToken).where(ApiToken.user_id == user.id)
                                 .order_by(ApiToken.created_at)).scalars().all()
        items = [user_service.token_json(t) for t in tokens]
    return jsonify({"items": items, "next_cursor": None})


@api.post("/users/<user_id>/tokens")
def create_token(user_id: str):
    """Issue another bearer token for oneself; the answer shows it this once. (A new user's
    first token comes with ``POST /users``; after that only its holder adds tokens.)"""
    principal = current()
    body = json_body()
    label = text(body, "label", max_len=100, required=False, default="") or ""
    with rt().db.session() as session:
        user = user_service.get(session, user_id)
        path, _ = _user_scope(session, user)
        _require_user_access(principal, "user.manage", path, user)
        _require_self(principal, user)
        row, token = issue_token_row(session, user.id, label=label)
        record(session, "token.issue", target=user.id, details={"token_id": row.id,
                                                                 "label": label})
        data = {**user_service.token_json(row), "token": token}
    return jsonify(data), 201


@api.post("/tokens/<token_id>/revoke")
def revoke(token_id: str):
    """Revoke a token at once; revoking twice is harmless."""
    principal = current()
    json_body()
    with rt().db.session() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise not_found("令牌", token_id)
        user = user_service.get(session, token.user_id)
        path, _ = _user_scope(session, user)
        _require_user_access(principal, "user.manage", path, user)
        already = token.revoked_at is not None
        revoke_token(session, token)
        record(session, "token.revoke", target=user.id,
               details={"token_id": token.id, "already_revoked": already})
        data = user_service.token_json(token)
    return jsonify(data)
