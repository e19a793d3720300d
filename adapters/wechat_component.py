"""The WeChat 第三方平台 (open platform component) API: the hub's own token and the
authorizer tokens it holds for official accounts that authorised it (docs/platforms/wechat.md,
"第三方平台").

- ``component_access_token``: one per hub, in the shared token cache, fetched with the
  latest ``component_verify_ticket`` (``ticket`` callable: the hub keeps it in its database).
  A fetch takes the cache lock, so however many workers notice the expiry together, one
  process fetches; the others wait for the lock and read its token. The token is refetched
  ``REFRESH_BEFORE_S`` before it expires: the first caller to see that takes the lock without
  waiting, the others keep using the current token meanwhile.
- ``61005``/``61006`` (ticket expired or unknown) ask the platform to push a ticket now
  (``api_start_push_ticket``) and raise ``TicketUnavailable``: the next push brings one.
- Authorizer tokens: ``api_authorizer_token`` from the account's refresh token, cached under
  the authorizer appid, the component appid and a fingerprint of both secrets
  (``adapters.cachekeys``), so only the holder of this authorisation reaches the token.
  ``61003`` (the admin cancelled) raises ``AuthorizationRevoked``.

No value here (tokens, tickets, secrets) ever appears in a message or a log line.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import aiohttp

from adapters.base import AccountMisconfigured, AuthFailed, Retryable
from adapters.cachekeys import secret_bound_key
from adapters.http import DEFAULT_TIMEOUT, call

PLATFORM = "wechat"
COMPONENT_KEY_PREFIX = "wechat-component:"
AUTHORIZER_KEY_PREFIX = "wechat-authorizer:"
MARGIN_S = 120  # stop using a token this long before WeChat says it expires
REFRESH_BEFORE_S = 600  # fetch the next component token this long before the current expires
LOCK_S = 15.0

TICKET_PROBLEMS = {61005: "component ticket is expired", 61006: "component ticket is invalid"}
REVOKED = 61003
SCOPE_MISSING = 61007
REFRESH_TOKEN_INVALID = 61023
CODE_INVALID = 61009

# Capabilities the hub needs of an account, by name; the func-set ids are a setting.
CAPABILITIES = ("publish", "delete", "statistics", "comments")
PUBLISHING = ("publish", "delete")  # missing either: the account cannot take pushes


class TicketUnavailable(Retryable):
    """No usable component_verify_ticket yet: WeChat was asked to push one."""


class AuthorizationRevoked(AuthFailed):
    """The account's admin cancelled the hub's authorisation (``61003``)."""

    auth_state = "revoked"


class ScopeMissing(AuthFailed):
    """The account did not grant the func set this call needs (``61007``)."""

    auth_state = "insufficient"


class ComponentError(AccountMisconfigured):
    """A component API refused with a code the hub cannot act on by itself."""


def parse_funcsets(raw: str) -> dict[str, tuple[int, ...]]:
    """``"publish=7+11,delete=7"`` → ``{"publish": (7, 11), "delete": (7,)}``."""
    found: dict[str, tuple[int, ...]] = {}
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        name, sep, ids = part.partition("=")
        if not sep or name.strip() not in CAPABILITIES:
            raise ValueError(f"expected capability=id+id with a capability among "
                             f"{', '.join(CAPABILITIES)}, not {part!r}")
        try:
            found[name.strip()] = tuple(int(i) for i in ids.split("+") if i.strip())
        except ValueError:
            raise ValueError(f"func-set ids must be numbers: {part!r}") from None
    return found


def parse_codes(raw: str) -> frozenset[int]:
    try:
        return frozenset(int(p) for p in raw.split(",") if p.strip())
    except ValueError:
        raise ValueError(f"expected comma-separated error codes, not {raw!r}") from None


def missing_capabilities(granted: set[int], needs: Mapping[str, tuple[int, ...]]) -> list[str]:
    return [name for name, ids in needs.items() if not set(ids) <= granted]


def granted_funcsets(info: Mapping[str, Any]) -> list[int]:
    """The func-set ids of an ``authorization_info``'s ``func_info``."""
    ids: set[int] = set()
    for entry in info.get("func_info") or ():
        try:
            ids.add(int(entry["funcscope_category"]["id"]))
        except (KeyError, TypeError, ValueError):
            continue
    return sorted(ids)


@dataclass(frozen=True)
class Component:
    """The hub's identity as a 第三方平台."""

    appid: str
    secret: str = field(repr=False)
    base: str = "https://api.weixin.qq.com"

    @cached_property
    def token_key(self) -> str:
        return secret_bound_key(COMPONENT_KEY_PREFIX, self.appid, self.secret,
                                api_base=self.base)

    def authorizer_key(self, authorizer_appid: str, refresh_token: str) -> str:
        return secret_bound_key(AUTHORIZER_KEY_PREFIX, f"{self.appid}:{authorizer_appid}",
                                self.secret, refresh_token, api_base=self.base)

    def url(self, path: str) -> str:
        return f"{self.base}/cgi-bin/component/{path}"


TicketSource = Callable[[], Awaitable[str | None]]


class ComponentClient:
    def __init__(self, session: aiohttp.ClientSession, tokens: Any, component: Component,
                 ticket: TicketSource, *,
                 timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT) -> None:
        self.session = session
        self.tokens = tokens  # adapters.tokens.RedisTokenCache (get/set/delete/lock)
        self.component = component
        self.ticket = ticket
        self.timeout = timeout
        # What a business call answers once the admin cancelled (a setting: undocumented).
        self.revoked_codes: frozenset[int] = frozenset({REVOKED})

    @property
    def appid(self) -> str:
        return self.component.appid

    # ------------------------------------------------------------ component token

    async def component_token(self) -> str:
        key = self.component.token_key
        token, fresh = await self.tokens.get_many([key, key + ":fresh"])
        if token and fresh:
            return token
        if token:  # due for renewal: one caller renews, the rest carry on with this one
            try:
                async with self.tokens.lock(key, LOCK_S, wait_s=0):
                    if await self.tokens.get(key + ":fresh"):
                        return await self.tokens.get(key) or token
                    return await self._fetch_component_token()
            except Retryable:
                return token
        async with self.tokens.lock(key, LOCK_S):
            token = await self.tokens.get(key)
            if token:
                return token
            return await self._fetch_component_token()

    async def _fetch_component_token(self) -> str:
        ticket = await self.ticket()
        if not ticket:
            await self.start_push_ticket()
            raise TicketUnavailable("尚未收到微信推送的 component_verify_ticket，已请求微信推送，"
                                    "请约10分钟后重试 (no component_verify_ticket received yet; "
                                    "WeChat was asked to push one)")
        body = await self._post("api_component_token", {
            "component_appid": self.appid, "component_appsecret": self.component.secret,
            "component_verify_ticket": ticket})
        code = errcode(body)
        if code in TICKET_PROBLEMS:
            await self.start_push_ticket()
            raise TicketUnavailable(
                f"component_verify_ticket 已失效（{code}），已请求微信重新推送 "
                f"({TICKET_PROBLEMS[code]}: WeChat was asked to push a new ticket)", code=code)
        if code:
            raise component_error(code, "api_component_token")
        token = body.get("component_access_token")
        if not isinstance(token, str) or not token:
            raise Retryable("微信未返回 component_access_token (no component_access_token)")
        expires_in = as_int(body.get("expires_in"), 7200)
        key = self.component.token_key
        await self.tokens.set(key, token, max(expires_in - MARGIN_S, 1))
        await self.tokens.set(key + ":fresh", "1",
                              max(expires_in - REFRESH_BEFORE_S, expires_in // 2, 1))
        return token

    async def start_push_ticket(self) -> None:
        """Ask WeChat to push a ticket now; a refusal is only logged by the caller's error."""
        with contextlib.suppress(Retryable):
            await self._post("api_start_push_ticket", {
                "component_appid": self.appid, "component_secret": self.component.secret})

    # ------------------------------------------------------------ calls with the token

    async def api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A component API call (``api_create_preauthcode``, ``api_query_auth``…) with the
        component token; the token is refetched once when WeChat refuses it."""
        for attempt in (1, 2):
            token = await self.component_token()
            answer = await self._post(path, {"component_appid": self.appid, **body},
                                      token=token)
            code = errcode(answer)
            if code in (40001, 40014, 42001) and attempt == 1:
                await self.tokens.delete(self.component.token_key)
                continue
            if code:
                raise component_error(code, path)
            return answer
        raise AssertionError("unreachable")

    async def create_preauthcode(self) -> tuple[str, int]:
        answer = await self.api("api_create_preauthcode", {})
        code = answer.get("pre_auth_code")
        if not isinstance(code, str) or not code:
            raise Retryable("微信未返回 pre_auth_code (no pre_auth_code in the answer)")
        return code, as_int(answer.get("expires_in"), 600)

    async def query_auth(self, authorization_code: str) -> dict[str, Any]:
        answer = await self.api("api_query_auth", {"authorization_code": authorization_code})
        info = answer.get("authorization_info")
        if not isinstance(info, dict) or not info.get("authorizer_appid"):
            raise Retryable("微信未返回授权信息 (no authorization_info in the answer)")
        return info

    async def authorizer_info(self, authorizer_appid: str) -> dict[str, Any]:
        answer = await self.api("api_get_authorizer_info", {"authorizer_appid": authorizer_appid})
        return answer.get("authorizer_info") or {}

    # ------------------------------------------------------------ authorizer tokens

    async def authorizer_token(self, authorizer_appid: str, refresh_token: str, *,
                               stale: str | None = None,
                               fetched: Callable[[float], None] | None = None) -> str:
        """The account's access token; a new one when ``stale`` (refused by WeChat) is what
        the cache holds. ``fetched`` hears when (epoch seconds) a token this call fetched
        from WeChat expires; it is not called when the cache answered."""
        key = self.component.authorizer_key(authorizer_appid, refresh_token)
        current = await self.tokens.get(key)
        if current and current != stale:
            return current
        async with self.tokens.lock(key, LOCK_S):
            current = await self.tokens.get(key)
            if current and current != stale:
                return current
            answer = await self.api_for_authorizer(authorizer_appid, refresh_token)
            token = answer.get("authorizer_access_token")
            if not isinstance(token, str) or not token:
                raise Retryable("微信未返回 authorizer_access_token (no authorizer token)")
            expires_in = as_int(answer.get("expires_in"), 7200)
            await self.tokens.set(key, token, max(expires_in - MARGIN_S, 1))
            if fetched is not None:
                fetched(time.time() + expires_in)
            return token

    async def api_for_authorizer(self, authorizer_appid: str,
                                 refresh_token: str) -> dict[str, Any]:
        try:
            return await self.api("api_authorizer_token", {
                "authorizer_appid": authorizer_appid,
                "authorizer_refresh_token": refresh_token})
        except ComponentError as err:
            if err.code == REVOKED:
                raise AuthorizationRevoked(
                    "公众号管理员已取消对本平台的授权，需重新扫码授权 (the account's admin "
                    "cancelled the authorisation; authorise again)", code=REVOKED) from None
            if err.code == REFRESH_TOKEN_INVALID:
                raise AuthFailed("授权刷新令牌无效，需重新扫码授权 (authorizer_refresh_token "
                                 "is invalid; authorise again)", code=err.code) from None
            raise

    async def forget_authorizer(self, authorizer_appid: str, refresh_token: str) -> None:
        await self.tokens.delete(self.component.authorizer_key(authorizer_appid, refresh_token))

    # ------------------------------------------------------------ wire

    async def _post(self, path: str, body: dict[str, Any], *,
                    token: str | None = None) -> dict[str, Any]:
        reply = await call(self.session, "POST", self.component.url(path), platform=PLATFORM,
                           params={"component_access_token": token} if token else None,
                           json=body, timeout=self.timeout)
        if reply.status >= 500 or not isinstance(reply.json, dict):
            raise Retryable(f"微信开放平台暂时不可用 (HTTP {reply.status} from {path})",
                            code=reply.status)
        if not 200 <= reply.status < 300:
            raise ComponentError(f"微信开放平台返回 HTTP {reply.status} ({path})",
                                 code=reply.status)
        return reply.json


COMPONENT_ERRORS = {
    61004: "服务器IP不在第三方平台白名单中 (server IP not in the component's whitelist)",
    61009: "授权码无效或已使用 (authorization code invalid or used)",
    61010: "授权码已过期 (authorization code expired)",
    61011: "第三方平台 appid 无效 (invalid component)",
    40013: "AppID 无效 (invalid appid)",
    40125: "第三方平台 AppSecret 错误 (invalid component appsecret)",
    41004: "缺少第三方平台 AppSecret (component appsecret missing)",
    45009: "今日调用次数已用完 (daily quota reached)",
}


def component_error(code: int, path: str) -> Retryable | ComponentError:
    if code in (-1, 45009, 45011):
        return Retryable(f"微信开放平台繁忙或限流（{code}）(WeChat busy or limited: {path})",
                         code=code)
    reason = COMPONENT_ERRORS.get(code, f"微信开放平台返回错误码 {code} (error {code})")
    return ComponentError(f"{reason} [{path}]", code=code)


def errcode(body: Mapping[str, Any]) -> int:
    return as_int(body.get("errcode"), 0)


def as_int(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default

