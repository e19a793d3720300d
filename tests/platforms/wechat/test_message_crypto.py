"""adapters.wechat_crypto against wechatpy's WeChatCrypto (an independent implementation of
WeChat's safe-mode scheme), in both directions."""

from __future__ import annotations

import base64
import os

import pytest
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import to_text

from adapters.wechat_crypto import MessageCryptoError, decrypt, encrypt, signature

TOKEN, APPID = "Callback0Token", "wx00000000000000aa"
EVENT = "<xml><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[发布完成]]></Event></xml>"


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode().rstrip("=")


def test_what_wechatpy_encrypts_we_decrypt():
    key = _key()
    sealed = WeChatCrypto(TOKEN, key, APPID).encrypt_message(EVENT, "42", "1700000000")
    ciphertext = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    signed = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    assert signature(TOKEN, "1700000000", "42", ciphertext) == signed
    assert decrypt(key, APPID, ciphertext).decode() == EVENT


def test_what_we_encrypt_wechatpy_decrypts():
    key = _key()
    ciphertext = encrypt(key, APPID, EVENT.encode())
    body = f"<xml><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>"
    msg_signature = signature(TOKEN, "1700000000", "42", ciphertext)
    plain = WeChatCrypto(TOKEN, key, APPID).decrypt_message(body, msg_signature, "1700000000",
                                                            "42")
    assert to_text(plain) == EVENT
    assert encrypt(key, APPID, b"x") != encrypt(key, APPID, b"x")  # random prefix each time


@pytest.mark.parametrize("case", ["other appid", "other key", "not base64", "truncated",
                                  "bad key"])
def test_what_is_not_ours_is_refused(case):
    key = _key()
    ciphertext = encrypt(key, APPID, EVENT.encode())
    attempt = {
        "other appid": lambda: decrypt(key, "wx_other", ciphertext),
        "other key": lambda: decrypt(_key(), APPID, ciphertext),
        "not base64": lambda: decrypt(key, APPID, "%%%" + ciphertext),
        "truncated": lambda: decrypt(key, APPID, base64.b64encode(
            base64.b64decode(ciphertext)[:-7]).decode()),
        "bad key": lambda: decrypt("short", APPID, ciphertext),
    }[case]
    with pytest.raises(MessageCryptoError):
        attempt()
