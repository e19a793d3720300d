"""What a principal may do with people and their bearer tokens, each with its permission
check, org scope and audit entry: the rules both the REST API and the admin UI call.

Anyone reads and manages their own tokens; otherwise the role and the org subtree decide.
Reviewer roles and stages are granted only from an org above (``permissions.may_grant_review``).
Tokens are minted only by their holder (and once by ``create`` for the new user).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ApiError, not_found
from ..infra.runtime import Runtime
from ..messages import Message
from ..models import ApiToken, Org, User
from ..security.audit import record
from ..security.auth import Principal, issue_token_row, revoke_token
from ..security.permissions import require, require_review_grant
from ..validation import text
from . import orgs as org_service
from . import users as user_service
from .paging import decode_cursor, keyset_page
from .scoping import scope_path
from .sessions import store_for

PROVINCE = "/"  # the scope path of a user without an org: only province-wide callers cover it


def _user_scope(session: Session, user: User) -> tuple[str, str | None]:
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


def _grants_review(user: User, body: dict[str, Any]) -> bool:
    """Would this change give ``user`` a reviewer role or another review stage?"""
    if "roles" not in body and "review_stage" not in body:
        return False
    roles = body.get("roles", list(user.roles))
    if not isinstance(roles, list) or "reviewer" not in roles:
        return False
    return "reviewer" not in user.roles or body.get("review_stage",
                                                    user.review_stage) != user.review_stage


def create(session: Session, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A new user {name, roles, review_stage?, org?, password?}; the answer carries its
    bearer token, shown this once."""
    name = text(body, "name", max_len=100)
    assert name is not None
    roles, stage = user_service.parse_roles(body.get("roles"), body.get("review_stage"))
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
    return {**user_service.to_json(user, org.slug if org else None), "token": token}


def require_reader(principal: Principal) -> None:
    require(principal, "user.read")


def list_page(session: Session, principal: Principal, *, org: str | None, limit: int,
              cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Users in the caller's subtree (``org`` narrows to one org's subtree), and the next
    cursor."""
    require_reader(principal)
    after = decode_cursor(cursor)
    scope = scope_path(session, principal, "user.read", org)
    query = select(User, Org.slug).outerjoin(Org, Org.id == User.org_id)
    if scope is not None:
        query = query.where(Org.path.startswith(scope, autoescape=True))
    rows, next_cursor = keyset_page(session, query, User.id, limit=limit, after=after)
    return [user_service.to_json(u, slug) for u, slug in rows], next_cursor


def get(session: Session, principal: Principal, user_id: str) -> dict[str, Any]:
    user = user_service.get(session, user_id)
    path, slug = _user_scope(session, user)
    _require_user_access(principal, "user.read", path, user)
    return user_service.to_json(user, slug)


def update(runtime: Runtime, principal: Principal, user_id: str,
           body: dict[str, Any]) -> dict[str, Any]:
    """Change roles, review stage, disabled or password (an account or credential change).
    A new password or a disabled user ends the user's sessions, once the change is saved."""
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
    return data


def tokens(session: Session, principal: Principal, user_id: str) -> list[dict[str, Any]]:
    """A user's tokens (never the tokens themselves, nor their hashes)."""
    user = user_service.get(session, user_id)
    path, _ = _user_scope(session, user)
    _require_user_access(principal, "user.read", path, user)
    rows = session.execute(select(ApiToken).where(ApiToken.user_id == user.id)
                           .order_by(ApiToken.created_at)).scalars().all()
    return [user_service.token_json(t) for t in rows]


def issue_token(session: Session, principal: Principal, user_id: str,
                label: str) -> dict[str, Any]:
    """Another bearer token for oneself; the answer shows it this once."""
    user = user_service.get(session, user_id)
    path, _ = _user_scope(session, user)
    _require_user_access(principal, "user.manage", path, user)
    _require_self(principal, user)
    row, token = issue_token_row(session, user.id, label=label)
    record(session, "token.issue", target=user.id, details={"token_id": row.id, "label": label})
    return {**user_service.token_json(row), "token": token}


def revoke(session: Session, principal: Principal, token_id: str) -> dict[str, Any]:
    """Revoke a token at once; revoking twice is harmless."""
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
    return user_service.token_json(token)
