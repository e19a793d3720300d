"""The audit log's key: entry MACs and checkpoint signatures, from a key kept outside the database.

Without ``YUNCHU_AUDIT_KEY`` the key is derived from ``YUNCHU_SECRET_KEY`` under its own label, so
it never equals the credential key. Someone who can write the database but does not hold the key
cannot recompute an entry's MAC after editing, removing or inserting entries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_ENTRY_DOMAIN = b"yunchu audit entry v1\n"
_CHECKPOINT_DOMAIN = b"yunchu audit checkpoint v1\n"
_KEY_ID_DOMAIN = b"yunchu audit key id v1"


def canonical(fields: dict[str, Any]) -> str:
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


class AuditKey:
    def __init__(self, *, audit_key: str = "", secret_key: str = ""):
        if audit_key:
            material, info = audit_key.encode(), b"yunchu audit key v1"
        elif secret_key:
            material, info = secret_key.encode(), b"yunchu audit chain v1"
        else:
            raise ValueError("an audit key needs YUNCHU_AUDIT_KEY or YUNCHU_SECRET_KEY")
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"yunchu",
                         info=info).derive(material)
        # Names the key in each entry without revealing it, so a verify with another key can say
        # "wrong key" rather than "every entry was edited".
        self.key_id = hmac.new(self._key, _KEY_ID_DOMAIN, hashlib.sha256).hexdigest()[:16]

    def entry_mac(self, prev_mac: str, fields: dict[str, Any]) -> str:
        message = _ENTRY_DOMAIN + prev_mac.encode() + b"\n" + canonical(fields).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def sign(self, payload: dict[str, Any]) -> str:
        message = _CHECKPOINT_DOMAIN + canonical(payload).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def signature_ok(self, payload: dict[str, Any], signature: str) -> bool:
        return hmac.compare_digest(self.sign(payload), signature)
