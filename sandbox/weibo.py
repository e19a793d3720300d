"""Emulated Sina Weibo Open API (docs/platforms/weibo.md), mounted at ``/weibo``.

Routes: ``POST /2/statuses/share.json``, ``POST /2/statuses/destroy.json``,
``GET /2/statuses/show.json``, ``GET /2/statuses/user_timeline.json``, ``GET /2/users/show.json``
(with ``followers_count``), ``GET /2/statuses/count.json`` (reach figures, sandbox/reach.py),
``GET /2/account/get_uid.json``
and OAuth: ``GET/POST /oauth2/authorize`` (a consent page of fixture accounts, sandbox/consent.py;
``uid`` in the query approves at once), ``POST /oauth2/access_token`` (string numbers, a code
once, ``21325`` after), ``POST /oauth2/get_token_info`` (``expire_in`` counting down, negative
once expired) and ``/oauth2/revokeoauth2``. An app (``client_id``) is pinned to the redirect_uri
and the secret it first uses: later mismatches answer ``21322`` / ``21324``.

Choices where Weibo's documentation leaves one (all in :class:`WeiboSandboxSettings`):

- Identity: the account is the user (uid) behind the access token. A token issued by
  ``oauth2/access_token`` maps to the uid chosen at ``oauth2/authorize`` (``uid`` query parameter,
  a sandbox extension). Any other token is accepted on first use and maps to a uid derived from
  it (:func:`uid_for_token`), so seeded accounts need no OAuth dance; it expires
  ``first_use_token_ttl_s`` after its first use, on the sandbox clock. Revoking the account
  (``/_sandbox/accounts/weibo/<uid>/revoke``) turns every token of that uid into ``21332``.
- Token errors answer HTTP 401; rate limits (and the ``rate_limit`` fault) HTTP 403 with
  ``10022`` (per app, i.e. per IP on loopback), ``10023`` (per user, all calls) or ``10024``
  (per user, posts); windows are clock hours. No ``Retry-After`` header: Weibo sends none.
- ``status`` is URL-decoded after the form decoding (the wiki's "must be URLencoded"). Length:
  ASCII ½, other characters 1, rounded up, at most 140 (``20012``). ``#话题#`` → ``10008``.
  At least one link must point into a safe domain (``10017 appkey not bind domain!``); the
  defaults are 127.0.0.1, localhost and the host of ``YUNCHU_PUBLIC_URL``.
- A multipart body that does not parse (no boundary, truncated, a part without a name) answers
  400 ``10008`` on every POST route; what Weibo itself answers is not documented.
- Repeat content (``20019``): the same text as the user's previous post (``repeat_window_s``
  None), or as any of the user's posts within that many seconds.
- Faults, rolled once per business call after authentication: ``busy`` → 503 ``10009``,
  ``rate_limit`` → 403 ``10023``, ``http_5xx`` → a gateway's HTML 502, ``timeout`` → the kit's
  stall; on share.json the timeout stalls *after* the post went live (the case lookup is for).
- ``show.json`` of a deleted or unknown id → 400 ``20101``; any user may show any live post.

Module state lives in the ledger where it can (posts, timelines); the rest (first-use tokens,
OAuth codes, rate counters, last posts, settings) is dropped whenever the kit's reset swaps the
ledger. :func:`emulator_for` hands tests the live emulator to adjust its settings.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from aiohttp import web
from multidict import MultiDict

from sandbox import consent
from sandbox.comments import weibo_show
from sandbox.core import Ledger, LedgerPost, SandboxState, shared, timeout_fault
from sandbox.forms import FilePart, read_form
from sandbox.reach import ReachModel, china_day
from sandbox.replies import weibo_reply

PLATFORM = "weibo"
SHARE = "/2/statuses/share.json"
DESTROY = "/2/statuses/destroy.json"
SHOW = "/2/statuses/show.json"
TIMELINE = "/2/statuses/user_timeline.json"
COMMENTS_SHOW = "/2/comments/show.json"
COMMENTS_REPLY = "/2/comments/reply.json"
ACCESS_TOKEN = "/oauth2/access_token"
AUTHORIZE = "/oauth2/authorize"
GET_TOKEN_INFO = "/oauth2/get_token_info"
REVOKE = "/oauth2/revokeoauth2"
USERS_SHOW = "/2/users/show.json"
COUNT = "/2/statuses/count.json"
GET_UID = "/2/account/get_uid.json"
COUNT_MAX_IDS = 100
DAY_S = 86_400
HOUR_S = 3_600
MAX_BODY_BYTES = 12 * 1024 * 1024
IMAGE_MAGIC = {b"\xff\xd8\xff": "jpg", b"\x89PNG": "png", b"GIF8": "gif"}
CHINA_TZ = timezone(timedelta(hours=8))
# Real ids are 16-digit int64s above 2**53: JSON clients that read them as floats get them wrong.
FIRST_STATUS_ID = 9_100_000_000_000_000

Form = MultiDict[str | FilePart]

_URL_RE = re.compile(r"https?://[^\s<>\"'，。、）)】]+")
_TOPIC_RE = re.compile(r"[#＃][^#＃\n]+[#＃]")

GATEWAY_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass
class WeiboSandboxSettings:
    token_ttl_s: float = 30 * DAY_S
    code_ttl_s: float = 600  # Weibo does not document it
    # The app owner's own account gets a five-year token whatever the app's level.
    owner_uids: tuple[str, ...] = ()
    owner_token_ttl_s: float = 5 * 365 * DAY_S
    first_use_token_ttl_s: float = 30 * DAY_S
    token_error_status: int = 401
    rate_limit_status: int = 403
    posts_per_user_hour: int = 30
    requests_per_user_hour: int = 150
    requests_per_app_hour: int = 30_000
    repeat_window_s: float | None = None
    max_pic_bytes: int = 5 * 1024 * 1024
    safe_domains: tuple[str, ...] = ("127.0.0.1", "localhost")


@dataclass(frozen=True, slots=True)
class OAuthCode:
    uid: str
    client_id: str
    redirect_uri: str
    scope: str | None
    expires_at: float


@dataclass(frozen=True, slots=True)
class Grant:
    uid: str
    client_id: str
    scope: str | None
    created_at: float
    expires_at: float


class WeiboError(Exception):
    """An answer in Weibo's error envelope."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(slots=True)
class HourCounter:
    hour: int = -1
    count: int = 0

    def take(self, hour: int, limit: int) -> bool:
        """Count one call in ``hour``; False (and nothing counted) when over ``limit``."""
        if hour != self.hour:
            self.hour, self.count = hour, 0
        if self.count >= limit:
            return False
        self.count += 1
        return True


@dataclass(slots=True)
class UserMemory:
    calls: HourCounter = field(default_factory=HourCounter)
    posts: HourCounter = field(default_factory=HourCounter)
    # (time, text) of recent posts, newest last; only the last one unless repeat_window_s is set.
    recent: list[tuple[float, str]] = field(default_factory=list)


class WeiboEmulator:
    def __init__(self, state: SandboxState, settings: WeiboSandboxSettings) -> None:
        self.state = state
        self.initial_settings = settings
        self.settings = replace(settings)
        self.reach = ReachModel(state)
        self._forget()

    def _forget(self) -> None:
        self._ledger: Ledger = self.state.ledger
        self.settings = replace(self.initial_settings)
        self.first_use: dict[str, tuple[str, float]] = {}  # token -> (uid, expires_at)
        self.codes: dict[str, OAuthCode] = {}
        self.apps: dict[str, dict[str, str]] = {}  # client_id -> pinned redirect_uri, secret
        self.grants: dict[str, Grant] = {}  # access token -> what get_token_info tells
        self.revoked_tokens: set[str] = set()
        self.users: dict[str, UserMemory] = {}
        self.app_calls = HourCounter()
        self.next_id = FIRST_STATUS_ID + secrets.randbelow(10**11) * 1000

    def fresh(self) -> WeiboEmulator:
        """Drop module memory when the kit's reset swapped the ledger."""
        if self.state.ledger is not self._ledger:
            self._forget()
        return self

    # ------------------------------------------------------------ business calls

    async def share(self, request: web.Request) -> web.StreamResponse:
        try:
            form = await read_form(request)
        except web.HTTPRequestEntityTooLarge:
            return envelope(SHARE, WeiboError(413, 10018, "Request body length over limit"))
        except ValueError:
            return envelope(SHARE, malformed_body())
        try:
            uid = self.authenticate(request, form)
            fault = self.state.roll_fault(PLATFORM)
            if fault is not None and fault != "timeout":
                return self.fault_response(fault, SHARE)
            self.limit(uid, posting=True)
            text, rip = self.validate_share(form)
            self.check_repeat(uid, text)
        except WeiboError as error:
            return envelope(SHARE, error)
        status = self.create(uid, text, rip, form.get("pic"))
        if fault == "timeout":
            return await timeout_fault(self.state, PLATFORM)
        return json_response(status)

    async def destroy(self, request: web.Request) -> web.StreamResponse:
        try:
            form = await read_form(request)
        except ValueError:
            return envelope(DESTROY, malformed_body())
        try:
            uid = self.authenticate(request, form)
            if (answer := await self.roll(DESTROY)) is not None:
                return answer
            self.limit(uid)
            post = self.own_live_post(uid, str(form.get("id") or ""))
        except WeiboError as error:
            return envelope(DESTROY, error)
        self.state.ledger.delete(PLATFORM, post.remote_id)
        return json_response(status_of(post))

    async def show(self, request: web.Request) -> web.StreamResponse:
        try:
            uid = self.authenticate(request, None)
            if (answer := await self.roll(SHOW)) is not None:
                return answer
            self.limit(uid)
            post = self.live_post(request.query.get("id", ""))
        except WeiboError as error:
            return envelope(SHOW, error)
        return json_response(status_of(post))

    async def comments_show(self, request: web.Request) -> web.StreamResponse:
        """Comments under a post (sandbox/comments.py), newest first."""
        query = request.query
        try:
            uid = self.authenticate(request, None)
            if (answer := await self.roll(COMMENTS_SHOW)) is not None:
                return answer
            self.limit(uid)
            post = self.live_post(query.get("id", ""))
            since_id = bounded_int(query.get("since_id"), default=0, low=0, high=2**63 - 1)
            max_id = bounded_int(query.get("max_id"), default=0, low=0, high=2**63 - 1)
            count = bounded_int(query.get("count"), default=50, low=1, high=200)
            page = bounded_int(query.get("page"), default=1, low=1, high=10_000)
        except WeiboError as error:
            return envelope(COMMENTS_SHOW, error)
        return json_response(weibo_show(self.state, post, since_id, max_id, count, page))

    async def comments_reply(self, request: web.Request) -> web.StreamResponse:
        """Reply to a comment under a live post (sandbox/replies.py)."""
        try:
            form = await read_form(request)
        except ValueError:
            return envelope(COMMENTS_REPLY, malformed_body())
        try:
            uid = self.authenticate(request, form)
            if (answer := await self.roll(COMMENTS_REPLY)) is not None:
                return answer
            self.limit(uid)
            if not form.get("rip"):
                raise WeiboError(400, 10016, "Miss required parameter (rip)")
            post = self.live_post(str(form.get("id") or ""))
            comment = weibo_reply(self.state, uid, post, form, WeiboError)
        except WeiboError as error:
            return envelope(COMMENTS_REPLY, error)
        return json_response(comment)

    async def user_timeline(self, request: web.Request) -> web.StreamResponse:
        try:
            uid = self.authenticate(request, None)
            if (answer := await self.roll(TIMELINE)) is not None:
                return answer
            self.limit(uid)
            count = bounded_int(request.query.get("count"), default=20, low=1, high=100)
            page = bounded_int(request.query.get("page"), default=1, low=1, high=10_000)
        except WeiboError as error:
            return envelope(TIMELINE, error)
        posts = self.state.ledger.list(PLATFORM, uid, "live")
        newest_first = posts[::-1][(page - 1) * count : page * count]
        return json_response(
            {
                "statuses": [{**status_of(post), **self.counts_of(post)}
                             for post in newest_first],
                "total_number": len(posts),
                "previous_cursor": 0,
                "next_cursor": 0,
            }
        )

    # ------------------------------------------------------------ OAuth

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        """The consent page (GET), its answer (POST); ``uid`` in the query approves at once
        (a sandbox shortcut for headless tests)."""
        params: dict[str, str] = {k: str(v) for k, v in request.query.items()}
        if request.method == "POST":
            form = await read_form(request)
            params.update({k: str(v) for k, v in form.items() if k != "scope"})
        redirect_uri, client_id = params.get("redirect_uri"), params.get("client_id")
        if not redirect_uri or not client_id:
            return envelope(AUTHORIZE, WeiboError(400, 10016, "Miss required parameter"))
        pinned = self.apps.setdefault(client_id, {"redirect_uri": redirect_uri})
        if pinned["redirect_uri"] != redirect_uri:
            return consent.error_page("redirect_uri_mismatch (21322)")
        state = params.get("state")
        uid = params.get("uid")
        if uid is None and request.method == "GET":
            return consent.page(
                title="微博授权" + ("（请先登录）" if params.get("forcelogin") == "true" else ""),
                app=client_id, fixtures=consent.WEIBO_FIXTURES,
                hidden={k: v for k, v in params.items() if k != "uid"})
        if params.get("decision", "approve") != "approve":
            denied = {"error": "access_denied", "error_code": "21330",
                      "error_description": "user denied the request"}
            raise web.HTTPFound(consent.with_query(
                redirect_uri, {**denied, **({"state": state} if state else {})}))
        uid = uid or params.get("account") or ""
        chosen = consent.fixture(consent.WEIBO_FIXTURES, uid)
        if chosen is not None and chosen.banned:
            return consent.error_page("该账号已被封禁，无法授权 (this account is banned)", 403)
        if not uid:
            uid = uid_for_token(client_id)
        self.state.accounts.restore(PLATFORM, uid)
        code = secrets.token_hex(16)
        self.codes[code] = OAuthCode(uid, client_id, redirect_uri, params.get("scope") or None,
                                     self.state.clock.now() + self.settings.code_ttl_s)
        answer = {"code": code, **({"state": state} if state else {})}
        raise web.HTTPFound(consent.with_query(redirect_uri, answer))

    async def access_token(self, request: web.Request) -> web.StreamResponse:
        try:
            form = await read_form(request)
        except ValueError:
            return envelope(ACCESS_TOKEN, malformed_body())
        missing = [
            name
            for name in ("client_id", "client_secret", "grant_type", "code", "redirect_uri")
            if not form.get(name)
        ]
        if missing:
            error = WeiboError(400, 10016, f"Miss required parameter ({missing[0]})")
            return envelope(ACCESS_TOKEN, error)
        client_id, secret = str(form["client_id"]), str(form["client_secret"])
        pinned = self.apps.setdefault(client_id, {"redirect_uri": str(form["redirect_uri"])})
        if pinned.setdefault("client_secret", secret) != secret:
            return envelope(ACCESS_TOKEN, WeiboError(400, 21324, "invalid_client"))
        code = self.codes.pop(str(form["code"]), None)
        if (form["grant_type"] != "authorization_code" or code is None
                or code.client_id != client_id or code.expires_at <= self.state.clock.now()):
            return envelope(ACCESS_TOKEN, WeiboError(400, 21325, "invalid_grant"))
        if code.redirect_uri != form["redirect_uri"]:
            return envelope(ACCESS_TOKEN, WeiboError(400, 21322, "redirect_uri_mismatch"))
        ttl = (self.settings.owner_token_ttl_s if code.uid in self.settings.owner_uids
               else self.settings.token_ttl_s)
        token = self.state.tokens.issue(PLATFORM, code.uid, ttl)
        now = self.state.clock.now()
        self.grants[token] = Grant(code.uid, client_id, code.scope, now, now + ttl)
        lifetime = str(int(ttl))
        return json_response(
            {"access_token": token, "expires_in": lifetime, "remind_in": lifetime, "uid": code.uid}
        )

    async def get_token_info(self, request: web.Request) -> web.StreamResponse:
        """``expire_in`` counts down on the sandbox clock and goes negative once expired."""
        form = await read_form(request)
        token = str(form.get("access_token") or request.query.get("access_token") or "")
        grant = self.grants.get(token)
        uid, status = self.state.tokens.resolve(PLATFORM, token)
        if grant is None or status in ("unknown", "revoked") or token in self.revoked_tokens:
            return envelope(GET_TOKEN_INFO, WeiboError(400, 21332, "invalid_access_token"))
        return json_response({"uid": int(grant.uid) if grant.uid.isdigit() else grant.uid,
                              "appkey": grant.client_id, "scope": grant.scope,
                              "create_at": int(grant.created_at),
                              "expire_in": int(grant.expires_at - self.state.clock.now())})

    async def revokeoauth2(self, request: web.Request) -> web.StreamResponse:
        form = await read_form(request) if request.method == "POST" else {}
        token = str(form.get("access_token") or request.query.get("access_token") or "")
        try:
            self.resolve(token)
        except WeiboError as error:
            return envelope(REVOKE, error)
        self.revoked_tokens.add(token)
        return json_response({"result": "true"})

    async def users_show(self, request: web.Request) -> web.StreamResponse:
        try:
            self.authenticate(request, None)
        except WeiboError as error:
            return envelope(USERS_SHOW, error)
        uid = request.query.get("uid", "")
        chosen = consent.fixture(consent.WEIBO_FIXTURES, uid)
        name = chosen.name if chosen else f"用户{uid}"
        today = china_day(self.state.clock.now())
        return json_response({"id": int(uid) if uid.isdigit() else uid, "idstr": uid,
                              "screen_name": name, "name": name,
                              "followers_count": self.reach.followers(PLATFORM, uid, today),
                              "statuses_count": len(self.state.ledger.list(PLATFORM, uid,
                                                                           "live"))})

    # ------------------------------------------------------------ reach

    async def count(self, request: web.Request) -> web.StreamResponse:
        """``statuses/count``: comments, reposts and attitudes of up to 100 posts; unknown or
        deleted ids are left out of the answer without an error."""
        try:
            uid = self.authenticate(request, None)
            if (answer := await self.roll(COUNT)) is not None:
                return answer
            self.limit(uid)
            ids = [i for i in request.query.get("ids", "").split(",") if i.strip()]
            if not ids:
                raise WeiboError(400, 10016, "Miss required parameter (ids)")
            if len(ids) > COUNT_MAX_IDS:
                raise WeiboError(400, 10017, "Parameter (ids)'s value invalid")
        except WeiboError as error:
            return envelope(COUNT, error)
        found = []
        for status_id in ids:
            post = self.state.ledger.get(PLATFORM, status_id.strip())
            if post is None or not post.live:
                continue
            counts = self.counts_of(post)
            found.append({"id": int(post.remote_id), "comments": counts["comments_count"],
                          "reposts": counts["reposts_count"],
                          "attitudes": counts["attitudes_count"]})
        return json_response(found)

    async def get_uid(self, request: web.Request) -> web.StreamResponse:
        """``account/get_uid``: the uid behind the token."""
        try:
            uid = self.authenticate(request, None)
        except WeiboError as error:
            return envelope(GET_UID, error)
        return json_response({"uid": int(uid) if uid.isdigit() else uid})

    def counts_of(self, post: LedgerPost) -> dict[str, int]:
        total = self.reach.total(post)
        return {"reposts_count": total.shares, "comments_count": total.comments,
                "attitudes_count": total.likes}

    def post_outside(self, uid: str, title: str) -> LedgerPost:
        """A post the account made on weibo.com itself, not through yunchu."""
        made = self.create(uid, title, "127.0.0.1", None)
        post = self.state.ledger.get(PLATFORM, str(made["id"]))
        assert post is not None
        return post

    # ------------------------------------------------------------ checks

    def authenticate(self, request: web.Request, form: Form | None) -> str:
        token = (form.get("access_token") if form is not None else None) or request.query.get(
            "access_token"
        )
        if not token:
            header = request.headers.get("Authorization", "")
            scheme, _, value = header.partition(" ")
            token = value.strip() if scheme in ("OAuth2", "Bearer") else ""
        if not token:
            raise WeiboError(400, 10006, "source paramter(appkey) is missing")
        return self.resolve(str(token))

    def resolve(self, token: str) -> str:
        """The uid behind ``token``; token errors as Weibo words them."""
        uid, status = self.state.tokens.resolve(PLATFORM, token)
        if uid is None:
            now = self.state.clock.now()
            uid, expires_at = self.first_use.setdefault(
                token, (uid_for_token(token), now + self.settings.first_use_token_ttl_s)
            )
            if self.state.accounts.is_revoked(PLATFORM, uid):
                status = "revoked"
            else:
                status = "ok" if now < expires_at else "expired"
        if token in self.revoked_tokens:
            status = "revoked"
        if status == "expired":
            raise WeiboError(self.settings.token_error_status, 21327, "expired_token")
        if status != "ok":
            raise WeiboError(self.settings.token_error_status, 21332, "invalid_access_token")
        return uid

    async def roll(self, path: str) -> web.StreamResponse | None:
        fault = self.state.roll_fault(PLATFORM)
        if fault is None:
            return None
        if fault == "timeout":
            return await timeout_fault(self.state, PLATFORM)
        return self.fault_response(fault, path)

    def fault_response(self, fault: str, path: str) -> web.Response:
        if fault == "busy":
            error = WeiboError(503, 10009, "Too many pending tasks, system is busy")
            return envelope(path, error)
        if fault == "rate_limit":
            error = WeiboError(
                self.settings.rate_limit_status, 10023, "User requests out of rate limit"
            )
            return self.state.rate_limited(envelope(path, error))
        return web.Response(status=502, text=GATEWAY_502, content_type="text/html")

    def limit(self, uid: str, *, posting: bool = False) -> None:
        settings = self.settings
        hour = int(self.state.clock.now() // HOUR_S)
        status = settings.rate_limit_status
        if not self.app_calls.take(hour, settings.requests_per_app_hour):
            raise WeiboError(status, 10022, "IP requests out of rate limit")
        memory = self.user(uid)
        if not memory.calls.take(hour, settings.requests_per_user_hour):
            raise WeiboError(status, 10023, "User requests out of rate limit")
        if posting and not memory.posts.take(hour, settings.posts_per_user_hour):
            message = "User requests for (/statuses/share) out of rate limit"
            raise WeiboError(status, 10024, message)

    def validate_share(self, form: Form) -> tuple[str, str]:
        raw = form.get("status")
        if raw is None:
            raise WeiboError(400, 10016, "Miss required parameter (status)")
        text = unquote(str(raw)).strip()
        if not text:
            raise WeiboError(400, 20008, "Content is null")
        rip = str(form.get("rip") or "")
        if not rip:
            raise WeiboError(400, 10016, "Miss required parameter (rip)")
        if weibo_length(text) > 140:
            raise WeiboError(
                400, 20012, "Text too long, please input text less than 140 characters"
            )
        if _TOPIC_RE.search(text):
            raise WeiboError(400, 10008, "Param error, see doc for more info")
        if not any(self.safe(url) for url in _URL_RE.findall(text)):
            raise WeiboError(400, 10017, "appkey not bind domain!")
        pic = form.get("pic")
        if pic is not None:
            self.check_pic(pic)
        return text, rip

    def safe(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.settings.safe_domains)

    def check_pic(self, pic: str | FilePart) -> None:
        if not isinstance(pic, FilePart):
            raise WeiboError(400, 20007, "Does multipart has image")
        if not any(pic.data.startswith(magic) for magic in IMAGE_MAGIC):
            raise WeiboError(400, 20005, "Unsupported image type, only suport JPG, GIF, PNG")
        if len(pic.data) >= self.settings.max_pic_bytes:
            raise WeiboError(400, 20006, "Image size too large")

    def check_repeat(self, uid: str, text: str) -> None:
        recent = self.user(uid).recent
        window = self.settings.repeat_window_s
        if window is None:
            repeated = bool(recent) and recent[-1][1] == text
        else:
            since = self.state.clock.now() - window
            repeated = any(at >= since and old == text for at, old in recent)
        if repeated:
            raise WeiboError(400, 20019, "repeat content!")

    def own_live_post(self, uid: str, remote_id: str) -> LedgerPost:
        if not remote_id:
            raise WeiboError(400, 20109, "Weibo id is null")
        post = self.live_post(remote_id)
        if post.account != uid:
            raise WeiboError(403, 20102, "not your own weibo!")
        return post

    def live_post(self, remote_id: str) -> LedgerPost:
        post = self.state.ledger.get(PLATFORM, remote_id)
        if post is None or not post.live:
            raise WeiboError(400, 20101, "target weibo does not exist!")
        return post

    # ------------------------------------------------------------ state

    def create(self, uid: str, text: str, rip: str, pic: str | FilePart | None) -> dict[str, Any]:
        now = self.state.clock.now()
        text = shared(text)
        self.next_id += 1 + secrets.randbelow(997)
        status_id = self.next_id
        picture = pic_hash(pic)
        status = status_object(status_id, uid, text, now, picture)
        # What the status is made of, not the status: a rebuilt dict on each read costs less
        # than ~1.5 KB kept per post (100,000-account runs keep every post in memory).
        self.state.ledger.create(
            PLATFORM,
            uid,
            remote_id=str(status_id),
            title=text.split("\n", 1)[0],
            text=text,
            extra={"made": (status_id, now, picture), "rip": rip},
        )
        recent = self.user(uid).recent
        recent.append((now, text))
        window = self.settings.repeat_window_s
        keep_since = now - window if window is not None else None
        if keep_since is None:
            del recent[:-1]
        else:
            recent[:] = [entry for entry in recent if entry[0] >= keep_since]
        return status

    def user(self, uid: str) -> UserMemory:
        memory = self.users.get(uid)
        if memory is None:
            memory = self.users[uid] = UserMemory()
        return memory


# ---------------------------------------------------------------- wiring

_emulators: weakref.WeakKeyDictionary[SandboxState, WeiboEmulator] = weakref.WeakKeyDictionary()


def build_app(state: SandboxState, settings: WeiboSandboxSettings | None = None) -> web.Application:
    emulator = WeiboEmulator(state, settings or default_settings())
    _emulators[state] = emulator

    @web.middleware
    async def forget_after_reset(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        emulator.fresh()
        return await handler(request)

    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[forget_after_reset])
    app.add_routes(
        [
            web.post(SHARE, emulator.share),
            web.post(DESTROY, emulator.destroy),
            web.get(SHOW, emulator.show),
            web.get(TIMELINE, emulator.user_timeline),
            web.get(COMMENTS_SHOW, emulator.comments_show),
            web.post(COMMENTS_REPLY, emulator.comments_reply),
            web.get(AUTHORIZE, emulator.authorize),
            web.post(AUTHORIZE, emulator.authorize),
            web.post(ACCESS_TOKEN, emulator.access_token),
            web.post(GET_TOKEN_INFO, emulator.get_token_info),
            web.get(REVOKE, emulator.revokeoauth2),
            web.post(REVOKE, emulator.revokeoauth2),
            web.get(USERS_SHOW, emulator.users_show),
            web.get(COUNT, emulator.count),
            web.get(GET_UID, emulator.get_uid),
        ]
    )
    state.outside_posters[PLATFORM] = emulator.post_outside
    return app


def emulator_for(state: SandboxState) -> WeiboEmulator:
    """The Weibo emulator serving ``state`` (tests adjust ``.settings`` through it)."""
    return _emulators[state].fresh()


def default_settings() -> WeiboSandboxSettings:
    domains = list(WeiboSandboxSettings.safe_domains)
    public_host = urlsplit(os.environ.get("YUNCHU_PUBLIC_URL", "")).hostname
    if public_host and public_host not in domains:
        domains.append(public_host.lower())
    # One app behind one IP may make 30,000 calls an hour (10022 beyond). A benchmark of a
    # province bigger than one app can serve raises it, as a deployment would add app keys.
    hourly = os.environ.get("YUNCHU_SANDBOX_WEIBO_APP_HOURLY", "")
    return WeiboSandboxSettings(
        safe_domains=tuple(domains),
        requests_per_app_hour=int(hourly) if hourly.isdigit() else 30_000,
    )


# ---------------------------------------------------------------- wire helpers


def uid_for_token(token: str) -> str:
    """The 10-digit uid a first-use token stands for (stable for the same token)."""
    digest = hashlib.sha256(token.encode()).digest()
    return str(1_000_000_000 + int.from_bytes(digest[:8], "big") % 9_000_000_000)


def weibo_length(text: str) -> int:
    units = sum(1 if ord(char) < 128 else 2 for char in text)
    return (units + 1) // 2


def json_response(body: Any, status: int = 200) -> web.Response:
    """JSON that keeps Chinese readable, as Weibo sends it."""
    return web.json_response(body, status=status, dumps=_dumps)


def _dumps(body: Any) -> str:
    return orjson.dumps(body).decode()


def malformed_body() -> WeiboError:
    """A body that says it is a form but does not parse as one."""
    return WeiboError(400, 10008, "Param error, see doc for more info")


def envelope(path: str, error: WeiboError) -> web.Response:
    body = {"error": error.message, "error_code": error.code, "request": path}
    return json_response(body, status=error.status)


def bounded_int(raw: str | None, *, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise WeiboError(400, 10017, f"Parameter ({raw})'s value invalid") from None
    return min(max(value, low), high)


def pic_hash(pic: str | FilePart | None) -> str | None:
    if not isinstance(pic, FilePart):
        return None
    return hashlib.sha256(pic.data).hexdigest()[:24]


def status_of(post: LedgerPost) -> dict[str, Any]:
    """The status object of a stored post, as Weibo returns it."""
    status_id, created, picture = post.extra["made"]
    return status_object(status_id, post.account, post.text, created, picture)


def status_object(
    status_id: int, uid: str, text: str, created: float, pic: str | None
) -> dict[str, Any]:
    created_at = datetime.fromtimestamp(created, CHINA_TZ).strftime("%a %b %d %H:%M:%S +0800 %Y")
    status: dict[str, Any] = {
        "created_at": created_at,
        "id": status_id,
        "mid": str(status_id),
        "idstr": str(status_id),
        "text": text,
        "source": '<a href="https://open.weibo.com" rel="nofollow">云厨</a>',
        "favorited": False,
        "truncated": False,
        "in_reply_to_status_id": "",
        "in_reply_to_user_id": "",
        "in_reply_to_screen_name": "",
        "geo": None,
        "user": {"id": int(uid), "idstr": uid, "screen_name": f"用户{uid}"},
        "reposts_count": 0,
        "comments_count": 0,
        "annotations": [],
    }
    if pic is not None:
        for size, key in (
            ("thumbnail", "thumbnail_pic"),
            ("bmiddle", "bmiddle_pic"),
            ("large", "original_pic"),
        ):
            status[key] = f"https://wx1.sinaimg.cn/{size}/{pic}.jpg"
    return status
