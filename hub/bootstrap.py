"""First start: migrate the schema and make sure the bootstrap admin token works."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from . import migrate
from .audit import seal_legacy_prefix
from .auth import TOKEN_PREFIX, bootstrap_token_revoked, ensure_bootstrap_admin
from .private_files import private_file, write_new_private
from .runtime import Runtime
from .services import account_identity

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


def _replace_generated(runtime: Runtime) -> str:
    path: Path = runtime.settings.data_dir / TOKEN_FILE
    fresh = path.with_name(TOKEN_FILE + ".new")
    fresh.unlink(missing_ok=True)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    write_new_private(fresh, token)
    fresh.replace(path)
    return token
