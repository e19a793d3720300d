"""Who is calling: a bearer token (issued once, stored as SHA-256) or an admin-UI session cookie
(with a CSRF token on every state-changing request, in the ``X-CSRF-Token`` header or a
``csrf_token`` form field), resolved to a user on every /api/ call. The admin blueprint can
call ``authenticate`` the same way for its own pages."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, request
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..errors import ApiError
from ..infra.ids import new_id
from ..messages import Message
from ..models import ApiToken, Org, User, utcnow

log = logging.getLogger("yunchu.auth")

TOKEN_PREFIX = "yc_"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def issue_token(session: Session, user_id: str, *, label: str = "", token: str | None = None) -> str:
    return issue_token_row(session, user_id, label=label, token=token)[1]


def issue_token_row(session: Session, user_id: str, *, label: str = "",
                    token: str | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user_id``: the row (hash only) and the token itself, shown once."""
    token = token or new_token()
    row = ApiToken(id=new_id("tok"), user_id=user_id, token_hash=hash_token(token), label=label)
    session.add(row)
    session.flush()
    return row, token


def revoke_token(session: Session, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their roles and the org subtree they may act in."""

    user_id: str
    name: str
    roles: tuple[str, ...]
    org_id: str | None
    org_path: str | None  # None: the whole province (bootstrap admin)
    review_stage: int | None = None
    token_id: str | None = None  # the bearer token used; None for a UI session
    via_session: bool = False

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def covers_path(self, path: str) -> bool:
        return self.org_path is None or path.startswith(self.org_path)

    @property
    def province_wide(self) -> bool:
        """No org, or the root of the region tree ("/<root>/")."""
        return self.org_path is None or self.org_path.count("/") == 2


BOOTSTRAP_USER = "bootstrap-admin"


def is_reserved_name(name: str) -> bool:
    """Names no one may give a user: the bootstrap admin's (see ``ensure_bootstrap_admin``)."""
    return name.strip().casefold() == BOOTSTRAP_USER


def bootstrap_token_revoked(session: Session, token: str) -> bool:
    found = session.execute(select(ApiToken.revoked_at).where(
        ApiToken.token_hash == hash_token(token))).first()
    return found is not None and found[0] is not None


def bootstrap_admin_id(session: Session) -> str | None:
    """The bootstrap admin: the oldest user named ``bootstrap-admin`` without an org."""
    return session.execute(select(User.id).where(
        User.name == BOOTSTRAP_USER, User.org_id.is_(None)
    ).order_by(User.created_at, User.id).limit(1)).scalar_one_or_none()


def ensure_bootstrap_admin(session: Session, token: str) -> str:
    """Make sure the bootstrap admin holds ``token``; returns the user id.

    The bootstrap admin is the oldest user named ``bootstrap-admin`` without an org (only
    such a user is province-wide; the API refuses the name, and a same-named user of an org
    from before is never taken for it). A ``token`` revoked through the API is reinstated,
    with a warning: it is the operator's YUNCHU_BOOTSTRAP_TOKEN (a generated one is replaced
    instead, see ``bootstrap.prepare``), and ``yunchu up`` must print a token that works."""
    user_id = bootstrap_admin_id(session)
    if user_id is None:
        user_id = new_id("usr")
        session.add(User(id=user_id, org_id=None, name=BOOTSTRAP_USER, roles=["admin"]))
        session.flush()
    row = session.execute(select(ApiToken).where(
        ApiToken.token_hash == hash_token(token))).scalar_one_or_none()
    if row is None:
        issue_token(session, user_id, label="bootstrap", token=token)
        return user_id
    if row.revoked_at is not None or row.user_id != user_id:
        log.warning("YUNCHU_BOOTSTRAP_TOKEN had been revoked or held by another user: it is the "
                    "bootstrap admin's again. To retire it, set a new YUNCHU_BOOTSTRAP_TOKEN.")
        row.revoked_at, row.user_id, row.label = None, user_id, "bootstrap"
        session.flush()
    return user_id


def principal_for(session: Session, user: User, *, token_id: str | None = None,
                  via_session: bool = False) -> Principal:
    org_path = None
    if user.org_id is not None:
        org_path = session.execute(select(Org.path).where(Org.id == user.org_id)).scalar_one()
    return Principal(user_id=user.id, name=user.name, roles=tuple(user.roles or ()),
                     org_id=user.org_id, org_path=org_path, review_stage=user.review_stage,
                     token_id=token_id, via_session=via_session)


def authenticate(session: Session) -> Principal:
    """The bearer token if one is sent, else the UI session cookie; 401 when neither is valid."""
    header = request.headers.get("Authorization")
    if header is not None:
        return _bearer(session, header)
    from ..services.sessions import COOKIE

    if request.cookies.get(COOKIE):
        return _cookie_session(session, request.cookies[COOKIE])
    raise ApiError(401)


def _bearer(session: Session, header: str) -> Principal:
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
    if last_used is None or (utcnow() - last_used).total_seconds() > 60:
        _touch(session, token_id)
    return principal_for(session, user, token_id=token_id)


def _cookie_session(session: Session, session_id: str) -> Principal:
    from ..services.sessions import CSRF_HEADER, store_for

    web = store_for(current_app.extensions["yunchu"]).get(session_id)
    if web is None:
        raise ApiError(401)
    user = session.get(User, web.user_id)
    if user is None or user.disabled:
        raise ApiError(401)
    presented = request.headers.get(CSRF_HEADER) or (
        request.form.get("csrf_token") if request.mimetype in FORM_TYPES else None)
    if request.method not in SAFE_METHODS and not web.csrf_matches(presented):
        raise ApiError(403, Message("access.csrf"),
                       code="csrf_failed")
    return principal_for(session, user, via_session=True)


def _touch(session: Session, token_id: str) -> None:
    now: datetime = utcnow()
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def current() -> Principal:
    principal = getattr(g, "principal", None)
    if principal is None:
        raise ApiError(401)
    return principal
