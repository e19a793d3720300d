"""An in-memory object store for pure unit tests of code that only needs the contract."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from storage.base import ObjectNotFound
from storage.keys import check_key


class MemoryStore:
    def __init__(self) -> None:
        self._objects: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._objects)} objects)"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        with self._lock:
            self._objects[check_key(key)] = (bytes(data), content_type)

    def get(self, key: str) -> bytes:
        return self._entry(key)[0]

    def content_type(self, key: str) -> str:
        return self._entry(key)[1]

    def _entry(self, key: str) -> tuple[bytes, str]:
        with self._lock:
            try:
                return self._objects[check_key(key)]
            except KeyError:
                raise ObjectNotFound(key) from None

    def exists(self, key: str) -> bool:
        with self._lock:
            return check_key(key) in self._objects

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(check_key(key), None)

    def ping(self) -> None:
        return None

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        with self._lock:
            keys = sorted(k for k in self._objects if k.startswith(prefix))
        yield from keys
