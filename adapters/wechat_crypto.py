"""WeChat's message encryption for safe mode (安全模式, the WXBizMsgCrypt scheme).

The account's EncodingAESKey (43 characters) is the base64 of a 32-byte AES key; the IV is the
key's first 16 bytes. The plaintext is 16 random bytes, the message length (4 bytes, network
order), the message and the appid, padded PKCS#7-style to a multiple of 32 bytes, then
AES-256-CBC encrypted and base64-encoded into ``<Encrypt>``. ``msg_signature`` is the SHA-1 of
the sorted, concatenated token, timestamp, nonce and that ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
AES_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}")


class MessageCryptoError(ValueError):
    """The ciphertext is not a message of this key and appid."""


def signature(*parts: str) -> str:
    """SHA-1 of the sorted, concatenated parts: ``signature`` (token, timestamp, nonce) and
    ``msg_signature`` (the same plus the ciphertext)."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    if not AES_KEY_RE.fullmatch(encoding_aes_key):
        raise MessageCryptoError("EncodingAESKey must be 43 base64 characters")
    return base64.b64decode(encoding_aes_key + "=")


def encrypt(encoding_aes_key: str, appid: str, message: bytes) -> str:
    key = aes_key(encoding_aes_key)
    plain = os.urandom(16) + len(message).to_bytes(4, "big") + message + appid.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def decrypt(encoding_aes_key: str, appid: str, ciphertext: str) -> bytes:
    """The message inside ``ciphertext``; MessageCryptoError unless it was made with this key
    for this appid."""
    key = aes_key(encoding_aes_key)
    try:
        data = base64.b64decode(ciphertext, validate=True)
    except (binascii.Error, ValueError):
        raise MessageCryptoError("ciphertext is not base64") from None
    if not data or len(data) % 16:
        raise MessageCryptoError("ciphertext is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or len(plain) < 20 + pad:
        raise MessageCryptoError("bad padding")
    plain = plain[:-pad]
    length = int.from_bytes(plain[16:20], "big")
    if 20 + length > len(plain):
        raise MessageCryptoError("bad length")
    if plain[20 + length:] != appid.encode():
        raise MessageCryptoError("message for another appid")
    return plain[20:20 + length]
