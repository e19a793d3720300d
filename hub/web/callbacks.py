"""Events platforms push to the hub. WeChat: ``PUBLISHJOBFINISH`` (docs/platforms/wechat.md).

An official account's 服务器配置 points at ``/callbacks/wechat/<account id>``, with the
account's ``callback_token`` credential as its 令牌. WeChat signs every request: ``signature``
= SHA-1 of the sorted, concatenated token, ``timestamp`` and ``nonce``. Plaintext mode
(明文模式) is accepted only from an account without a ``callback_aes_key``: with one (its
EncodingAESKey), every POST must be safe mode (安全模式, ``encrypt_type=aes``), and only the
sealed event is read, after its ``msg_signature`` is checked (``adapters.wechat_crypto``). The
plain ``signature`` covers no body, so without this a captured query could carry any
plaintext body.

- ``GET`` with ``echostr`` is WeChat's check of the URL: the echo, when the signature holds.
- ``POST`` carries an XML event, parsed by defusedxml with DTDs refused in any encoding. Each
  signed (timestamp, nonce) is used once per account: a repeat within the time a timestamp
  stays acceptable is answered ``success`` and ignored (WeChat resends a request it thinks went
  unanswered; an error would count against the account, and the first copy was acted on).
- A finished publish moves its delivery out of ``pending_review`` at once (published with its
  article id and URL, or failed with the reason), so neither the status poll nor a withdrawal
  spends a ``freepublish/get`` call (100 a day per account) on it. A failure learned this way
  is a claim, not proof: the delivery keeps its publish id and is marked ``needs_lookup``, so
  a withdrawal or a re-push still asks WeChat whether a copy is live. An event that arrives
  before the worker has recorded the publish is parked in Redis for the next status poll or
  withdrawal.
- A user's message (text, image, voice, video, location, link) is stored in that user's
  conversation with the account (hub/services/interaction/messages.py), once per ``MsgId``.
- Every other event is acknowledged and ignored: WeChat wants an answer within 5 s, or it
  retries and tells the account's followers that the account cannot serve them.

The route is ``/callbacks/<platform>/<account id>`` for every platform whose spec
(adapters/spec.py) names a ``callback`` view; WeChat's is ``wechat_event`` below.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from flask import Blueprint, Response, abort, request
from sqlalchemy import select

from adapters.base import AdapterError
from adapters.wechat import publish_receipt
from adapters.wechat_crypto import MessageCryptoError, decrypt, signature

from ..errors import ApiError, bad_request, not_found
from ..fanout.parked import park
from ..fanout.status import apply_changes, change_of
from ..models import Account, Delivery
from ..platforms import load
from ..platforms import specs as platform_specs
from ..services.interaction import messages as user_messages
from .api.common import rt

log = logging.getLogger("yunchu.callbacks")
callbacks = Blueprint("callbacks", __name__)

MAX_EVENT_BYTES = 64 * 1024
MAX_CLOCK_SKEW_S = 300  # a signed request older than this is a replay
# A timestamp passes the skew check for 2 × MAX_CLOCK_SKEW_S of wall time (from 300 s before
# it to 300 s after): its (timestamp, nonce) is remembered at least that long.
REPLAY_MEMORY_S = 2 * MAX_CLOCK_SKEW_S + 60
SEEN_PREFIX = "yunchu:callback-seen:"


@callbacks.route("/callbacks/<platform>/<account_id>", methods=["GET", "POST"])
def platform_event(platform: str, account_id: str):
    """The view the platform's spec names as its ``callback``; 404 for a platform without."""
    declared = platform_specs().get(platform)
    if declared is None or declared.callback is None:
        abort(404)
    return load(declared.callback)(account_id)


def wechat_event(account_id: str):
    runtime = rt()
    credentials = _callback_credentials(runtime, account_id)
    token = credentials["callback_token"]
    _check_signature(token)
    if request.method == "GET":
        echo = request.args.get("echostr", "")
        return Response(echo, mimetype="text/plain")
    body = request.get_data(cache=False)
    mode = request.args.get("encrypt_type", "raw")
    if mode not in ("raw", "aes"):
        raise ApiError(415, f"不支持的消息加密方式 {mode[:20]} (unsupported encrypt_type)",
                       code="encrypt_type_unsupported")
    if mode == "raw" and credentials.get("callback_aes_key"):
        raise ApiError(403, "该账号已启用安全模式，不接受明文消息 (this account uses safe mode: "
                            "a plaintext message is refused)", code="safe_mode_required")
    if mode == "aes":
        body = _decrypted(credentials, _parse_event(body).get("Encrypt") or "")
    event = _parse_event(body)
    if not _first_use(runtime, account_id):
        log.info("callback for account %s repeats a signed timestamp and nonce; ignored",
                 account_id)
        return Response("success", mimetype="text/plain")
    try:
        if event.get("MsgType") == "event" and event.get("Event") == "PUBLISHJOBFINISH":
            _publish_finished(runtime, account_id, event)
        elif user_messages.is_user_message(event):
            user_messages.receive(runtime, account_id, event)
    except Exception:
        _forget_use(runtime, account_id)  # not acted on: WeChat's resend must still count
        raise
    return Response("success", mimetype="text/plain")


def _seen_key(account_id: str) -> str:
    args = request.args
    digest = hashlib.sha256(f"{args.get('timestamp', '')}\n{args.get('nonce', '')}".encode())
    return f"{SEEN_PREFIX}wechat:{account_id}:{digest.hexdigest()[:32]}"


def _first_use(runtime: Any, account_id: str) -> bool:
    """Whether this request's signed (timestamp, nonce) is new for the account (and now used)."""
    return bool(runtime.redis.set(_seen_key(account_id), b"1", nx=True, ex=REPLAY_MEMORY_S))


def _forget_use(runtime: Any, account_id: str) -> None:
    try:
        runtime.redis.delete(_seen_key(account_id))
    except Exception:  # noqa: BLE001 - the key expires by itself
        log.warning("could not release a callback's nonce for account %s", account_id)


def _callback_credentials(runtime: Any, account_id: str) -> dict[str, str]:
    with runtime.db.session() as session:
        row = session.execute(select(Account.platform, Account.credentials_sealed).where(
            Account.id == account_id)).first()
    if row is None or row.platform != "wechat":
        raise not_found("账号", account_id)
    try:
        credentials = runtime.box.open(row.credentials_sealed, bound_to=account_id)
    except Exception:  # noqa: BLE001 - unreadable credentials: nothing to verify against
        log.warning("credentials of account %s cannot be read; its callbacks are refused",
                    account_id)
        credentials = {}
    if not credentials.get("callback_token"):
        raise not_found("账号回调", account_id)  # no 服务器配置 for this account
    return credentials


def _check_signature(token: str) -> None:
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not hmac.compare_digest(signature(token, timestamp, nonce), args.get("signature", "")):
        raise ApiError(403, "签名校验失败 (signature does not match)", code="bad_signature")
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError:
        skew = float("inf")
    if skew > MAX_CLOCK_SKEW_S:
        raise ApiError(403, "请求时间戳过期 (timestamp too old or in the future)",
                       code="stale_timestamp")


def _decrypted(credentials: dict[str, str], ciphertext: str) -> bytes:
    """Safe mode (安全模式): the event inside ``<Encrypt>``, checked by ``msg_signature``."""
    aes_key = credentials.get("callback_aes_key")
    if not aes_key:
        raise ApiError(415, "该账号未配置消息加解密密钥，只能用明文模式 (safe mode needs the "
                            "account's callback_aes_key)", code="encrypt_type_unsupported")
    if not ciphertext:
        raise bad_request("安全模式的消息缺少 Encrypt (no Encrypt in a safe-mode message)")
    args = request.args
    expected = signature(credentials["callback_token"], args.get("timestamp", ""),
                         args.get("nonce", ""), ciphertext)
    if not hmac.compare_digest(expected, args.get("msg_signature", "")):
        raise ApiError(403, "消息签名校验失败 (msg_signature does not match)",
                       code="bad_signature")
    try:
        return decrypt(aes_key, credentials.get("appid", ""), ciphertext)
    except MessageCryptoError:
        raise bad_request("消息无法解密 (the message cannot be decrypted with this "
                          "account's key)") from None


def _parse_event(body: bytes) -> dict[str, Any]:
    """The event's fields. No DTDs at all: entity tricks (billion laughs, external entities)
    have no place in a WeChat event. defusedxml refuses them as the parser meets them, so a
    body in UTF-16 or any other encoding cannot slip one past a byte search."""
    if len(body) > MAX_EVENT_BYTES:
        raise ApiError(413, f"事件过大 (event larger than {MAX_EVENT_BYTES} bytes)")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise bad_request("事件不能包含 DTD 或实体 (DTDs and entities are not accepted)") \
            from None
    except (ET.ParseError, LookupError):  # LookupError: an encoding Python does not know
        raise bad_request("事件不是有效的 XML (the event is not well-formed XML)") from None
    event: dict[str, Any] = {child.tag: (child.text or "").strip() for child in root
                             if len(child) == 0}
    info = root.find("PublishEventInfo")
    if info is not None:
        event["PublishEventInfo"] = {
            "publish_id": (info.findtext("publish_id") or "").strip(),
            "publish_status": (info.findtext("publish_status") or "").strip(),
            "article_id": (info.findtext("article_id") or "").strip(),
            "article_detail": {"item": [
                {"article_url": (item.findtext("article_url") or "").strip()}
                for item in info.iterfind("article_detail/item")]},
            "fail_idx": [(node.text or "").strip() for node in info.iterfind("fail_idx")],
        }
    return event


def _publish_finished(runtime: Any, account_id: str, event: dict[str, Any]) -> None:
    info = event.get("PublishEventInfo") or {}
    publish_id = info.get("publish_id")
    if not publish_id:
        raise bad_request("事件缺少 publish_id (PUBLISHJOBFINISH without publish_id)")
    try:
        receipt = publish_receipt(publish_id, info)
    except AdapterError:  # an answer WeChat's own rules would retry (no article id…): poll
        log.info("PUBLISHJOBFINISH for account %s not understood; the status poll will ask",
                 account_id)
        return
    if receipt.state == "pending_review":
        return
    # Marked as learned from an event: a failure it reports is not trusted to mean "not live".
    receipt = replace(receipt, extra={**receipt.extra, "via": "event"})
    with runtime.db.session() as session:
        delivery_id = session.execute(select(Delivery.id).where(
            Delivery.state == "pending_review", Delivery.remote_id == publish_id,
            Delivery.account_id == account_id)).scalar()
        change = change_of(delivery_id, publish_id, receipt) if delivery_id else None
        if change is not None and apply_changes(session, [change]):
            return
    park(runtime.redis, "wechat", account_id, publish_id, receipt)
