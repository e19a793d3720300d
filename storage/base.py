"""The object store contract: bytes under string keys, plus the errors every backend raises.

Backends: ``storage.local.LocalStore`` (a directory, for bare machines and tests),
``storage.minio_store.MinioStore`` (MinIO or any S3 peer). Pick one with ``storage.factory``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol


class StoreError(Exception):
    """The store refused or failed an operation."""


class ObjectNotFound(StoreError):
    """No object under that key."""

    def __init__(self, key: str):
        super().__init__(f"对象不存在 (no object under key {key!r})")
        self.key = key


class StoreUnavailable(StoreError):
    """The store cannot be reached (network down, bad credentials, disk gone)."""


class InvalidKey(ValueError):
    """A key outside the portable key syntax (see ``storage.keys.check_key``)."""


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing any previous object atomically."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; raise ObjectNotFound when there are none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    def ping(self) -> None:
        """Return quickly when the store answers; raise StoreUnavailable otherwise."""
        ...

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix`` (for tests and maintenance, not hot paths)."""
        ...
