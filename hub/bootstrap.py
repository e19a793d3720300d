"""First start: migrate the schema and make sure the bootstrap admin token works."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from . import migrate
from .auth import TOKEN_PREFIX, ensure_bootstrap_admin
from .runtime import Runtime
from .services import account_identity


def bootstrap_token(runtime: Runtime) -> str:
    """YUNCHU_BOOTSTRAP_TOKEN when set; else one generated once into the data dir (mode 0600)."""
    if runtime.settings.bootstrap_token:
        return runtime.settings.bootstrap_token
    path: Path = runtime.settings.data_dir / "bootstrap.token"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token)
    return token


def upgrade(runtime: Runtime) -> None:
    """The latest schema, and the data a migration cannot fill in without the secret key
    (identity keys of accounts registered before they were kept)."""
    migrate.upgrade(runtime.db.engine)
    with runtime.db.session() as session:
        account_identity.backfill(session, runtime.box)


def prepare(runtime: Runtime) -> str:
    """Upgrade the schema and register the bootstrap token; returns the token."""
    upgrade(runtime)
    token = bootstrap_token(runtime)
    with runtime.db.session() as session:
        ensure_bootstrap_admin(session, token)
    return token
