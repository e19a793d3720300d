"""A directory as object store: for bare machines, the demo and tests.

Each object is a file at ``<root>/<key>``; its content type sits beside it in a hidden
``.<name>.type`` file (keys never have segments starting with a dot, so the two cannot clash).
Writes go to a temporary file in the same directory and are moved into place with
``os.replace``, so a reader sees the old bytes or the new ones, never half of either.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .base import InvalidKey, ObjectNotFound, StoreError, StoreUnavailable
from .keys import check_key

DEFAULT_CONTENT_TYPE = "application/octet-stream"


class LocalStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStore(root={str(self.root)!r})"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(_type_path(path), content_type.encode())
            _write_atomic(path, data)
        except OSError as exc:
            raise StoreError(f"写入对象失败 (cannot write {key!r}: {exc.strerror})") from exc

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StoreError(f"读取对象失败 (cannot read {key!r}: {exc.strerror})") from exc

    def content_type(self, key: str) -> str:
        """The content type given when the object was stored."""
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        try:
            return _type_path(path).read_text().strip() or DEFAULT_CONTENT_TYPE
        except FileNotFoundError:
            return DEFAULT_CONTENT_TYPE

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
            _type_path(path).unlink(missing_ok=True)
        except (IsADirectoryError, NotADirectoryError):
            return
        except OSError as exc:
            raise StoreError(f"删除对象失败 (cannot delete {key!r}: {exc.strerror})") from exc

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                f"对象存储目录不可用 (object directory unusable: {exc.strerror})"
            ) from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreUnavailable("对象存储目录不可写 (object directory is not writable)")

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        directory = prefix.rpartition("/")[0]
        if directory:
            try:
                check_key(directory)
            except InvalidKey:
                return
        start = self.root / directory
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            relative = Path(dirpath).relative_to(self.root).as_posix()
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix):
                    yield key

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))


def _type_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.type")


def _write_atomic(path: Path, data: bytes) -> None:
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; objects are meant to be served
        with os.fdopen(fd, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
