"""Login throttling in Redis: too many failures for one user name or from one address within a
window answer 429 until the window ends, without even checking the password."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW_S = 15 * 60


class LoginThrottle:
    def __init__(self, client: redis.Redis, prefix: str, *,
                 per_name: int = MAX_FAILURES_PER_NAME,
                 per_address: int = MAX_FAILURES_PER_ADDRESS, window_s: int = WINDOW_S):
        self.client = client
        self.prefix = prefix
        self.per_name = per_name
        self.per_address = per_address
        self.window_s = window_s

    def _keys(self, name: str, address: str | None) -> tuple[str, str]:
        name_digest = hashlib.sha256(name.strip().casefold().encode()).hexdigest()[:32]
        return (f"{self.prefix}:login-fail:name:{name_digest}",
                f"{self.prefix}:login-fail:addr:{address or 'unknown'}")

    def retry_after(self, name: str, address: str | None) -> int:
        """Seconds the caller must wait; 0 when a login attempt may proceed."""
        name_key, addr_key = self._keys(name, address)
        name_count, addr_count = self.client.mget(name_key, addr_key)
        waits = []
        if name_count is not None and int(name_count) >= self.per_name:
            waits.append(self.client.ttl(name_key))
        if addr_count is not None and int(addr_count) >= self.per_address:
            waits.append(self.client.ttl(addr_key))
        return max((max(w, 1) for w in waits), default=0)

    def failed(self, name: str, address: str | None) -> None:
        pipe = self.client.pipeline()
        for key in self._keys(name, address):
            pipe.set(key, 0, ex=self.window_s, nx=True)
            pipe.incr(key)
        pipe.execute()

    def succeeded(self, name: str, address: str | None) -> None:
        self.client.delete(self._keys(name, address)[0])
