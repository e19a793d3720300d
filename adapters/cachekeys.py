"""Keys of the shared token cache that only the holder of the secrets can reach.

A cached access token is worth as much as the secret that fetched it. Keyed by the public
identity alone (an appid, an open_id), anyone who can create an account naming that identity,
with any secret and any API base, would be handed the token. So every key carries a
fingerprint of the secret material and the API base as well: an account with a wrong secret
finds nothing under the key, fetches with its own secret and is refused by the platform.

The fingerprint is a SHA-256 over length-prefixed parts (never the secret itself); the
secrets fingerprinted are long random strings, so the hash cannot be reversed by guessing.
"""

from __future__ import annotations

import hashlib

FINGERPRINT_HEX = 32  # 128 bits: no two different secrets will meet in one cache


def fingerprint(*parts: str) -> str:
    """A hash of ``parts`` in which no two different tuples give the same input."""
    digest = hashlib.sha256(b"yunchu token cache v1")
    for part in parts:
        data = part.encode()
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()[:FINGERPRINT_HEX]


def secret_bound_key(prefix: str, identity: str, *secret_parts: str, api_base: str) -> str:
    """``<prefix><identity>:<fingerprint of identity, secrets and API base>``.

    The identity stays readable (operators can find an app's keys); the fingerprint decides.
    """
    return f"{prefix}{identity}:{fingerprint(identity, api_base, *secret_parts)}"
