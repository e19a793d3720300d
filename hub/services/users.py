"""Users: created by an admin (or the CLI), each with one bearer token shown once; passwords
hashed with argon2id for the admin UI's login."""

from __future__ import annotations

import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import conflict, invalid, not_found
from ..infra.ids import new_id
from ..messages import Message
from ..models import ROLES, ApiToken, Org, User
from ..security.audit import record
from ..security.auth import is_reserved_name, issue_token
from ..validation import field_message, rfc3339

_hasher = PasswordHasher()
# Verified when the user name is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("yunchu-no-such-user-placeholder")
MIN_PASSWORD = 10
MAX_PASSWORD = 200


def parse_roles(roles: Any, review_stage: Any) -> tuple[list[str], int | None]:
    if not isinstance(roles, list) or not roles or not all(r in ROLES for r in roles):
        raise invalid("roles", Message("users.roles", roles_zh="、".join(ROLES),
                                            roles_en=", ".join(ROLES)))
    if "reviewer" in roles:
        if review_stage not in (1, 2, 3) or isinstance(review_stage, bool):
            raise invalid("review_stage", Message("users.stage_needed"))
    elif review_stage is not None:
        raise invalid("review_stage", Message("users.stage_only_reviewers"))
    return list(dict.fromkeys(roles)), review_stage


def check_password(password: Any) -> str:
    if (not isinstance(password, str) or len(password) < MIN_PASSWORD
            or len(password) > MAX_PASSWORD):
        raise invalid("password", Message("users.password_length", min=MIN_PASSWORD,
                                                max=MAX_PASSWORD))
    return password


# Generated passwords: no look-alike characters (0/O, 1/l/I), easy to read off a terminal.
_GENERATED_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def generate_password(groups: int = 4, size: int = 5) -> str:
    """A random password like ``k7mxq-2bd9t-...``: 4 groups of 5 give 100 bits."""
    return "-".join("".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(size))
                    for _ in range(groups))


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def _unique_login_name(session: Session, name: str, user_id: str | None = None) -> None:
    """Password login is by name, so a user with a password needs a name nobody else has."""
    query = select(User.id).where(User.name == name)
    if user_id is not None:
        query = query.where(User.id != user_id)
    if session.execute(query.limit(1)).first():
        raise conflict(Message("users.duplicate_name", name=name),
                       code="duplicate_name", field="name")


def create(session: Session, *, org: Org | None, name: str, roles: list[str],
           review_stage: int | None, password: str | None = None,
           sponsor_id: str | None = None) -> tuple[User, str]:
    """A new user and their first token; ``sponsor_id`` is who receives that token."""
    if is_reserved_name(name):
        raise invalid("name", Message("users.reserved_name", name=name.strip()))
    password_hash = None
    if password is not None:
        password_hash = hash_password(password)
        _unique_login_name(session, name)
    user = User(id=new_id("usr"), org_id=org.id if org else None, name=name, roles=roles,
                review_stage=review_stage, password_hash=password_hash, sponsor_id=sponsor_id)
    session.add(user)
    session.flush()
    return user, issue_token(session, user.id, label="created")


def get(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise not_found("用户", user_id)
    return user


def update(session: Session, user: User, body: dict[str, Any],
           actor_id: str | None = None) -> list[str]:
    """Apply a PATCH {roles?, review_stage?, disabled?, password?}; returns the changed fields.

    An actor other than the user who sets their password, or gives them a reviewer role or
    stage, becomes their sponsor: someone who could act as them (see services.independence)."""
    changed: list[str] = []
    was_reviewer, old_stage = "reviewer" in user.roles, user.review_stage
    if "roles" in body or "review_stage" in body:
        roles, stage = parse_roles(body.get("roles", list(user.roles)),
                                   body.get("review_stage", user.review_stage
                                            if "roles" not in body else None))
        if roles != list(user.roles) or stage != user.review_stage:
            user.roles, user.review_stage = roles, stage
            changed.append("roles")
    if "disabled" in body:
        if not isinstance(body["disabled"], bool):
            raise invalid("disabled", field_message("field.boolean", "disabled"))
        if body["disabled"] != user.disabled:
            user.disabled = body["disabled"]
            changed.append("disabled")
    if "password" in body:
        user.password_hash = hash_password(body["password"])
        _unique_login_name(session, user.name, user.id)
        changed.append("password")
    appointed = "reviewer" in user.roles and (not was_reviewer or user.review_stage != old_stage)
    if actor_id is not None and actor_id != user.id and (appointed or "password" in changed):
        user.sponsor_id = actor_id
    session.flush()
    return changed


def set_password_by_name(session: Session, name: str, password: str) -> User:
    """Set the password of the user called ``name`` (the login name), for the CLI."""
    users = list(session.execute(select(User).where(User.name == name)
                                 .order_by(User.created_at, User.id)).scalars())
    if not users:
        raise not_found("用户", name)
    update(session, users[0], {"password": password})  # several of that name: a 409
    record(session, "user.password", target=users[0].id, details={"by": "cli"})
    return users[0]


def verify_login(session: Session, name: str, password: str) -> User | None:
    """The user whose name and password match, or None (same cost either way)."""
    candidates = list(session.execute(select(User).where(
        User.name == name, User.password_hash.is_not(None))).scalars())
    user = candidates[0] if len(candidates) == 1 else None
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash or ""):
        user.password_hash = _hasher.hash(password)
    return user


def to_json(user: User, org_slug: str | None) -> dict[str, Any]:
    return {"id": user.id, "org": org_slug, "name": user.name, "roles": list(user.roles),
            "review_stage": user.review_stage, "disabled": user.disabled,
            "has_password": user.password_hash is not None,
            "created_at": rfc3339(user.created_at)}


def token_json(token: ApiToken) -> dict[str, Any]:
    return {"id": token.id, "user": token.user_id, "label": token.label,
            "created_at": rfc3339(token.created_at), "last_used_at": rfc3339(token.last_used_at),
            "revoked_at": rfc3339(token.revoked_at)}
