"""Bearer tokens: issued once, stored as SHA-256, resolved to a user on every /api/ call."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import g, request
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .errors import ApiError
from .ids import new_id
from .models import ApiToken, Org, User, utcnow

TOKEN_PREFIX = "yc_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def issue_token(session: Session, user_id: str, *, label: str = "", token: str | None = None) -> str:
    token = token or new_token()
    session.add(ApiToken(id=new_id("tok"), user_id=user_id, token_hash=hash_token(token),
                         label=label))
    return token


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their roles and the org subtree they may act in."""

    user_id: str
    name: str
    roles: tuple[str, ...]
    org_id: str | None
    org_path: str | None  # None: the whole province (bootstrap admin)
    review_stage: int | None = None

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def covers_path(self, path: str) -> bool:
        return self.org_path is None or path.startswith(self.org_path)


def ensure_bootstrap_admin(session: Session, token: str) -> str:
    """Make sure a province-wide admin holds ``token``; returns the user id."""
    token_hash = hash_token(token)
    found = session.execute(select(ApiToken.user_id).where(ApiToken.token_hash == token_hash,
                                                           ApiToken.revoked_at.is_(None))).first()
    if found:
        return found[0]
    user = session.execute(select(User).where(User.name == "bootstrap-admin")).scalar_one_or_none()
    if user is None:
        user = User(id=new_id("usr"), org_id=None, name="bootstrap-admin", roles=["admin"])
        session.add(user)
        session.flush()
    issue_token(session, user.id, label="bootstrap", token=token)
    return user.id


def authenticate(session: Session) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401)
    token_hash = hash_token(token.strip())
    row = session.execute(
        select(ApiToken.id, User, ApiToken.token_hash, ApiToken.last_used_at)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not hmac.compare_digest(row[2], token_hash) or row[1].disabled:
        raise ApiError(401)
    token_id, user, last_used = row[0], row[1], row[3]
    org_path = None
    if user.org_id is not None:
        org_path = session.execute(select(Org.path).where(Org.id == user.org_id)).scalar_one()
    if last_used is None or (utcnow() - last_used).total_seconds() > 60:
        _touch(session, token_id)
    return Principal(user_id=user.id, name=user.name, roles=tuple(user.roles or ()),
                     org_id=user.org_id, org_path=org_path, review_stage=user.review_stage)


def _touch(session: Session, token_id: str) -> None:
    now: datetime = utcnow()
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def current() -> Principal:
    principal = getattr(g, "principal", None)
    if principal is None:
        raise ApiError(401)
    return principal
