"""Public routes of the hub as a WeChat 第三方平台 (docs/platforms/wechat.md, "第三方平台").

- ``POST /wechat/component/events``: the 授权事件接收URL. Signed like the message server
  (``signature`` over token, timestamp and nonce; ``msg_signature`` over those and the
  ciphertext), always safe mode, the AES trailer must be the hub's component appid, each
  signed (timestamp, nonce) acted on once. The answer is exactly ``success``.
- ``POST /wechat/component/<appid>/messages``: the 消息与事件接收URL (``$APPID$`` in the
  registered URL): users' messages to each authorised account, verified the same way.
- ``GET /oauth/wechat/callback``: where WeChat sends the admin's browser after the
  authorisation page (``auth_code``, ``expires_in``; ``k`` is the attempt's correlation key
  the hub put in the redirect URI, when WeChat keeps it). Answers a page for people.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from html import escape

from flask import Blueprint, Response, request
from sqlalchemy import select

from adapters.base import AdapterError
from adapters.wechat_crypto import MessageCryptoError, decrypt, signature

from ..errors import ApiError, bad_request, not_found
from ..models import Account, Authorization
from ..services.interaction import messages as user_messages
from ..services.onboarding import attempts
from ..services.wechat_component import events, grants
from .api.common import rt
from .callbacks import REPLAY_MEMORY_S, SEEN_PREFIX, _check_signature, _parse_event

log = logging.getLogger("yunchu.wechat.component")
wechat_component = Blueprint("wechat_component", __name__)


@wechat_component.route("/wechat/component/events", methods=["POST"])
def component_event():
    runtime = rt()
    settings = runtime.settings
    if not settings.wechat_component_appid:
        raise not_found("第三方平台", "wechat")
    event = _parse_event(_opened(settings))
    seen = _seen_key()
    if not runtime.redis.set(seen, b"1", nx=True, ex=REPLAY_MEMORY_S):
        log.info("component event repeats a signed timestamp and nonce; ignored")
        return Response("success", mimetype="text/plain")
    try:
        kind = events.handle(runtime, event)
    except AdapterError as err:
        runtime.redis.delete(seen)  # not acted on: WeChat's resend must count
        log.warning("component event not handled: %s", err.reason)
        raise ApiError(503, "微信开放平台暂时无法完成授权处理，请稍后重试 (the platform could not "
                            "be reached; retry)", code="platform_unavailable") from None
    except Exception:
        runtime.redis.delete(seen)
        raise
    log.info("component event %s handled", kind[:40])
    return Response("success", mimetype="text/plain")


def _opened(settings) -> bytes:
    """The push's plaintext: signature, then ``msg_signature`` over the ciphertext, then AES
    with the component's key (the trailer must be the component's appid)."""
    token = settings.wechat_component_token
    _check_signature(token)
    args = request.args
    ciphertext = _parse_event(request.get_data(cache=False)).get("Encrypt") or ""
    if not ciphertext:
        raise bad_request("授权事件缺少 Encrypt (an authorisation event must be encrypted)")
    expected = signature(token, args.get("timestamp", ""), args.get("nonce", ""), ciphertext)
    if not hmac.compare_digest(expected, args.get("msg_signature", "")):
        raise ApiError(403, "消息签名校验失败 (msg_signature does not match)",
                       code="bad_signature")
    try:
        return decrypt(settings.wechat_component_aes_key, settings.wechat_component_appid,
                       ciphertext)
    except MessageCryptoError:
        raise bad_request("授权事件无法解密 (the event cannot be decrypted with the "
                          "component's key and appid)") from None


def _seen_key(appid: str = "") -> str:
    args = request.args
    digest = hashlib.sha256(f"{args.get('timestamp', '')}\n{args.get('nonce', '')}".encode())
    scope = f"wechat-component:{appid}:" if appid else "wechat-component:"
    return f"{SEEN_PREFIX}{scope}{digest.hexdigest()[:32]}"


@wechat_component.route("/wechat/component/<appid>/messages", methods=["POST"])
def authorizer_message(appid: str):
    """The 消息与事件接收URL (``…/$APPID$/messages``): what users send the accounts authorised
    to the hub, signed and encrypted like the authorisation events. Users' messages are
    stored (hub/services/interaction/messages.py); everything else is acknowledged."""
    runtime = rt()
    settings = runtime.settings
    if not settings.wechat_component_appid:
        raise not_found("第三方平台", "wechat")
    event = _parse_event(_opened(settings))
    with runtime.db.session() as session:
        account_id = session.scalar(select(Account.id).where(
            Account.platform == "wechat", Account.auth_mode == "component",
            Account.external_id == appid[:200]).limit(1))
    if account_id is None:  # not (or no longer) held: acknowledged, so WeChat stops resending
        log.info("message for an appid no component account holds; ignored")
        return Response("success", mimetype="text/plain")
    seen = _seen_key(appid[:64])
    if not runtime.redis.set(seen, b"1", nx=True, ex=REPLAY_MEMORY_S):
        return Response("success", mimetype="text/plain")
    try:
        if user_messages.is_user_message(event):
            user_messages.receive(runtime, account_id, event)
    except Exception:
        runtime.redis.delete(seen)  # not stored: WeChat's resend must count
        raise
    return Response("success", mimetype="text/plain")


@wechat_component.route("/oauth/wechat/callback", methods=["GET"])
def authorization_returned():
    runtime = rt()
    auth_code = request.args.get("auth_code", "")[:512]
    correlation = request.args.get("k", "")[:64] or None
    if not auth_code:
        if correlation and request.args.get("error"):
            return _denied(runtime, correlation)
        return _page(400, "授权未完成", "链接缺少授权码，请回到接入页面重新发起授权。",
                     "The link carries no authorisation code; start again from the hub.")
    try:
        done = grants.complete(runtime, auth_code, correlation=correlation)
    except AdapterError as err:
        log.warning("authorisation code exchange failed: %s", err.reason)
        return _page(502, "暂时无法完成授权", "微信开放平台暂时无法完成授权，请稍后刷新本页重试。",
                     "WeChat could not complete the authorisation; reload this page later.")
    if done.outcome == "invalid":
        return _page(400, "授权码已使用或已过期",
                     "该授权码已被使用或已过期。如授权已完成，请在接入页面查看结果；否则请重新发起授权。",
                     "This authorisation code was used or has expired.")
    if done.outcome == "waiting" or done.attempt_id is None:
        return _page(202, "已收到授权", "已收到微信的授权，正在等待微信推送授权事件，完成后接入页面会自动更新。",
                     "Authorisation received; the account is bound when WeChat's event arrives.")
    with runtime.db.session() as session:
        attempt = session.get(Authorization, done.attempt_id)
        name = session.scalar(select(Account.name).where(
            Account.id == attempt.account_id)) if attempt and attempt.account_id else None
        status, error = (attempt.status, attempt.error) if attempt else ("failed", None)
    if status == attempts.COMPLETED:
        return _page(200, "授权成功", f"公众号“{name or ''}”已接入，可以关闭本页。",
                     "The official account is connected; you may close this page.")
    return _page(409, "授权未能完成", error or "授权已过期或已处理，请重新发起授权。",
                 "The authorisation could not be completed.")


def _denied(runtime, correlation: str) -> Response:
    with runtime.db.session() as session:
        attempt = session.scalar(select(Authorization).where(
            Authorization.correlation_key == correlation, Authorization.platform == "wechat"))
        if attempt is not None and attempt.status == attempts.PENDING:
            attempts.finish(session, attempt, attempts.DENIED,
                            error="公众号管理员拒绝了授权 (the admin refused the authorisation)")
    return _page(200, "已拒绝授权", "公众号管理员拒绝了授权，如需接入请重新发起。",
                 "The authorisation was refused.")


def _page(status: int, title: str, text_zh: str, text_en: str) -> Response:
    body = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title></head><body><main><h1>{escape(title)}</h1>"
            f"<p>{escape(text_zh)}</p><p lang=\"en\">{escape(text_en)}</p></main></body></html>")
    return Response(body, status=status, mimetype="text/html")
