"""The long-lived parts one hub process holds: settings, database, Redis, object store, keys."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from ..security.audit import SESSION_KEY, AuditSeal
from ..security.audit_checkpoint import CheckpointStore
from ..security.audit_key import AuditKey
from .config import Settings
from .crypto import CredentialBox
from .db import Database

if TYPE_CHECKING:
    import redis

    from storage.base import ObjectStore


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(settings.database_url)
        self.box = CredentialBox(settings.secret_key)
        key = AuditKey(audit_key=settings.audit_key, secret_key=settings.secret_key)
        checkpoints = CheckpointStore(key, data_dir=settings.data_dir,
                                      redis_client=self._redis_if_configured)
        self.audit = AuditSeal(key=key, checkpoints=checkpoints)
        self.db.sessions.configure(info={SESSION_KEY: self.audit})

    def _redis_if_configured(self) -> redis.Redis | None:
        return self.redis if self.settings.redis_url else None

    @cached_property
    def redis(self) -> redis.Redis:
        import redis

        return redis.Redis.from_url(self.settings.redis_url, socket_timeout=10,
                                    socket_connect_timeout=5, health_check_interval=30)

    @cached_property
    def store(self) -> ObjectStore:
        from storage.factory import open_store

        s = self.settings
        return open_store(s3_endpoint=s.s3_endpoint or None, s3_access_key=s.s3_access_key,
                          s3_secret_key=s.s3_secret_key, s3_bucket=s.s3_bucket,
                          s3_secure=s.s3_secure, local_root=s.data_dir / "objects")

    def close(self) -> None:
        if "redis" in self.__dict__:
            self.redis.close()
        self.db.dispose()
