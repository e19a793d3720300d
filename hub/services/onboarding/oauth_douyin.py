"""Douyin accounts connected by OAuth 2.0 (抖音授权; docs/platforms/douyin.md).

The consent URL names the required scopes (locked for the user) and the optional ones
(``optionalScope``); ``redirect_uri`` carries no query (Douyin refuses one), so the attempt
travels in ``state``. The code lives ten minutes and is exchanged at once with a form body.
``/oauth/userinfo/`` says who granted it. The access token lasts 15 days and is refreshed
without the secret; the refresh token lasts 30 days and can be renewed five times, so the
grant ends about 180 days after consent (``auth_expires_at``) unless the holder consents again.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ...models import utcnow
from .base import Begun
from .binding import Grant
from .oauth_flow import GrantFailed, NotConfigured, number
from .oauth_http import json_of, post_form

if TYPE_CHECKING:
    from ...infra.runtime import Runtime
    from ...models import Account

PLATFORM = "douyin"
PUBLISH_SCOPE = "video.create.bind"
RENEW_SCOPE = "renew_refresh_token"
MAX_RENEWALS = 5
REFRESH_TTL = timedelta(days=30)


def base(runtime: Runtime) -> str:
    return runtime.settings.api_base(PLATFORM).rstrip("/")


def required_scopes(runtime: Runtime) -> list[str]:
    return [s for s in runtime.settings.douyin_scopes.split(",") if s.strip()]


def start(runtime: Runtime, *, callback_url: str, account: Account | None) -> Begun:
    settings = runtime.settings
    if not settings.douyin_client_key or not settings.douyin_client_secret:
        raise NotConfigured(PLATFORM)
    state = secrets.token_urlsafe(24)  # 192 bits
    params = {"client_key": settings.douyin_client_key, "response_type": "code",
              "scope": ",".join(required_scopes(runtime)), "redirect_uri": callback_url,
              "state": state}
    if settings.douyin_optional_scopes:
        params["optionalScope"] = settings.douyin_optional_scopes
    return Begun(state, f"{base(runtime)}/platform/oauth/connect/?{urlencode(params)}",
                 settings.oauth_attempt_ttl_s)


def data_of(answer: dict) -> dict:
    data = answer.get("data")
    return data if isinstance(data, dict) else {}


def exchange(runtime: Runtime, code: str, callback_url: str) -> Grant:
    settings = runtime.settings
    data = data_of(json_of(post_form(settings, PLATFORM, f"{base(runtime)}/oauth/access_token/", {
        "client_key": settings.douyin_client_key, "client_secret": settings.douyin_client_secret,
        "code": code, "grant_type": "authorization_code"})))
    token, refresh, open_id = (data.get("access_token"), data.get("refresh_token"),
                               data.get("open_id"))
    lifetime, refresh_lifetime = number(data.get("expires_in")), number(
        data.get("refresh_expires_in"))
    if data.get("error_code") or not all(isinstance(v, str) and v
                                         for v in (token, refresh, open_id)) or not lifetime:
        raise GrantFailed(f"douyin_{data.get('error_code') or 'no_token'}")
    scopes = [s for s in str(data.get("scope") or "").split(",") if s]
    who = data_of(json_of(post_form(settings, PLATFORM, f"{base(runtime)}/oauth/userinfo/",
                                    {"access_token": token, "open_id": open_id})))
    if who.get("open_id") not in (None, open_id):
        raise GrantFailed("userinfo_mismatch")
    nickname = who.get("nickname")
    now = utcnow()
    refresh_expires = now + (timedelta(seconds=refresh_lifetime) if refresh_lifetime
                             else REFRESH_TTL)
    credentials = {"client_key": settings.douyin_client_key,
                   "client_secret": settings.douyin_client_secret, "open_id": open_id,
                   "access_token": token, "refresh_token": refresh,
                   "refresh_expires_at": refresh_expires.isoformat()}
    return Grant(PLATFORM, nickname if isinstance(nickname, str) and nickname.strip()
                 else f"抖音用户{open_id[-6:]}", credentials, scopes=scopes,
                 missing=[s for s in dict.fromkeys([*required_scopes(runtime), PUBLISH_SCOPE])
                          if s not in scopes],
                 expires_at=chain_end(refresh_expires, 0, RENEW_SCOPE in scopes),
                 token_expires_at=now + timedelta(seconds=lifetime))


def chain_end(refresh_expires: datetime, renewals: int, renewable: bool) -> datetime:
    """When access stops for good: the refresh token's expiry, plus 30 days for each renewal
    left (none when the app may not renew)."""
    left = max(MAX_RENEWALS - renewals, 0) if renewable else 0
    return refresh_expires + left * REFRESH_TTL
