"""Emulated Douyin Open Platform (docs/platforms/douyin.md), mounted at ``/douyin``.

Routes: the consent page ``GET/POST /platform/oauth/connect/`` (fixture accounts and scope
checkboxes, sandbox/consent.py; required scopes locked, ``optionalScope`` pre-ticks honoured;
redirect_uri https without a query, plain http allowed on loopback), ``POST /oauth/access_token/``
(a 10-minute one-use code), ``POST /oauth/userinfo/``, ``POST /oauth/refresh_token/`` and
``/oauth/renew_refresh_token/`` (forms only), ``POST /douyin/_sandbox/oauth/untick``
(``{open_id, scopes}``: the user unticks scopes), ``app_banned`` in the settings (28001016), the
v1 video APIs under ``/api/douyin/v1/video/`` (``upload_video``, ``upload_image``,
``init_video_part_upload``, ``upload_video_part``, ``complete_video_part_upload``,
``create_video``, ``video_list``, ``video_data``) and the legacy ``POST /video/delete/``.
Content answers use the ``{"data": {...}, "extra": {...}}`` envelope with HTTP 200 for business
errors; OAuth answers use ``{"data": {...}, "message": ...}``; gateway failures are bare HTTP
413/503/504.

Identity: the account is the ``open_id``. Credentials made up elsewhere are accepted on first
use (``state.accounts.check``): an unknown ``act.`` token is adopted for the ``open_id`` it is
sent with, valid for 15 days from then. ``/oauth/refresh_token/`` carries no ``open_id``, so an
unknown refresh token is adopted only when it names its account: use ``seed_credentials()`` to
make credentials the sandbox recognises (``yunchu seed --sandbox`` and tests do).

Uploads keep only size and SHA-256 (never the bytes). ``create_video`` records the post in the
ledger (title and text = the caption); it stays in review (``video_status`` 4) for
``settings.review_delay_s`` of sandbox time, then becomes 1 (published), or 2 (rejected) when the
caption contains one of ``settings.reject_words``. Tuning: ``settings_for(state)`` in Python, or
``GET``/``POST /douyin/_sandbox/settings``; both go back to defaults on ``/_sandbox/reset``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from sandbox import consent, douyin_data
from sandbox.comments import douyin_list
from sandbox.core import SandboxState, fingerprint, shared, timeout_fault
from sandbox.forms import PartMissing, media_type, read_form, stream_file_part

PLATFORM = "douyin"
MB = 1024 * 1024
IMAGE_MAX_BYTES = 20 * MB  # Douyin's real limit is not documented
BEIJING_OFFSET_S = 8 * 3600
SCOPE_CREATE = "video.create.bind"
SCOPE_DELETE = "video.delete"
SCOPE_COMMENT = "item.comment"

# Douyin's codes the sandbox answers with (docs/platforms/douyin.md, "Errors")
OK = 0
BUSY = 2100004
PARAMETER_ERROR = 2100005
NO_PERMISSION = 2100007
QUOTA_USED_UP = 2190001
ACCESS_TOKEN_EXPIRED = 2190008
ACCESS_TOKEN_EXPIRED_NEW = 28001008
ACCESS_TOKEN_INVALID = 28001003
TOKEN_OPEN_ID_MISMATCH = 28001015
TOO_FREQUENT = 28003018
OAUTH_PARAMETER_ERROR = 10002
OAUTH_NO_PERMISSION = 10004
OAUTH_MISSING_PARAMETER = 10005
OAUTH_LIMIT_EXCEEDED = 10020
REFRESH_TOKEN_EXPIRED = 10010
OAUTH_CLIENT_SECRET_WRONG = 10013
OAUTH_CODE_INVALID = 10007
APP_BANNED = 28001016

DESCRIPTIONS = {
    BUSY: "系统繁忙，请稍后重试",
    PARAMETER_ERROR: "Parameter error",
    NO_PERMISSION: "无操作权限",
    QUOTA_USED_UP: "配额已用完",
    ACCESS_TOKEN_EXPIRED: "access_token过期",
    ACCESS_TOKEN_EXPIRED_NEW: "access_token过期,请刷新或重新授权",
    ACCESS_TOKEN_INVALID: "access_token无效",
    TOKEN_OPEN_ID_MISMATCH: "access_token与open_id不匹配",
    TOO_FREQUENT: "请求频率过高",
    OAUTH_PARAMETER_ERROR: "参数错误",
    OAUTH_NO_PERMISSION: "权限不足",
    OAUTH_MISSING_PARAMETER: "缺少参数",
    OAUTH_LIMIT_EXCEEDED: "刷新次数超过上限",
    REFRESH_TOKEN_EXPIRED: "refresh_token已过期",
    OAUTH_CLIENT_SECRET_WRONG: "client_key或client_secret错误",
    OAUTH_CODE_INVALID: "授权码无效或已过期",
    APP_BANNED: "应用已被封禁或下线",
}


@dataclass
class DouyinSettings:
    """Douyin-only knobs (the shared faults and latency live in ``state.config``)."""

    review_delay_s: float = 2.0
    reject_words: tuple[str, ...] = ("审核不通过",)
    delete_enabled: bool = True  # False: delete answers 2100007 (permission withdrawn)
    new_style_expiry: bool = False  # expired access token as 28001008 instead of 2190008
    scopes: tuple[str, ...] = (SCOPE_CREATE, "video.data.bind", "video.list.bind", SCOPE_DELETE,
                               "data.external.user", "data.external.item",
                               SCOPE_COMMENT)
    comment_page_max: int = 50
    access_ttl_s: float = 1_296_000  # 15 days
    refresh_ttl_s: float = 2_592_000  # 30 days
    renew_enabled: bool = True  # False: renew answers 10004 (app lacks the permission)
    max_renewals: int = 5
    daily_create_quota: int = 1000  # per account and Beijing day (real number unconfirmed)
    requests_per_second: int = 100  # per account on the content APIs
    single_upload_max_bytes: int = 128 * MB
    min_chunk_bytes: int = 5 * MB
    max_total_bytes: int = 4096 * MB
    upload_id_ttl_s: float = 7200
    list_page_max: int = 20
    code_ttl_s: float = 600
    app_banned: bool = False  # True: every business call answers 28001016 (app offline)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update; validates everything before changing anything."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"未知配置项 (unknown settings): {sorted(unknown)}")
        checked = {
            name: _checked_setting(name, getattr(self, name), value)
            for name, value in changes.items()
        }
        for name, value in checked.items():
            setattr(self, name, value)


def _checked_setting(name: str, current: Any, value: Any) -> Any:
    if isinstance(current, tuple):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name} 必须是字符串列表 (must be a list of strings)")
        return tuple(value)
    if isinstance(current, bool) != isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} 类型不对 (wrong type)")
    if not isinstance(current, bool) and value < 0:
        raise ValueError(f"{name} 必须是非负数 (must not be negative)")
    return type(current)(value)


@dataclass(slots=True)
class Account:
    open_id: str
    fingerprint: str
    refresh_token: str = ""
    refresh_expires_at: float = 0.0
    renewals: int = 0
    item_ids: list[str] = field(default_factory=list)  # in creation order
    creates_by_day: dict[int, int] = field(default_factory=dict)
    window: tuple[int, int] = (0, 0)  # (second, requests in it)


@dataclass(slots=True)
class Token:
    open_id: str
    expires_at: float
    scopes: tuple[str, ...]


@dataclass(slots=True)
class PartUpload:
    open_id: str
    expires_at: float
    parts: dict[int, tuple[int, bytes]] = field(default_factory=dict)  # number -> (size, sha256)


@dataclass(slots=True)
class Video:
    open_id: str
    size: int
    sha256: str
    parts: int  # 1 for a single upload


@dataclass(slots=True)
class Item:
    item_id: str
    open_id: str
    text: str
    created_at: float
    review_due: float
    outcome: int  # the video_status once reviewed: 1 published, 2 not suitable
    cover_tsp: float | None
    deleted: bool = False

    def video_status(self, now: float) -> int:
        return self.outcome if now >= self.review_due else 4

    def as_json(self, now: float) -> dict[str, Any]:
        status = self.video_status(now)
        aweme_id = int(hashlib.sha256(self.item_id.encode()).hexdigest()[:15], 16)
        share = f"https://www.iesdouyin.com/share/video/{aweme_id}/" if status == 1 else ""
        return {
            "item_id": self.item_id,
            "title": self.text,
            "create_time": int(self.created_at),
            "is_reviewed": status != 4,
            "video_status": status,
            "share_url": share,
            "is_top": False,
            "statistics": {"play_count": 0, "digg_count": 0, "comment_count": 0, "share_count": 0},
        }


class World:
    """Everything the emulated Douyin remembers; replaced whenever the shared state is reset."""

    def __init__(self, state: SandboxState) -> None:
        self.accounts_of_state = state.accounts
        self.settings = DouyinSettings()
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, Token] = {}  # act. tokens
        self.refresh_tokens: dict[str, str] = {}  # rft. token -> open_id
        self.uploads: dict[str, PartUpload] = {}
        self.videos: dict[str, Video] = {}
        self.images: dict[str, str] = {}  # image_id -> open_id
        self.items: dict[str, Item] = {}
        self.refreshes: dict[str, int] = {}  # open_id -> refresh calls (for tests)
        self.granted: dict[str, tuple[str, ...]] = {}  # open_id -> scopes the user ticked
        self.codes: dict[str, tuple[str, str, tuple[str, ...], float]] = {}
        self.apps: dict[str, dict[str, str]] = {}  # client_key -> pinned redirect_uri, secret


_worlds: weakref.WeakKeyDictionary[SandboxState, World] = weakref.WeakKeyDictionary()


def world_for(state: SandboxState) -> World:
    world = _worlds.get(state)
    if world is None or world.accounts_of_state is not state.accounts:
        world = _worlds[state] = World(state)
    return world


def settings_for(state: SandboxState) -> DouyinSettings:
    return world_for(state).settings


def seed_credentials(open_id: str, client_key: str = "sandbox_app") -> dict[str, str]:
    """Credentials for a new sandbox Douyin account (both tokens name the account)."""
    secret = secrets.token_urlsafe(18)
    name = base64.urlsafe_b64encode(open_id.encode()).decode().rstrip("=")
    return {
        "client_key": client_key,
        "client_secret": secrets.token_hex(16),
        "open_id": open_id,
        "access_token": f"act.{name}.{secret}",
        "refresh_token": f"rft.{name}.{secret}",
    }


def seeded_identity(token: str) -> tuple[str | None, str]:
    """(open_id named in a seed token or None, the token's secret part)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None, token
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        return base64.urlsafe_b64decode(padded).decode(), parts[2]
    except (ValueError, UnicodeDecodeError):
        return None, token


# ---------------------------------------------------------------- envelopes


class DouyinError(Exception):
    def __init__(self, code: int, sub_description: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.sub_description = sub_description


def _body(payload: dict[str, Any]) -> web.Response:
    return web.Response(
        body=json.dumps(payload, ensure_ascii=False).encode(),
        content_type="application/json",
        charset="utf-8",
    )


def content_reply(
    state: SandboxState,
    payload: dict[str, Any] | None = None,
    *,
    code: int = OK,
    sub_description: str = "",
) -> web.Response:
    description = DESCRIPTIONS.get(code, "") if code else ""
    extra: dict[str, Any] = {
        "error_code": code,
        "description": description,
        "sub_error_code": 0,
        "sub_description": sub_description,
        "now": int(state.clock.now() * 1000),
    }
    # The official examples spell the request id both ways; so does the sandbox.
    extra["logid" if code == OK else "log_id"] = secrets.token_hex(16).upper()
    return _body(
        {
            "data": {"error_code": code, "description": description, **(payload or {})},
            "extra": extra,
        }
    )


def oauth_reply(payload: dict[str, Any] | None = None, *, code: int = OK) -> web.Response:
    description = DESCRIPTIONS.get(code, "") if code else ""
    return _body(
        {
            "data": {**(payload or {}), "error_code": code, "description": description},
            "message": "success" if code == OK else "error",
        }
    )


Handler = Callable[[web.Request, World], Awaitable[web.Response]]


def business(
    state: SandboxState, handler: Handler, *, oauth: bool = False
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Fault roll, error rendering and counting around one business endpoint."""

    def reply(code: int, sub: str = "") -> web.Response:
        state.count_error(PLATFORM)
        if oauth:
            return oauth_reply(code=code)
        return content_reply(state, code=code, sub_description=sub)

    async def endpoint(request: web.Request) -> web.StreamResponse:
        fault = state.roll_fault(PLATFORM)
        if fault == "busy":
            return reply(BUSY)
        if fault == "rate_limit":
            return state.rate_limited(reply(TOO_FREQUENT))
        if fault == "http_5xx":
            state.count_error(PLATFORM)
            return web.Response(
                status=503,
                text="<html><body>503 Service Unavailable</body></html>",
                content_type="text/html",
            )
        if world_for(state).settings.app_banned:
            return reply(APP_BANNED)
        try:
            response = await handler(request, world_for(state))
        except DouyinError as exc:
            response = reply(exc.code, exc.sub_description)
        if fault == "timeout":  # the work is done, but the answer never arrives
            return await timeout_fault(state, PLATFORM)
        return response

    return endpoint


# ---------------------------------------------------------------- auth


def fresh_token(world: World, open_id: str, now: float) -> tuple[str, Token]:
    token = f"act.{secrets.token_urlsafe(30)}"
    scopes = world.granted.get(open_id, world.settings.scopes)
    issued = Token(open_id, now + world.settings.access_ttl_s, scopes)
    world.tokens[token] = issued
    return token, issued


def authenticate(state: SandboxState, world: World, request: web.Request) -> tuple[Account, Token]:
    """The account behind the ``access-token`` header (or legacy query) and ``open_id``."""
    token = request.headers.get("access-token") or request.query.get("access_token", "")
    open_id = request.query.get("open_id", "")
    if not token or not open_id:
        raise DouyinError(PARAMETER_ERROR, "access-token and open_id are required")
    if not token.startswith("act."):
        raise DouyinError(ACCESS_TOKEN_INVALID)
    now = state.clock.now()
    issued = world.tokens.get(token)
    if issued is None:
        issued = adopt_access_token(state, world, token, open_id, now)
    if issued.open_id != open_id:
        raise DouyinError(TOKEN_OPEN_ID_MISMATCH)
    if state.accounts.is_revoked(PLATFORM, open_id):
        raise DouyinError(ACCESS_TOKEN_INVALID, "authorization revoked")
    if now >= issued.expires_at:
        settings = world.settings
        raise DouyinError(
            ACCESS_TOKEN_EXPIRED_NEW if settings.new_style_expiry else ACCESS_TOKEN_EXPIRED
        )
    account = world.accounts[open_id]
    throttle(account, world.settings, now)
    return account, issued


def adopt_access_token(
    state: SandboxState, world: World, token: str, open_id: str, now: float
) -> Token:
    named, secret = seeded_identity(token)
    if named is not None and named != open_id:
        raise DouyinError(TOKEN_OPEN_ID_MISMATCH)
    account = adopt_account(state, world, open_id, secret)
    if account is None:
        raise DouyinError(ACCESS_TOKEN_INVALID)
    issued = world.tokens[token] = Token(
        open_id, now + world.settings.access_ttl_s, world.settings.scopes
    )
    return issued


def adopt_account(state: SandboxState, world: World, open_id: str, secret: str) -> Account | None:
    """First use accepts any credentials; later seed tokens must carry the same secret."""
    secret_print = fingerprint(PLATFORM, secret)
    if state.accounts.check(PLATFORM, open_id, secret_print) != "ok":
        return None
    account = world.accounts.get(open_id)
    if account is None:
        account = world.accounts[open_id] = Account(open_id, secret_print)
    return account


def throttle(account: Account, settings: DouyinSettings, now: float) -> None:
    second, count = account.window
    if int(now) != second:
        second, count = int(now), 0
    account.window = (second, count + 1)
    if count + 1 > settings.requests_per_second:
        raise DouyinError(TOO_FREQUENT)


def oauth_form(state: SandboxState, handler: Handler) -> Callable[[web.Request], Awaitable]:
    """The token endpoints take ``application/x-www-form-urlencoded`` only."""
    endpoint = business(state, handler, oauth=True)

    async def form_only(request: web.Request) -> web.StreamResponse:
        if media_type(request) != "application/x-www-form-urlencoded":
            state.count_error(PLATFORM)
            return oauth_reply(code=OAUTH_PARAMETER_ERROR)
        return await endpoint(request)

    return form_only


async def valid_refresh_token(
    request: web.Request, world: World, grant: bool
) -> tuple[Account, str, float]:
    """The account behind the form's refresh token (refused: 10005 / 10002 / 10010)."""
    state = request.app[STATE_KEY]
    form = await read_form(request)  # urlencoded: oauth_form checked the type
    client_key, refresh = str(form.get("client_key", "")), str(form.get("refresh_token", ""))
    if not client_key or not refresh or (grant and not form.get("grant_type")):
        raise DouyinError(OAUTH_MISSING_PARAMETER)
    if grant and form.get("grant_type") != "refresh_token":
        raise DouyinError(OAUTH_PARAMETER_ERROR)
    now = state.clock.now()
    open_id = world.refresh_tokens.get(refresh) or adopt_refresh_token(state, world, refresh, now)
    if open_id is None or state.accounts.is_revoked(PLATFORM, open_id):
        raise DouyinError(REFRESH_TOKEN_EXPIRED)
    account = world.accounts[open_id]
    if account.refresh_token != refresh or now >= account.refresh_expires_at:
        raise DouyinError(REFRESH_TOKEN_EXPIRED)
    return account, refresh, now


async def refresh_access_token(request: web.Request, world: World) -> web.Response:
    """``POST /oauth/refresh_token/``: a new 15-day access token; the refresh token stays."""
    account, refresh, now = await valid_refresh_token(request, world, grant=True)
    token, issued = fresh_token(world, account.open_id, now)
    world.refreshes[account.open_id] = world.refreshes.get(account.open_id, 0) + 1
    return oauth_reply(
        {
            "access_token": token,
            "expires_in": int(issued.expires_at - now),
            "open_id": account.open_id,
            "refresh_token": refresh,
            "refresh_expires_in": int(account.refresh_expires_at - now),
            "scope": ",".join(issued.scopes),
        }
    )


async def renew_refresh_token(request: web.Request, world: World) -> web.Response:
    """``POST /oauth/renew_refresh_token/``: a new 30-day refresh token, at most 5 times."""
    settings = world.settings
    if not settings.renew_enabled:
        raise DouyinError(OAUTH_NO_PERMISSION)
    account, refresh, now = await valid_refresh_token(request, world, grant=False)
    if account.renewals >= settings.max_renewals:
        raise DouyinError(OAUTH_LIMIT_EXCEEDED)
    renewed = f"rft.{secrets.token_urlsafe(30)}"
    del world.refresh_tokens[refresh]
    world.refresh_tokens[renewed] = account.open_id
    account.refresh_token = renewed
    account.refresh_expires_at = now + settings.refresh_ttl_s
    account.renewals += 1
    return oauth_reply({"refresh_token": renewed, "expires_in": int(settings.refresh_ttl_s)})


def adopt_refresh_token(state: SandboxState, world: World, refresh: str, now: float) -> str | None:
    open_id, secret = seeded_identity(refresh)
    if open_id is None or not refresh.startswith("rft."):
        return None
    account = adopt_account(state, world, open_id, secret)
    if account is None or account.refresh_token:
        return None
    account.refresh_token = refresh
    account.refresh_expires_at = now + world.settings.refresh_ttl_s
    world.refresh_tokens[refresh] = open_id
    return open_id


# ---------------------------------------------------------------- consent and code


def check_redirect(redirect_uri: str) -> str | None:
    """Why Douyin would refuse this redirect_uri, or None: https (plain http only on
    loopback, a sandbox concession), no query string."""
    parts = urlsplit(redirect_uri)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        return "redirect_uri 必须是 https (redirect_uri must be https)"
    if parts.query:
        return "redirect_uri 不能带参数 (redirect_uri must not carry a query)"
    return None


async def connect(request: web.Request) -> web.StreamResponse:
    """``/platform/oauth/connect/``: GET shows the consent page, POST is the user's answer."""
    state: SandboxState = request.app[STATE_KEY]
    world = world_for(state)
    params = {k: str(v) for k, v in request.query.items()}
    ticked: list[str] = []
    if request.method == "POST":
        form = await read_form(request)
        ticked = [str(v) for v in form.getall("scope", [])]
        params.update({k: str(v) for k, v in form.items() if k != "scope"})
    client_key, redirect_uri = params.get("client_key", ""), params.get("redirect_uri", "")
    required = [s for s in params.get("scope", "").split(",") if s]
    if not client_key or not redirect_uri or params.get("response_type") != "code" or not required:
        return consent.error_page("参数错误 (client_key, response_type=code, scope and "
                                  "redirect_uri are required)")
    refusal = check_redirect(redirect_uri)
    if refusal:
        return consent.error_page(refusal)
    pinned = world.apps.setdefault(client_key, {"redirect_uri": redirect_uri.split("#")[0]})
    if pinned["redirect_uri"] != redirect_uri.split("#")[0]:
        return consent.error_page("redirect_uri 与应用配置不符 (redirect_uri mismatch)")
    optional = optional_scopes(params.get("optionalScope", ""))
    if request.method == "GET":
        hidden = {k: v for k, v in params.items()}
        boxes = [(name, True, True) for name in required]
        boxes += [(name, pre, False) for name, pre in optional if name not in required]
        return consent.page(title="抖音授权", app=client_key, fixtures=consent.DOUYIN_FIXTURES,
                            hidden=hidden, scopes=boxes)
    answer_state = {"state": params["state"]} if params.get("state") else {}
    if params.get("decision") != "approve":
        raise web.HTTPFound(consent.with_query(
            redirect_uri, {"error": "access_denied", "error_code": "10009", **answer_state}))
    chosen = consent.fixture(consent.DOUYIN_FIXTURES, params.get("account", ""))
    open_id = params.get("account", "")
    if not open_id:
        return consent.error_page("请选择账号 (pick an account)")
    if chosen is not None and chosen.banned:
        return consent.error_page("该账号已被封禁，无法授权 (this account is banned)", 403)
    allowed = set(required) | {name for name, _ in optional}
    scopes = tuple(dict.fromkeys([*required, *(s for s in ticked if s in allowed)]))
    state.accounts.restore(PLATFORM, open_id)
    code = secrets.token_hex(16)
    world.codes[code] = (client_key, open_id, scopes, state.clock.now() + world.settings.code_ttl_s)
    raise web.HTTPFound(consent.with_query(redirect_uri, {"code": code, **answer_state}))


def optional_scopes(raw: str) -> list[tuple[str, bool]]:
    """``optionalScope``: ``scope,1|0`` pairs joined by commas (1 = pre-ticked)."""
    parts = [p for p in raw.split(",") if p]
    return [(parts[i], parts[i + 1] == "1") for i in range(0, len(parts) - 1, 2)]


async def access_token(request: web.Request, world: World) -> web.Response:
    """``POST /oauth/access_token/``: a code (10 minutes, once) for the user's tokens."""
    state = request.app[STATE_KEY]
    form = await read_form(request)
    client_key, secret = str(form.get("client_key", "")), str(form.get("client_secret", ""))
    code = str(form.get("code", ""))
    if not client_key or not secret or not code or not form.get("grant_type"):
        raise DouyinError(OAUTH_MISSING_PARAMETER)
    if form.get("grant_type") != "authorization_code":
        raise DouyinError(OAUTH_PARAMETER_ERROR)
    pinned = world.apps.setdefault(client_key, {})
    if pinned.setdefault("client_secret", secret) != secret:
        raise DouyinError(OAUTH_CLIENT_SECRET_WRONG)
    now = state.clock.now()
    issued_code = world.codes.pop(code, None)
    if issued_code is None or issued_code[0] != client_key or issued_code[3] <= now:
        raise DouyinError(OAUTH_CODE_INVALID)
    _, open_id, scopes, _ = issued_code
    account = world.accounts.get(open_id)
    if account is None:
        account = world.accounts[open_id] = Account(open_id, fingerprint(PLATFORM, code))
    old = account.refresh_token
    if old:
        world.refresh_tokens.pop(old, None)
    for stale in [t for t, issued in world.tokens.items() if issued.open_id == open_id]:
        del world.tokens[stale]
    refresh = f"rft.{secrets.token_urlsafe(30)}"
    account.refresh_token, account.refresh_expires_at = refresh, now + world.settings.refresh_ttl_s
    account.renewals = 0
    world.refresh_tokens[refresh] = open_id
    world.granted[open_id] = scopes
    token, issued = fresh_token(world, open_id, now)
    return oauth_reply({
        "access_token": token, "expires_in": int(issued.expires_at - now), "open_id": open_id,
        "refresh_token": refresh, "refresh_expires_in": int(world.settings.refresh_ttl_s),
        "scope": ",".join(scopes), "log_id": secrets.token_hex(8), "captcha": "",
        "desc_url": ""})


async def userinfo(request: web.Request, world: World) -> web.Response:
    """``POST /oauth/userinfo/`` (form or JSON): who the token belongs to."""
    state = request.app[STATE_KEY]
    if media_type(request) == "application/json":
        body = await json_body(request)
    else:
        body = {k: str(v) for k, v in (await read_form(request)).items()}
    token, open_id = str(body.get("access_token", "")), str(body.get("open_id", ""))
    issued = world.tokens.get(token)
    if issued is None or issued.open_id != open_id or state.accounts.is_revoked(PLATFORM, open_id):
        raise DouyinError(ACCESS_TOKEN_INVALID)
    if state.clock.now() >= issued.expires_at:
        raise DouyinError(ACCESS_TOKEN_EXPIRED)
    chosen = consent.fixture(consent.DOUYIN_FIXTURES, open_id)
    return oauth_reply({"open_id": open_id, "union_id": "uid_" + open_id,
                        "nickname": chosen.name if chosen else f"抖音用户{open_id[-6:]}",
                        "avatar": "", "description": "", "e_account_role": "",
                        "client_key": ""})


def untick(world: World, open_id: str, scopes: list[str]) -> tuple[str, ...]:
    """The user unticked ``scopes`` in 授权管理: every token of theirs loses them."""
    kept = tuple(s for s in world.granted.get(open_id, world.settings.scopes) if s not in scopes)
    world.granted[open_id] = kept
    for issued in world.tokens.values():
        if issued.open_id == open_id:
            issued.scopes = kept
    return kept


# ---------------------------------------------------------------- uploads


def new_video_id() -> str:
    return "v0200f" + secrets.token_hex(13)


def new_item_id() -> str:
    """Opaque like the real ones: always with ``@``, ``+``, ``/`` and ``=``."""
    while True:
        raw = base64.b64encode(secrets.token_bytes(40)).decode()
        if "+" in raw and "/" in raw:
            return f"@{raw}=="


async def read_file_part(
    request: web.Request, limit: int, name: str = "video"
) -> tuple[int, bytes] | None:
    """Stream one multipart file field: (size, sha256 digest), or None when too large."""
    if not media_type(request).startswith("multipart/"):
        raise DouyinError(PARAMETER_ERROR, "multipart/form-data required")
    try:
        return await stream_file_part(request, name, limit)
    except PartMissing:
        raise DouyinError(PARAMETER_ERROR, f"{name} file part missing") from None
    except ValueError:
        raise DouyinError(PARAMETER_ERROR, "malformed multipart body") from None


def too_large() -> web.Response:
    return web.Response(
        status=413,
        text="<html><body>413 Request Entity Too Large</body></html>",
        content_type="text/html",
    )


def video_answer(
    state: SandboxState, world: World, open_id: str, size: int, sha256: str, parts: int = 1
) -> web.Response:
    video_id = new_video_id()
    world.videos[video_id] = Video(open_id, size, sha256, parts)
    # The sandbox does not decode the video; it reports the recommended vertical 720p frame.
    return content_reply(state, {"video": {"video_id": video_id, "width": 720, "height": 1280}})


async def upload_video(request: web.Request, world: World) -> web.Response:
    state = request.app[STATE_KEY]
    account, _ = authenticate(state, world, request)
    limit = world.settings.single_upload_max_bytes
    if (request.content_length or 0) > limit + 64 * 1024:
        return too_large()
    read = await read_file_part(request, limit)
    if read is None:
        return too_large()
    size, digest = read
    return video_answer(state, world, account.open_id, size, digest.hex())


async def upload_image(request: web.Request, world: World) -> web.Response:
    state = request.app[STATE_KEY]
    account, _ = authenticate(state, world, request)
    read = await read_file_part(request, IMAGE_MAX_BYTES, "image")
    if read is None:
        return too_large()
    image_id = "image-" + secrets.token_hex(12)
    world.images[image_id] = account.open_id
    return content_reply(state, {"image": {"image_id": image_id, "width": 720, "height": 1280}})


async def init_part_upload(request: web.Request, world: World) -> web.Response:
    state = request.app[STATE_KEY]
    account, _ = authenticate(state, world, request)
    upload_id = secrets.token_urlsafe(24)
    world.uploads[upload_id] = PartUpload(
        account.open_id, state.clock.now() + world.settings.upload_id_ttl_s
    )
    return content_reply(state, {"upload_id": upload_id})


def open_upload(
    state: SandboxState, world: World, request: web.Request, open_id: str
) -> PartUpload:
    upload = world.uploads.get(request.query.get("upload_id", ""))
    if upload is None or upload.open_id != open_id:
        raise DouyinError(PARAMETER_ERROR, "unknown upload_id")
    if state.clock.now() >= upload.expires_at:
        del world.uploads[request.query["upload_id"]]
        raise DouyinError(PARAMETER_ERROR, "upload_id expired")
    return upload


async def upload_part(request: web.Request, world: World) -> web.Response:
    state = request.app[STATE_KEY]
    account, _ = authenticate(state, world, request)
    upload = open_upload(state, world, request, account.open_id)
    raw_number = request.query.get("part_number", "")
    if not raw_number.isdigit() or int(raw_number) < 1:
        raise DouyinError(PARAMETER_ERROR, "part_number must start at 1")
    read = await read_file_part(request, world.settings.single_upload_max_bytes)
    if read is None:
        return too_large()
    upload.parts[int(raw_number)] = read
    return content_reply(state)


async def complete_part_upload(request: web.Request, world: World) -> web.Response:
    state = request.app[STATE_KEY]
    account, _ = authenticate(state, world, request)
    upload = open_upload(state, world, request, account.open_id)
    numbers = sorted(upload.parts)
    if not numbers or numbers != list(range(1, len(numbers) + 1)):
        raise DouyinError(PARAMETER_ERROR, "parts missing")
    sizes = [upload.parts[n][0] for n in numbers]
    if any(size < world.settings.min_chunk_bytes for size in sizes[:-1]):
        raise DouyinError(PARAMETER_ERROR, "chunk smaller than the minimum")
    if sum(sizes) > world.settings.max_total_bytes:
        raise DouyinError(PARAMETER_ERROR, "video larger than 4 GB")
    del world.uploads[request.query["upload_id"]]
    digest = hashlib.sha256(b"".join(upload.parts[n][1] for n in numbers)).hexdigest()
    return video_answer(state, world, account.open_id, sum(sizes), digest, len(sizes))


# ---------------------------------------------------------------- posts


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise DouyinError(PARAMETER_ERROR, "body is not JSON") from None
    if not isinstance(body, dict):
        raise DouyinError(PARAMETER_ERROR, "body must be an object")
    return body


async def create_video(request: web.Request, world: World) -> web.Response:
    state = request.app[STATE_KEY]
    account, token = authenticate(state, world, request)
    settings = world.settings
    if SCOPE_CREATE not in token.scopes:
        raise DouyinError(NO_PERMISSION, f"scope {SCOPE_CREATE} not granted")
    body = await json_body(request)
    video_id, text = body.get("video_id"), body.get("text", "")
    video = world.videos.get(video_id) if isinstance(video_id, str) else None
    if video is None or video.open_id != account.open_id:
        raise DouyinError(PARAMETER_ERROR, "video_id unknown or already used")
    if not isinstance(text, str):
        raise DouyinError(PARAMETER_ERROR, "text must be a string")
    text = shared(text)
    cover = body.get("custom_cover_image_url")
    if cover is not None and world.images.get(cover) != account.open_id:
        raise DouyinError(PARAMETER_ERROR, "custom_cover_image_url is not an uploaded image")
    if body.get("micro_app_id") and body.get("poi_id"):
        raise DouyinError(PARAMETER_ERROR, "only one anchor type per video")
    now = state.clock.now()
    day = int((now + BEIJING_OFFSET_S) // 86400)
    if account.creates_by_day.get(day, 0) >= settings.daily_create_quota:
        raise DouyinError(QUOTA_USED_UP)
    account.creates_by_day = {day: account.creates_by_day.get(day, 0) + 1}
    del world.videos[video_id]
    rejected = any(word in text for word in settings.reject_words)
    cover_tsp = body.get("cover_tsp")
    item = Item(
        new_item_id(),
        account.open_id,
        text,
        now,
        now + settings.review_delay_s,
        2 if rejected else 1,
        cover_tsp if isinstance(cover_tsp, int | float) else None,
    )
    world.items[item.item_id] = item
    account.item_ids.append(item.item_id)
    state.ledger.create(
        PLATFORM,
        account.open_id,
        remote_id=item.item_id,
        title=text,
        text=text,
        extra={
            "video_sha256": video.sha256,
            "video_bytes": video.size,
            "video_parts": video.parts,
            "cover_tsp": item.cover_tsp,
            "cover_image": cover,
        },
    )
    return content_reply(state, {"item_id": item.item_id})


async def video_list(request: web.Request, world: World) -> web.Response:
    state = request.app[STATE_KEY]
    account, _ = authenticate(state, world, request)
    cursor_raw, count_raw = request.query.get("cursor", "0"), request.query.get("count", "10")
    if not cursor_raw.isdigit() or not count_raw.isdigit():
        raise DouyinError(PARAMETER_ERROR, "cursor and count must be numbers")
    cursor, count = int(cursor_raw), min(int(count_raw), world.settings.list_page_max)
    if count < 1:
        raise DouyinError(PARAMETER_ERROR, "count must be positive")
    live = [
        item_id for item_id in reversed(account.item_ids) if not world.items[item_id].deleted
    ]  # newest first
    page = live[cursor : cursor + count]
    now = state.clock.now()
    return content_reply(
        state,
        {
            "list": [douyin_data.item_json(state, world.items[item_id], now) for item_id in page],
            "cursor": cursor + len(page),
            "has_more": cursor + len(page) < len(live),
        },
    )


async def comment_list(request: web.Request, world: World) -> web.Response:
    """``/item/comment/list/`` (sandbox/comments.py): the item's comments, paged by cursor."""
    state = request.app[STATE_KEY]
    account, token = authenticate(state, world, request)
    if SCOPE_COMMENT not in token.scopes:
        raise DouyinError(NO_PERMISSION, f"scope {SCOPE_COMMENT} not granted")
    query = request.query
    cursor_raw, count_raw = query.get("cursor", "0"), query.get("count", "10")
    if not cursor_raw.isdigit() or not count_raw.isdigit():
        raise DouyinError(PARAMETER_ERROR, "cursor and count must be numbers")
    count = int(count_raw)
    if not 1 <= count <= world.settings.comment_page_max:
        raise DouyinError(PARAMETER_ERROR, "count must be 1-50")
    raw_item = request.raw_path.partition("?")[2]
    if "+" in raw_query_value(raw_item, "item_id"):
        raise DouyinError(PARAMETER_ERROR, "item_id must be URL-encoded")
    item = world.items.get(query.get("item_id", ""))
    if item is None or item.deleted or item.open_id != account.open_id:
        raise DouyinError(PARAMETER_ERROR, "item_id not found")
    post = state.ledger.get(PLATFORM, item.item_id)
    if post is None:
        raise DouyinError(PARAMETER_ERROR, "item_id not found")
    ascending = query.get("sort_type") == "time_asc"
    return content_reply(state, douyin_list(state, post, int(cursor_raw), count, ascending))


async def comment_reply(request: web.Request, world: World) -> web.Response:
    """``POST /item/comment/reply/`` (sandbox/replies.py): the account answers a comment."""
    from sandbox.replies import douyin_reply

    state = request.app[STATE_KEY]
    account, token = authenticate(state, world, request)
    if SCOPE_COMMENT not in token.scopes:
        raise DouyinError(NO_PERMISSION, f"scope {SCOPE_COMMENT} not granted")
    try:
        body = await request.json()
    except ValueError:
        raise DouyinError(PARAMETER_ERROR, "body must be JSON") from None
    if not isinstance(body, dict):
        raise DouyinError(PARAMETER_ERROR, "body must be a JSON object")
    item = world.items.get(str(body.get("item_id") or ""))
    if item is None or item.deleted or item.open_id != account.open_id:
        raise DouyinError(PARAMETER_ERROR, "item_id not found")
    post = state.ledger.get(PLATFORM, item.item_id)
    if post is None:
        raise DouyinError(PARAMETER_ERROR, "item_id not found")
    return content_reply(state, douyin_reply(state, post, body, account.open_id, DouyinError))


def raw_query_value(raw_query: str, name: str) -> str:
    """The raw (still encoded) value of ``name`` in a query string."""
    for pair in raw_query.split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return value
    return ""


async def video_data(request: web.Request, world: World) -> web.Response:
    state = request.app[STATE_KEY]
    account, _ = authenticate(state, world, request)
    item_ids = (await json_body(request)).get("item_ids")
    if not isinstance(item_ids, list) or not item_ids or len(item_ids) > 20:
        raise DouyinError(PARAMETER_ERROR, "item_ids must list 1-20 ids")
    now = state.clock.now()
    found = [world.items.get(item_id) for item_id in item_ids if isinstance(item_id, str)]
    return content_reply(
        state,
        {
            "list": [
                douyin_data.item_json(state, item, now)
                for item in found
                if item is not None and not item.deleted and item.open_id == account.open_id
            ]
        },
    )


async def delete_video(request: web.Request, world: World) -> web.Response:
    state = request.app[STATE_KEY]
    account, token = authenticate(state, world, request)
    if not world.settings.delete_enabled or SCOPE_DELETE not in token.scopes:
        raise DouyinError(NO_PERMISSION, f"scope {SCOPE_DELETE} not granted")
    item_id = (await json_body(request)).get("item_id")
    item = world.items.get(item_id) if isinstance(item_id, str) else None
    if item is None or item.deleted or item.open_id != account.open_id:
        raise DouyinError(PARAMETER_ERROR, "item_id not found")  # Douyin's real code is not documented
    item.deleted = True
    state.ledger.delete(PLATFORM, item.item_id)
    return content_reply(state)


# ---------------------------------------------------------------- app


STATE_KEY = web.AppKey("douyin_state", SandboxState)


def build_app(state: SandboxState) -> web.Application:
    app = web.Application()
    app[STATE_KEY] = state
    state.outside_posters[PLATFORM] = douyin_data.outside_poster(state)
    v1 = "/api/douyin/v1/video"

    async def get_settings(request: web.Request) -> web.Response:
        return _body(settings_json(world_for(state).settings))

    async def untick_route(request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"{}")
        open_id, scopes = body.get("open_id"), body.get("scopes")
        if not isinstance(open_id, str) or not isinstance(scopes, list):
            raise web.HTTPBadRequest(text="open_id and scopes are required")
        return _body({"scopes": list(untick(world_for(state), open_id, scopes))})

    async def set_settings(request: web.Request) -> web.Response:
        settings = world_for(state).settings
        try:
            settings.update(json.loads(await request.read() or b"{}"))
        except (ValueError, TypeError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return _body(settings_json(settings))

    app.add_routes(
        [
            web.get("/platform/oauth/connect/", connect),
            web.post("/platform/oauth/connect/", connect),
            web.post("/oauth/access_token/", oauth_form(state, access_token)),
            web.post("/oauth/userinfo/", business(state, userinfo, oauth=True)),
            web.post("/_sandbox/oauth/untick", untick_route),
            web.post("/oauth/refresh_token/", oauth_form(state, refresh_access_token)),
            web.post("/oauth/renew_refresh_token/", oauth_form(state, renew_refresh_token)),
            web.post(f"{v1}/upload_video/", business(state, upload_video)),
            web.post(f"{v1}/upload_image/", business(state, upload_image)),
            web.post(f"{v1}/init_video_part_upload/", business(state, init_part_upload)),
            web.post(f"{v1}/upload_video_part/", business(state, upload_part)),
            web.post(f"{v1}/complete_video_part_upload/", business(state, complete_part_upload)),
            web.post(f"{v1}/create_video/", business(state, create_video)),
            web.get(f"{v1}/video_list/", business(state, video_list)),
            web.post(f"{v1}/video_data/", business(state, video_data)),
            web.get("/item/comment/list/", business(state, comment_list)),
            web.post("/item/comment/reply/", business(state, comment_reply)),
            web.post("/video/delete/", business(state, delete_video)),
            web.get("/data/external/user/fans/", business(state, douyin_data.fans)),
            web.get("/data/external/item/base/", business(state, douyin_data.item_base)),
            web.get("/_sandbox/settings", get_settings),
            web.post("/_sandbox/settings", set_settings),
        ]
    )
    return app


def settings_json(settings: DouyinSettings) -> dict[str, Any]:
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in asdict(settings).items()
    }
