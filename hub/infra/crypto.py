"""Credentials at rest: AES-256-GCM with a key derived from YUNCHU_SECRET_KEY.

The ciphertext carries a version byte and its nonce; the account id is bound in as
associated data, so a ciphertext copied onto another account does not decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"


class CredentialError(Exception):
    """Stored credentials cannot be decrypted (wrong key or tampered row)."""


class CredentialBox:
    def __init__(self, secret_key: str):
        material = secret_key.encode()
        self._aead = AESGCM(_derive(material, b"yunchu credentials v1"))
        self._fingerprint_key = _derive(material, b"yunchu fingerprint v1")
        self._identity_hash_key = _derive(material, b"yunchu account identity v1")

    def seal(self, credentials: dict[str, str], *, bound_to: str) -> bytes:
        nonce = os.urandom(12)
        plain = json.dumps(credentials, ensure_ascii=False, sort_keys=True).encode()
        return _VERSION + nonce + self._aead.encrypt(nonce, plain, bound_to.encode())

    def open(self, sealed: bytes, *, bound_to: str) -> dict[str, str]:
        if not sealed or sealed[:1] != _VERSION:
            raise CredentialError("unknown credential format")
        try:
            plain = self._aead.decrypt(sealed[1:13], sealed[13:], bound_to.encode())
        except InvalidTag:
            raise CredentialError("credentials do not decrypt with this key") from None
        return json.loads(plain)

    def fingerprint(self, value: str) -> str:
        """A keyed hash for comparing secrets without storing them."""
        return hmac.new(self._fingerprint_key, value.encode(), hashlib.sha256).hexdigest()[:16]

    def identity_key(self, value: str) -> str:
        """A keyed hash (full length: a unique index relies on it) of an account's platform
        identity, so the database can hold it unique without holding it in the clear."""
        data = value.encode("utf-8", "surrogatepass")
        return hmac.new(self._identity_hash_key, data, hashlib.sha256).hexdigest()


def _derive(material: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"yunchu", info=info).derive(material)
