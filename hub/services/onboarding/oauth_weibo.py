"""Weibo accounts connected by OAuth 2.0 (authorization code; docs/platforms/weibo.md).

The consent page is asked with ``forcelogin=true`` so the person at a shared desktop logs in
as the account they mean to connect. The code is exchanged at once; the token is then checked
with ``get_token_info``: its ``appkey`` must be the hub's and its ``uid`` is the identity (not
the uid the token answer names). Weibo web apps get no refresh token: the token's expiry is
when access stops unless the holder authorises again.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ...models import utcnow
from .base import Begun
from .binding import Grant
from .oauth_flow import GrantFailed, NotConfigured, number
from .oauth_http import get, json_of, post_form

if TYPE_CHECKING:
    from ...infra.runtime import Runtime
    from ...models import Account

PLATFORM = "weibo"


def base(runtime: Runtime) -> str:
    return runtime.settings.api_base(PLATFORM).rstrip("/")


def start(runtime: Runtime, *, callback_url: str, account: Account | None) -> Begun:
    settings = runtime.settings
    if not settings.weibo_app_key or not settings.weibo_app_secret:
        raise NotConfigured(PLATFORM)
    state = secrets.token_urlsafe(24)  # 192 bits
    params = {"client_id": settings.weibo_app_key, "redirect_uri": callback_url,
              "state": state, "display": "default", "forcelogin": "true"}
    if settings.weibo_scope:
        params["scope"] = settings.weibo_scope
    mobile = {**params, "display": "mobile"}  # the QR code is scanned with a phone
    return Begun(state, f"{base(runtime)}/oauth2/authorize?{urlencode(params)}",
                 settings.oauth_attempt_ttl_s,
                 mobile_url=f"{base(runtime)}/oauth2/authorize?{urlencode(mobile)}")


def exchange(runtime: Runtime, code: str, callback_url: str) -> Grant:
    settings = runtime.settings
    answer = json_of(post_form(settings, PLATFORM, f"{base(runtime)}/oauth2/access_token", {
        "client_id": settings.weibo_app_key, "client_secret": settings.weibo_app_secret,
        "grant_type": "authorization_code", "code": code, "redirect_uri": callback_url}))
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise GrantFailed(f"weibo_{answer.get('error_code') or 'no_token'}")
    info = json_of(post_form(settings, PLATFORM, f"{base(runtime)}/oauth2/get_token_info",
                             {"access_token": token}))
    if str(info.get("appkey")) != settings.weibo_app_key:
        raise GrantFailed("appkey_mismatch")
    uid = str(info.get("uid") or "")
    lifetime = number(info.get("expire_in", info.get("expires_in")))
    if not uid or lifetime is None or lifetime <= 0:
        raise GrantFailed("token_info_unusable")
    scopes = [s for s in str(info.get("scope") or "").split(",") if s]
    expires_at = utcnow() + timedelta(seconds=lifetime)
    return Grant(PLATFORM, screen_name(runtime, token, uid), {"access_token": token, "uid": uid},
                 scopes=scopes, missing=[], expires_at=expires_at, token_expires_at=expires_at)


def screen_name(runtime: Runtime, token: str, uid: str) -> str:
    try:
        user = json_of(get(runtime.settings, PLATFORM, f"{base(runtime)}/2/users/show.json",
                           {"access_token": token, "uid": uid}))
    except Exception:  # noqa: BLE001 - the name is a nicety; the uid identifies
        user = {}
    name = user.get("screen_name")
    return name if isinstance(name, str) and name.strip() else f"微博用户{uid}"
