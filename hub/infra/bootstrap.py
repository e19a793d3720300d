"""First start: migrate the schema and make sure the bootstrap admin token works."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from ..errors import ApiError
from ..models import User
from ..security.audit import record, seal_legacy_prefix
from ..security.auth import (
    BOOTSTRAP_USER,
    TOKEN_PREFIX,
    bootstrap_admin_id,
    bootstrap_token_revoked,
    ensure_bootstrap_admin,
)
from ..services import account_identity
from ..services import users as user_service
from . import migrate
from .private_files import private_file, write_new_private
from .runtime import Runtime

log = logging.getLogger("yunchu.bootstrap")
TOKEN_FILE = "bootstrap.token"


def bootstrap_token(runtime: Runtime) -> str:
    """YUNCHU_BOOTSTRAP_TOKEN when set; else one generated once into the data dir (mode 0600)."""
    if runtime.settings.bootstrap_token:
        return runtime.settings.bootstrap_token
    path: Path = runtime.settings.data_dir / TOKEN_FILE
    if path.exists():
        private_file(path)
        return path.read_text().strip()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    write_new_private(path, token)
    return token


def upgrade(runtime: Runtime) -> None:
    """The latest schema, and the data a migration cannot fill in without the secret key
    (identity keys of accounts registered before they were kept)."""
    migrate.upgrade(runtime.db.engine)
    with runtime.db.session() as session:
        account_identity.backfill(session, runtime.box)


def prepare(runtime: Runtime) -> str:
    """Upgrade the schema and register the bootstrap token; returns the token.

    A generated token (in the data dir) that was revoked through the API is replaced by a
    new one: the revocation stands, and the start prints a token that works."""
    upgrade(runtime)
    token = bootstrap_token(runtime)
    with runtime.db.session() as session:
        if not runtime.settings.bootstrap_token and bootstrap_token_revoked(session, token):
            token = _replace_generated(runtime)
            log.warning("the generated bootstrap token had been revoked: a new one is in %s",
                        runtime.settings.data_dir / TOKEN_FILE)
        ensure_bootstrap_admin(session, token)
    with runtime.db.session() as session:
        seal_legacy_prefix(session)
    return token


def first_password(runtime: Runtime) -> str | None:
    """A generated password for the bootstrap admin when it has none, so a newcomer can sign in
    to the admin UI; returned to be shown once, kept only as its argon2 hash. None when the
    bootstrap admin already has a password (a later start changes nothing)."""
    password = user_service.generate_password()
    try:
        with runtime.db.session() as session:
            user_id = bootstrap_admin_id(session)
            user = session.get(User, user_id) if user_id else None
            if user is None or user.password_hash is not None:
                return None
            user_service.update(session, user, {"password": password})
            record(session, "user.password", target=user.id, actor_id=user.id,
                   actor_name=BOOTSTRAP_USER, details={"by": "first_start"})
    except ApiError:  # another user holds the name (older versions allowed it)
        log.warning("no password was set for %s: another user has that name; rename that "
                    "user, then run `yunchu users set-password %s`", BOOTSTRAP_USER,
                    BOOTSTRAP_USER)
        return None
    return password


def _replace_generated(runtime: Runtime) -> str:
    path: Path = runtime.settings.data_dir / TOKEN_FILE
    fresh = path.with_name(TOKEN_FILE + ".new")
    fresh.unlink(missing_ok=True)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    write_new_private(fresh, token)
    fresh.replace(path)
    return token
