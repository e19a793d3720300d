"""First start: migrate the schema and make sure the bootstrap admin token works."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from . import migrate
from .audit import seal_legacy_prefix
from .auth import TOKEN_PREFIX, ensure_bootstrap_admin
from .runtime import Runtime


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


def prepare(runtime: Runtime) -> str:
    """Upgrade the schema and register the bootstrap token; returns the token."""
    migrate.upgrade(runtime.db.engine)
    token = bootstrap_token(runtime)
    with runtime.db.session() as session:
        ensure_bootstrap_admin(session, token)
    with runtime.db.session() as session:
        seal_legacy_prefix(session)
    return token
