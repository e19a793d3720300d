"""Admin-UI sessions kept in Redis: an opaque cookie id (stored only as its SHA-256) and a CSRF
token the page must echo in ``X-CSRF-Token`` on every state-changing request."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

    from ..infra.runtime import Runtime

COOKIE = "yunchu_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_TTL_S = 8 * 3600


def namespace(runtime: Runtime) -> str:
    """A Redis key prefix private to this deployment (derived from its secret key)."""
    digest = hashlib.sha256(b"yunchu-auth:" + runtime.settings.secret_key.encode()).hexdigest()
    return f"yunchu:auth:{digest[:12]}"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class WebSession:
    user_id: str
    csrf_token: str

    def csrf_matches(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf_token, presented or "")


class SessionStore:
    def __init__(self, client: redis.Redis, prefix: str, ttl_s: int = SESSION_TTL_S):
        self.client = client
        self.prefix = prefix
        self.ttl_s = ttl_s

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}:session:{_digest(session_id)}"

    def _user_key(self, user_id: str) -> str:
        return f"{self.prefix}:user-sessions:{user_id}"

    def create(self, user_id: str) -> tuple[str, WebSession]:
        session_id = secrets.token_urlsafe(32)
        web = WebSession(user_id=user_id, csrf_token=secrets.token_urlsafe(32))
        key = self._key(session_id)
        pipe = self.client.pipeline()
        pipe.set(key, json.dumps({"user_id": user_id, "csrf": web.csrf_token}), ex=self.ttl_s)
        pipe.sadd(self._user_key(user_id), key)
        pipe.expire(self._user_key(user_id), self.ttl_s)
        pipe.execute()
        return session_id, web

    def get(self, session_id: str) -> WebSession | None:
        raw = self.client.get(self._key(session_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return WebSession(user_id=data["user_id"], csrf_token=data["csrf"])

    def delete(self, session_id: str) -> None:
        self.client.delete(self._key(session_id))

    def delete_user(self, user_id: str) -> None:
        """End every session of a user (password change, disabling)."""
        keys = self.client.smembers(self._user_key(user_id))
        if keys:
            self.client.delete(*keys)
        self.client.delete(self._user_key(user_id))


def store_for(runtime: Runtime) -> SessionStore:
    return SessionStore(runtime.redis, namespace(runtime))
