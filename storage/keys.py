"""Object key syntax and the key scheme for assets and their renditions.

Keys are ``/``-separated segments of ``[A-Za-z0-9_-][A-Za-z0-9._-]*``: no empty segments, no
segment starting with a dot (so no ``.``/``..`` and no hidden files), nothing absolute. The same
rule holds for every backend, so a key that works on a laptop works on MinIO and back.
"""

from __future__ import annotations

import re

from .base import InvalidKey

_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_KEY_LENGTH = 512


def check_key(key: str) -> str:
    """Return ``key`` unchanged when valid; raise InvalidKey otherwise."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"无效的对象键 (invalid object key {key!r})")
    if not all(_SEGMENT.fullmatch(segment) for segment in key.split("/")):
        raise InvalidKey(f"无效的对象键 (invalid object key {key!r})")
    return key


def check_sha256(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise InvalidKey(f"无效的 sha256 (not a lowercase hex sha256: {sha256!r})")
    return sha256


def asset_key(sha256: str) -> str:
    """Where the cleaned bytes of an asset live: ``assets/<sha[:2]>/<sha>``."""
    check_sha256(sha256)
    return f"assets/{sha256[:2]}/{sha256}"


def rendition_key(sha256: str, spec: str) -> str:
    """Where a cached rendition of an asset lives: ``renditions/<sha>/<spec>``."""
    check_sha256(sha256)
    return check_key(f"renditions/{sha256}/{spec}")
