"""WeChat 第三方平台 onboarding: a pre-auth code and the authorisation link for it.

The link goes to WeChat's authorisation page, which only accepts being opened from a page on
the 授权发起页域名 (a bare redirect from elsewhere is refused): the admin UI renders a page on
the hub's domain with this link (and a QR code of it). The pre-auth code is the attempt's
secret; WeChat's ``authorized`` push carries it back (``hub.services.wechat_component``). The
redirect URI also carries the attempt's correlation key (a keyed hash, not the code), used
when WeChat keeps the URI's query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from adapters.base import AdapterError

from ...errors import ApiError
from ...messages import Message
from ..wechat_component import setup
from . import attempts
from .base import Begun

if TYPE_CHECKING:
    from ...infra.runtime import Runtime
    from ...models import Account

CORRELATION_PARAM = "k"
AUTH_TYPE_OFFICIAL_ACCOUNT = "1"  # only 公众号 are listed on the page


def start(runtime: Runtime, *, callback_url: str, account: Account | None) -> Begun:
    settings = runtime.settings
    if setup.component_of(settings) is None:
        raise ApiError(409, Message("onboarding.wechat_component_missing"),
                       code="component_not_configured")
    try:
        code, expires_in = setup.run(runtime, lambda client: client.create_preauthcode())
    except AdapterError as err:
        raise ApiError(502, Message("onboarding.wechat_component_failed", reason=err.reason),
                       code="platform_error",
                       details={"platform_code": err.code}) from None
    if settings.wechat_component_preauth_ttl_s:
        expires_in = min(expires_in, settings.wechat_component_preauth_ttl_s)
    redirect = _with_query(callback_url, CORRELATION_PARAM,
                           attempts.correlation_key(runtime.box, code))
    params = {"component_appid": settings.wechat_component_appid, "pre_auth_code": code,
              "redirect_uri": redirect}
    if account is not None and account.external_id:
        params["biz_appid"] = account.external_id  # never together with auth_type
    else:
        params["auth_type"] = AUTH_TYPE_OFFICIAL_ACCOUNT
    url = f"{settings.wechat_component_login_base.rstrip('/')}/cgi-bin/componentloginpage?" \
          + urlencode(params)
    return Begun(secret=code, url=url, expires_in=expires_in)


def _with_query(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({name: value})))
