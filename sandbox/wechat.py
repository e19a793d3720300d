"""Emulated WeChat official account API (docs/platforms/wechat.md), mounted at ``/wechat``.

Routes under ``/wechat/cgi-bin/``: ``token`` (classic, rotating), ``stable_token``,
``material/add_material``, ``media/uploadimg``, ``draft/{add,get,batchget,count,delete}``,
``freepublish/{submit,get,delete,getarticle,batchget}`` and ``clear_quota``.

Wire behaviour: HTTP 200 with an ``errcode``/``errmsg`` envelope (``errmsg`` ends in
`` rid: …``) for every refusal; tokens only from the query string, expiring on
``state.clock``; per-app daily quotas (``45009``) and a per-minute limit (``45011``);
``draft/add`` and ``freepublish/submit`` are not idempotent; publishing is asynchronous
(status 1 until the app's publish delay has passed on the sandbox clock, default 0 s).

Per-app knobs, registered with ``POST /_sandbox/accounts/wechat/<appid>`` (all optional):
``publish_delay_s`` (float), ``publish_status`` (2/3/4: every publish of the app fails so),
``ip_blocked`` (token calls answer ``40164``), ``can_delete`` (false: ``freepublish/delete``
answers ``48001`` as for an unverified subscription account), ``minute_limit`` (calls per
interface per minute, default 1000), ``callback_url``, ``callback_token`` and optionally
``callback_aes_key`` (each finished publish is pushed there as a ``PUBLISHJOBFINISH`` event,
``sandbox.wechat_events``).

Sandbox choices where WeChat's behaviour is not documented: unknown or already-deleted ids answer
``40007 invalid media_id``; ``batchget`` lists deleted articles with ``is_deleted: true``;
``add_material`` supports ``image`` and ``thumb`` only. Mass sending (群发) is not emulated.

Faults (``state.roll_fault``, once per business call, token calls excluded): ``busy`` →
``-1 system error``; ``rate_limit`` → ``45011``; ``http_5xx`` → an nginx-style HTML 502/503;
``timeout`` → the call takes effect, then the answer stalls (``sandbox.core.timeout_fault``);
``unknown_error`` → ``99999``, a code WeChat does not document.
"""

from __future__ import annotations

import base64
import heapq
import html
import itertools
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from sandbox import replies
from sandbox.comments import MSG_DATA_ID_BASE, wechat_list
from sandbox.core import LedgerPost, SandboxState, fingerprint, shared, timeout_fault
from sandbox.forms import read_part
from sandbox.wechat_datacube import QUOTA_PER_DAY as datacube_quota
from sandbox.wechat_datacube import SPANS as DATACUBE_SPANS
from sandbox.wechat_datacube import Datacube
from sandbox.wechat_events import EventSender, publish_event_xml

PLATFORM = "wechat"
TOKEN_TTL_S = 7200
CLASSIC_GRACE_S = 300  # a superseded classic token keeps working this long
STABLE_ROTATE_BEFORE_S = 300  # stable tokens are renewed this long before they expire
FORCE_REFRESH_PER_DAY = 20
FORCE_REFRESH_GAP_S = 30
DEFAULT_PUBLISH_DELAY_S = 0.0
DEFAULT_MINUTE_LIMIT = 1000
CLEAR_QUOTA_PER_MONTH = 10
CHINA_UTC_OFFSET_S = 8 * 3600

DAILY_QUOTAS: dict[str, int] = {
    "token": 2000,
    "stable_token": 500_000,
    "material/add_material": 100_000,
    "material/del_material": 100_000,
    "media/uploadimg": 100_000,
    "draft/add": 1000,
    "draft/get": 500,
    "draft/batchget": 1000,
    "draft/count": 1000,
    "draft/delete": 1000,
    "freepublish/submit": 100,
    "freepublish/get": 100,
    "freepublish/delete": 10,
    "freepublish/getarticle": 100,
    "freepublish/batchget": 100,
    "clear_quota": 1_000_000,  # limited per month instead
    **{f"datacube/{name}": datacube_quota for name in DATACUBE_SPANS},
    # No documented quota for the comment calls (a community claim only): generous.
    "comment/list": 100_000,
    "comment/reply/add": 100_000,
    "comment/reply/delete": 100_000,
    "comment/markelect": 100_000,
    "comment/unmarkelect": 100_000,
    "comment/delete": 100_000,
    "message/custom/send": 500_000,
}

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_THUMB_BYTES = 64 * 1024
MAX_INLINE_BYTES = 1024 * 1024
MAX_ARTICLES = 8
MAX_TITLE_CHARS = 32
MAX_AUTHOR_CHARS = 16
MAX_DIGEST_CHARS = 128
MAX_CONTENT_CHARS = 20_000
MAX_CONTENT_BYTES = 1024 * 1024
MAX_URL_BYTES = 1024
MMBIZ_PREFIX = "http://mmbiz.qpic.cn/"

ERRMSG: dict[int, str] = {
    -1: "system error",
    99999: "unexpected error",  # the ``unknown_error`` fault: no code WeChat documents
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40004: "invalid media type",
    40005: "invalid file type",
    40007: "invalid media_id",
    40009: "invalid image size",
    40013: "invalid appid",
    40097: "invalid args",
    40125: "invalid appsecret",
    40164: "invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    42001: "access_token expired",
    44003: "empty news data",
    45002: "content size out of limit",
    45003: "title size out of limit",
    45004: "description size out of limit",
    45005: "url size out of limit",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45110: "author size out of limit",
    47001: "data format error",
    48001: "api unauthorized",
    48006: "forbid to clear quota because of reaching the limit",
    61003: "component is not authorized by this account",
    88000: "without comment privilege",
    88001: "msg_data is not exists",
    88010: "count range error. cout <= 0 or count > 50",
    61007: "api is unauthorized to component",
    61500: "date format error",
    61501: "date range error",
    **replies.WECHAT_ERRMSG,
}

_UNICODE_ESCAPE_RE = re.compile(r"(?<!\\)((?:\\\\)*)\\u")
_SCRIPT_RE = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_IMG_RE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_SRC_RE = re.compile(r"""\ssrc\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")


class WeChatError(Exception):
    """A refusal, rendered as ``{"errcode", "errmsg"}`` with HTTP 200."""

    def __init__(self, code: int, extra: dict[str, Any] | None = None):
        super().__init__(code)
        self.code = code
        self.extra = extra or {}


# ---------------------------------------------------------------- world


@dataclass(slots=True)
class IssuedToken:
    appid: str
    expires_at: float
    invalid_after: float  # earlier than expires_at once superseded


@dataclass(slots=True)
class Material:
    media_id: str
    kind: str  # image | thumb
    url: str


@dataclass(slots=True)
class Draft:
    media_id: str
    appid: str
    articles: list[dict[str, Any]]
    created_at: float


@dataclass(slots=True)
class Publish:
    publish_id: int
    appid: str
    articles: list[dict[str, Any]]
    ready_at: float
    outcome: int  # publish_status once ready: 0 success, 2/3/4 failure
    settled: bool = False
    article_id: str | None = None
    deleted: list[bool] = field(default_factory=list)
    published_at: float = 0.0

    def __lt__(self, other: Publish) -> bool:  # heap order
        return self.ready_at < other.ready_at


@dataclass(slots=True)
class AppData:
    """One official account's server-side memory."""

    classic: list[str] = field(default_factory=list)  # newest last, at most two
    stable: list[str] = field(default_factory=list)  # newest last, at most two
    force_refreshes: list[float] = field(default_factory=list)
    # Calls per interface in the current China day and the current minute; one day and one
    # minute per app (the counts restart together), not a [day, count] list per interface:
    # 100,000 accounts' worth of those lists cost tens of MB.
    day: int = -1
    daily: dict[str, int] = field(default_factory=dict)
    minute_now: int = -1
    minute: dict[str, int] = field(default_factory=dict)
    clear_quota_uses: list[int] = field(default_factory=list)  # [month, count]
    materials: dict[str, Material] = field(default_factory=dict)
    drafts: dict[str, Draft] = field(default_factory=dict)
    published: list[Publish] = field(default_factory=list)  # successful, oldest first


class World:
    """Everything the emulated WeChat remembers; replaced when the sandbox is reset."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.ledger = state.ledger  # identity tells us when the sandbox was reset
        self.apps: dict[str, AppData] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.inline_urls: set[str] = set()
        self.publishes: dict[int, Publish] = {}
        self.articles: dict[str, Publish] = {}
        self.pending: list[Publish] = []
        self.ids = itertools.count(1)
        self.publish_ids = itertools.count(2247483650)

    def app(self, appid: str) -> AppData:
        data = self.apps.get(appid)
        if data is None:
            data = self.apps[appid] = AppData()
        return data

    def settings(self, appid: str) -> dict[str, Any]:
        return self.state.accounts.registered(PLATFORM, appid) or {}

    def new_id(self, size: int = 12) -> str:
        return f"{next(self.ids):x}{secrets.token_urlsafe(size)}"

    # ------------------------------------------------------------ tokens

    def issue_token(self, appid: str, now: float) -> str:
        token = secrets.token_urlsafe(96)
        self.tokens[token] = IssuedToken(appid, now + TOKEN_TTL_S, now + TOKEN_TTL_S)
        return token

    def authenticate(self, token: str | None) -> str:
        """The appid behind ``token``, or the WeChat refusal."""
        if not token:
            raise WeChatError(41001)
        issued = self.tokens.get(token)
        if issued is None:
            raise WeChatError(40001)
        now = self.state.clock.now()
        if now >= issued.expires_at:
            raise WeChatError(42001)
        if now >= issued.invalid_after or self.state.accounts.is_revoked(PLATFORM, issued.appid):
            raise WeChatError(40001)
        return issued.appid

    # ------------------------------------------------------------ quotas

    def spend(self, appid: str, interface: str) -> None:
        now = self.state.clock.now()
        data = self.app(appid)
        day = int((now + CHINA_UTC_OFFSET_S) // 86400)
        if data.day != day:
            data.day, data.daily = day, {}
        used = data.daily.get(interface, 0)
        if used >= DAILY_QUOTAS[interface]:
            raise WeChatError(45009)
        minute = int(now // 60)
        if data.minute_now != minute:
            data.minute_now, data.minute = minute, {}
        recent = data.minute.get(interface, 0)
        limit = self.settings(appid).get("minute_limit", DEFAULT_MINUTE_LIMIT)
        if recent >= limit:
            raise WeChatError(45011)
        data.daily[interface] = used + 1
        data.minute[interface] = recent + 1

    # ------------------------------------------------------------ publishing

    def settle_due(self) -> None:
        """Finish every publish whose delay has passed on the sandbox clock."""
        if not self.pending:
            return
        now = self.state.clock.now()
        while self.pending and self.pending[0].ready_at <= now:
            self.settle(heapq.heappop(self.pending), now)

    def settle(self, job: Publish, now: float) -> None:
        job.settled = True
        if job.outcome != 0:
            return
        job.article_id = "art_" + self.new_id(24)
        job.published_at = now
        job.deleted = [False] * len(job.articles)
        biz = base64.b64encode(job.appid.encode()).decode()
        for idx, article in enumerate(job.articles, start=1):
            # The long form WeChat gives: ``mid`` is the msg_data_id the comment calls take.
            article["url"] = (f"https://mp.weixin.qq.com/s?__biz={biz}"
                              f"&mid={job.publish_id + MSG_DATA_ID_BASE}&idx={idx}"
                              f"&sn={secrets.token_hex(16)}")
        self.articles[job.article_id] = job
        self.app(job.appid).published.append(job)
        first = job.articles[0]
        self.state.ledger.create(
            PLATFORM,
            job.appid,
            remote_id=job.article_id,
            title=first["title"],
            text=first["digest"] or plain_text(first["content"]),
            extra={
                "article_id": job.article_id,
                "publish_id": job.publish_id,
                "url": first["url"],
                "content_source_url": first["content_source_url"],
            },
        )

    def published_article(self, appid: str, article_id: Any) -> Publish:
        job = self.articles.get(article_id) if isinstance(article_id, str) else None
        if job is None or job.appid != appid:
            raise WeChatError(40007)
        return job


def plain_text(content: str) -> str:
    return _SPACE_RE.sub(" ", html.unescape(_TAG_RE.sub(" ", content))).strip()


def sniff_image(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"GIF8"):
        return "gif"
    if data.startswith(b"BM"):
        return "bmp"
    return None


# ---------------------------------------------------------------- the emulator


Handler = Callable[[str, web.Request], Awaitable[dict[str, Any]]]


class WeChatSandbox:
    """The HTTP face: envelope, auth, faults and quotas around each handler."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._world = World(state)
        self.events = EventSender()
        # Set by the 第三方平台 emulator: checks calls made with an authorizer token.
        self.token_gate: Callable[[str, str], None] | None = None

    @property
    def world(self) -> World:
        if self._world.ledger is not self.state.ledger:
            self._world = World(self.state)
        return self._world

    def routes(self) -> list[web.RouteDef]:
        business: list[tuple[str, str, Handler]] = [
            ("POST", "material/add_material", self.add_material),
            ("POST", "material/del_material", self.del_material),
            ("POST", "media/uploadimg", self.upload_image),
            ("POST", "draft/add", self.draft_add),
            ("POST", "draft/get", self.draft_get),
            ("POST", "draft/batchget", self.draft_batchget),
            ("GET", "draft/count", self.draft_count),
            ("POST", "draft/delete", self.draft_delete),
            ("POST", "freepublish/submit", self.publish_submit),
            ("POST", "freepublish/get", self.publish_get),
            ("POST", "freepublish/delete", self.publish_delete),
            ("POST", "freepublish/getarticle", self.publish_getarticle),
            ("POST", "freepublish/batchget", self.publish_batchget),
            ("POST", "clear_quota", self.clear_quota),
            ("POST", "comment/list", self.comment_list),
            ("POST", "comment/reply/add", self.answer(replies.wechat_reply_add)),
            ("POST", "comment/reply/delete", self.answer(replies.wechat_reply_delete)),
            ("POST", "comment/markelect", self.answer(replies.wechat_elect, True)),
            ("POST", "comment/unmarkelect", self.answer(replies.wechat_elect, False)),
            ("POST", "comment/delete", self.answer(replies.wechat_delete)),
            ("POST", "message/custom/send", self.answer(replies.wechat_custom_send)),
        ]
        table = [
            web.get("/cgi-bin/token", self.classic_token),
            web.post("/cgi-bin/stable_token", self.stable_token),
        ]
        for method, interface, handler in business:
            table.append(web.route(method, f"/cgi-bin/{interface}", self.wrap(interface, handler)))
        return table

    # ------------------------------------------------------------ envelope

    def refusal(self, error: WeChatError) -> web.Response:
        self.state.count_error(PLATFORM)
        rid = f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        body = {"errcode": error.code,
                "errmsg": f"{ERRMSG.get(error.code, 'error')} rid: {rid}"}
        return reply({**body, **error.extra})

    def wrap(self, interface: str, handler: Handler) -> Callable[[web.Request], Awaitable]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            self.state.count_request(PLATFORM)
            world = self.world
            world.settle_due()
            try:
                token = request.query.get("access_token")
                appid = world.authenticate(token)
                if self.token_gate is not None:
                    self.token_gate(token or "", interface)
                fault = self.state.roll_fault(PLATFORM)
                if fault in ("busy", "rate_limit", "http_5xx", "unknown_error"):
                    return self.fault(fault)
                world.spend(appid, interface)
                answer = await handler(appid, request)
            except WeChatError as error:
                return self.refusal(error)
            if fault == "timeout":
                return await timeout_fault(self.state, PLATFORM)
            return reply(answer)

        return endpoint

    def fault(self, kind: str) -> web.Response:
        if kind == "busy":
            return self.refusal(WeChatError(-1))
        if kind == "unknown_error":
            return self.refusal(WeChatError(99999))
        if kind == "rate_limit":
            return self.state.rate_limited(self.refusal(WeChatError(45011)))
        self.state.count_error(PLATFORM)
        status = self.state.rng.choice((502, 503))
        reason = "Bad Gateway" if status == 502 else "Service Unavailable"
        page = (
            f"<html><head><title>{status} {reason}</title></head><body>"
            f"<center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>"
        )
        return web.Response(status=status, text=page, content_type="text/html")

    # ------------------------------------------------------------ tokens

    async def classic_token(self, request: web.Request) -> web.StreamResponse:
        self.state.count_request(PLATFORM)
        query = request.query
        try:
            appid = self.check_credentials(
                query.get("grant_type"), query.get("appid"), query.get("secret")
            )
            world = self.world
            world.spend(appid, "token")
            now = self.state.clock.now()
            data = world.app(appid)
            if data.classic:
                previous = world.tokens[data.classic[-1]]
                previous.invalid_after = min(previous.invalid_after, now + CLASSIC_GRACE_S)
            if len(data.classic) == 2:
                world.tokens.pop(data.classic.pop(0), None)
            token = world.issue_token(appid, now)
            data.classic.append(token)
        except WeChatError as error:
            return self.refusal(error)
        return reply({"access_token": token, "expires_in": TOKEN_TTL_S})

    async def stable_token(self, request: web.Request) -> web.StreamResponse:
        self.state.count_request(PLATFORM)
        try:
            body = await json_body(request)
            appid = self.check_credentials(
                body.get("grant_type"), body.get("appid"), body.get("secret")
            )
            world = self.world
            world.spend(appid, "stable_token")
            token, expires_in = self.stable_for(world, appid, bool(body.get("force_refresh")))
        except WeChatError as error:
            return self.refusal(error)
        return reply({"access_token": token, "expires_in": expires_in})

    def stable_for(self, world: World, appid: str, force: bool) -> tuple[str, int]:
        now = self.state.clock.now()
        data = world.app(appid)
        current = world.tokens.get(data.stable[-1]) if data.stable else None
        if force:
            day_ago = now - 86400
            data.force_refreshes = [t for t in data.force_refreshes if t > day_ago]
            if len(data.force_refreshes) >= FORCE_REFRESH_PER_DAY:
                raise WeChatError(45009)
            if data.force_refreshes and now - data.force_refreshes[-1] < FORCE_REFRESH_GAP_S:
                raise WeChatError(45011)
            data.force_refreshes.append(now)
            if current is not None:
                current.invalid_after = now
        elif current is not None and now < current.expires_at - STABLE_ROTATE_BEFORE_S:
            return data.stable[-1], int(current.expires_at - now)
        # Renewal: the previous token keeps working until it expires (unless forced out).
        if len(data.stable) == 2:
            world.tokens.pop(data.stable.pop(0), None)
        data.stable.append(world.issue_token(appid, now))
        return data.stable[-1], TOKEN_TTL_S

    def check_credentials(self, grant_type: Any, appid: Any, secret: Any) -> str:
        if grant_type != "client_credential":
            raise WeChatError(40002)
        if not appid or not isinstance(appid, str):
            raise WeChatError(41002)
        if not secret or not isinstance(secret, str):
            raise WeChatError(41004)
        if self.world.settings(appid).get("ip_blocked"):
            raise WeChatError(40164)
        if self.state.accounts.check(PLATFORM, appid, fingerprint(secret)) != "ok":
            raise WeChatError(40125)
        return appid

    # ------------------------------------------------------------ media

    async def add_material(self, appid: str, request: web.Request) -> dict[str, Any]:
        kind = request.query.get("type")
        if kind not in ("image", "thumb"):
            raise WeChatError(40004)
        data = await media_part(request, MAX_IMAGE_BYTES)
        image_format = sniff_image(data)
        if kind == "thumb":
            if image_format != "jpeg":
                raise WeChatError(40005)
            if len(data) > MAX_THUMB_BYTES:
                raise WeChatError(40009)
        elif image_format is None:
            raise WeChatError(40005)
        world = self.world
        media_id = world.new_id(20)
        url = f"{MMBIZ_PREFIX}mmbiz_{image_format or 'jpg'}/{media_id}/0?wx_fmt={image_format}"
        world.app(appid).materials[media_id] = Material(media_id, kind, url)
        if kind == "thumb":
            return {"media_id": media_id}
        return {"media_id": media_id, "url": url}

    async def upload_image(self, appid: str, request: web.Request) -> dict[str, Any]:
        data = await media_part(request, MAX_IMAGE_BYTES)
        image_format = sniff_image(data)
        if image_format not in ("jpeg", "png"):
            raise WeChatError(40005)
        if len(data) >= MAX_INLINE_BYTES:
            raise WeChatError(40009)
        world = self.world
        url = f"{MMBIZ_PREFIX}mmbiz_{image_format}/{world.new_id(20)}/0"
        world.inline_urls.add(url)
        return {"url": url, "errcode": 0, "errmsg": "ok"}

    # ------------------------------------------------------------ drafts

    async def draft_add(self, appid: str, request: web.Request) -> dict[str, Any]:
        # WeChat stores \\uXXXX escapes literally (the draft doc warns): so does the sandbox.
        body = await json_body(request, keep_unicode_escapes=True)
        raw_articles = body.get("articles")
        if not isinstance(raw_articles, list) or not raw_articles:
            raise WeChatError(44003)
        if len(raw_articles) > MAX_ARTICLES:
            raise WeChatError(45008)
        world = self.world
        articles = [self.checked_article(world, appid, raw) for raw in raw_articles]
        media_id = world.new_id(20)
        draft = Draft(media_id, appid, articles, self.state.clock.now())
        world.app(appid).drafts[media_id] = draft
        return {"media_id": media_id}

    def checked_article(self, world: World, appid: str, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise WeChatError(47001)
        title, author, digest = (text_field(raw, name) for name in ("title", "author", "digest"))
        content = text_field(raw, "content")
        source_url = text_field(raw, "content_source_url")
        if not title or not content:
            raise WeChatError(44003)
        if len(title) > MAX_TITLE_CHARS:
            raise WeChatError(45003)
        if len(author) > MAX_AUTHOR_CHARS:
            raise WeChatError(45110)
        if len(digest) > MAX_DIGEST_CHARS:
            raise WeChatError(45004)
        if len(content) >= MAX_CONTENT_CHARS or len(content.encode()) >= MAX_CONTENT_BYTES:
            raise WeChatError(45002)
        if len(source_url.encode()) > MAX_URL_BYTES:
            raise WeChatError(45005)
        article_type = raw.get("article_type") or "news"
        if article_type != "news":
            raise WeChatError(40004)  # the sandbox emulates news articles only
        thumb = world.app(appid).materials.get(text_field(raw, "thumb_media_id"))
        if thumb is None:
            raise WeChatError(40007)
        return {
            "article_type": article_type,
            "title": shared(title),
            "author": shared(author),
            "digest": shared(digest),
            "content": shared(self.filtered_content(world, content)),
            "content_source_url": shared(source_url),
            "thumb_media_id": thumb.media_id,
            "thumb_url": thumb.url,
            "need_open_comment": 1 if raw.get("need_open_comment") == 1 else 0,
            "only_fans_can_comment": 1 if raw.get("only_fans_can_comment") == 1 else 0,
        }

    @staticmethod
    def filtered_content(world: World, content: str) -> str:
        """Strip scripts; drop images not hosted by ``media/uploadimg``, as WeChat does."""

        def keep_hosted(match: re.Match[str]) -> str:
            src = _SRC_RE.search(match.group(0))
            hosted = src is not None and html.unescape(src.group(1)) in world.inline_urls
            return match.group(0) if hosted else ""

        return _IMG_RE.sub(keep_hosted, _SCRIPT_RE.sub("", content))

    def draft_of(self, appid: str, media_id: Any) -> Draft:
        draft = self.world.app(appid).drafts.get(media_id) if isinstance(media_id, str) else None
        if draft is None:
            raise WeChatError(40007)
        return draft

    async def draft_get(self, appid: str, request: web.Request) -> dict[str, Any]:
        draft = self.draft_of(appid, (await json_body(request)).get("media_id"))
        created = int(draft.created_at)
        return {"news_item": draft.articles, "create_time": created, "update_time": created}

    async def draft_batchget(self, appid: str, request: web.Request) -> dict[str, Any]:
        offset, count, no_content = page_args(await json_body(request))
        drafts = list(reversed(self.world.app(appid).drafts.values()))
        page = drafts[offset : offset + count]
        items = [
            {
                "media_id": draft.media_id,
                "content": {"news_item": shown(draft.articles, no_content)},
                "update_time": int(draft.created_at),
            }
            for draft in page
        ]
        return {"total_count": len(drafts), "item_count": len(items), "item": items}

    async def del_material(self, appid: str, request: web.Request) -> dict[str, Any]:
        media_id = (await json_body(request)).get("media_id")
        materials = self.world.app(appid).materials
        if not isinstance(media_id, str) or materials.pop(media_id, None) is None:
            raise WeChatError(40007)
        return {"errcode": 0, "errmsg": "ok"}

    async def draft_count(self, appid: str, request: web.Request) -> dict[str, Any]:
        return {"total_count": len(self.world.app(appid).drafts)}

    async def draft_delete(self, appid: str, request: web.Request) -> dict[str, Any]:
        draft = self.draft_of(appid, (await json_body(request)).get("media_id"))
        del self.world.app(appid).drafts[draft.media_id]
        return {"errcode": 0, "errmsg": "ok"}

    # ------------------------------------------------------------ publishing

    async def publish_submit(self, appid: str, request: web.Request) -> dict[str, Any]:
        draft = self.draft_of(appid, (await json_body(request)).get("media_id"))
        world = self.world
        del world.app(appid).drafts[draft.media_id]
        settings = world.settings(appid)
        now = self.state.clock.now()
        job = Publish(
            publish_id=next(world.publish_ids),
            appid=appid,
            articles=draft.articles,
            ready_at=now + float(settings.get("publish_delay_s", DEFAULT_PUBLISH_DELAY_S)),
            outcome=int(settings.get("publish_status", 0)),
        )
        world.publishes[job.publish_id] = job
        if job.ready_at <= now:
            world.settle(job, now)
        else:
            heapq.heappush(world.pending, job)
        if settings.get("callback_url"):
            self.events.send_when_due(appid, settings, lambda: self.event_due_in(job),
                                      lambda: self.event_of(job))
        return {
            "errcode": 0,
            "errmsg": "ok",
            "publish_id": str(job.publish_id),
            "msg_data_id": job.publish_id + MSG_DATA_ID_BASE,
        }

    def event_due_in(self, job: Publish) -> float | None:
        """Seconds until ``job`` ends (0: it has); None once the sandbox was reset."""
        world = self.world
        if world.publishes.get(job.publish_id) is not job:
            return None
        world.settle_due()
        return 0.0 if job.settled else max(job.ready_at - self.state.clock.now(), 0.01)

    def event_of(self, job: Publish) -> bytes:
        """The PUBLISHJOBFINISH event of a finished job."""
        return publish_event_xml(
            job.appid, job.publish_id, job.outcome, article_id=job.article_id,
            urls=[article["url"] for article in job.articles] if job.outcome == 0 else [],
            fail_idx=list(range(1, len(job.articles) + 1)), now=self.state.clock.now())

    async def publish_get(self, appid: str, request: web.Request) -> dict[str, Any]:
        raw_id = (await json_body(request)).get("publish_id")
        try:
            publish_id = int(raw_id)  # a string in the doc, a number in the wild: accept both
        except (TypeError, ValueError):
            raise WeChatError(40007) from None
        job = self.world.publishes.get(publish_id)
        if job is None or job.appid != appid:
            raise WeChatError(40007)
        # Numeric here on purpose: real answers were seen with a number.
        answer: dict[str, Any] = {"publish_id": job.publish_id}
        if not job.settled:
            return {**answer, "publish_status": 1}
        if job.outcome != 0:
            fail_idx = list(range(1, len(job.articles) + 1))
            return {**answer, "publish_status": job.outcome, "fail_idx": fail_idx}
        if all(job.deleted):
            return {**answer, "publish_status": 5, "article_id": job.article_id, "fail_idx": []}
        detail = [
            {"idx": idx, "article_url": article["url"]}
            for idx, article in enumerate(job.articles, start=1)
            if not job.deleted[idx - 1]
        ]
        return {
            **answer,
            "publish_status": 0,
            "article_id": job.article_id,
            "article_detail": {"count": len(detail), "item": detail},
            "fail_idx": [],
        }

    async def publish_delete(self, appid: str, request: web.Request) -> dict[str, Any]:
        body = await json_body(request)
        world = self.world
        if world.settings(appid).get("can_delete", True) is False:
            raise WeChatError(48001)
        job = world.published_article(appid, body.get("article_id"))
        index = body.get("index") or 0
        if not isinstance(index, int) or not 0 <= index <= len(job.articles):
            raise WeChatError(40097)
        targets = range(len(job.articles)) if index == 0 else [index - 1]
        if all(job.deleted[i] for i in targets):
            raise WeChatError(40007)
        for i in targets:
            job.deleted[i] = True
        if all(job.deleted):
            self.state.ledger.delete(PLATFORM, job.article_id or "")
        return {"errcode": 0, "errmsg": "ok"}

    async def publish_getarticle(self, appid: str, request: web.Request) -> dict[str, Any]:
        job = self.world.published_article(appid, (await json_body(request)).get("article_id"))
        return {"news_item": published_items(job, no_content=False)}

    async def publish_batchget(self, appid: str, request: web.Request) -> dict[str, Any]:
        offset, count, no_content = page_args(await json_body(request))
        published = self.world.app(appid).published
        newest_first = published[::-1][offset : offset + count]
        items = [
            {
                "article_id": job.article_id,
                "content": {"news_item": published_items(job, no_content)},
                "update_time": int(job.published_at),
            }
            for job in newest_first
        ]
        return {"total_count": len(published), "item_count": len(items), "item": items}

    def post_outside(self, appid: str, title: str) -> LedgerPost:
        """A post the account's editors made in the WeChat backend, not through yunchu."""
        world = self.world
        now = self.state.clock.now()
        article = {"article_type": "news", "title": shared(title), "author": "",
                   "digest": shared(title), "content": shared(f"<p>{html.escape(title)}</p>"),
                   "content_source_url": "", "thumb_media_id": "", "thumb_url": "",
                   "need_open_comment": 0, "only_fans_can_comment": 0}
        job = Publish(publish_id=next(world.publish_ids), appid=appid, articles=[article],
                      ready_at=now, outcome=0)
        world.publishes[job.publish_id] = job
        world.settle(job, now)
        post = self.state.ledger.get(PLATFORM, job.article_id or "")
        assert post is not None
        return post
    # ------------------------------------------------------------ comments

    async def comment_list(self, appid: str, request: web.Request) -> dict[str, Any]:
        return wechat_list(self.state, self.world, appid, await json_body(request), WeChatError)

    def answer(self, call: Callable[..., dict[str, Any]], *extra: Any) -> Handler:
        """A handler for one of sandbox/replies.py's calls (replies, 精选, customer service)."""

        async def handler(appid: str, request: web.Request) -> dict[str, Any]:
            body = await json_body(request)
            return call(self.state, self.world, appid, body, WeChatError, *extra)

        return handler

    # ------------------------------------------------------------ quota

    async def clear_quota(self, appid: str, request: web.Request) -> dict[str, Any]:
        if (await json_body(request)).get("appid") != appid:
            raise WeChatError(40013)
        data = self.world.app(appid)
        now = self.state.clock.now()
        month = int((now + CHINA_UTC_OFFSET_S) // (86400 * 30))
        if not data.clear_quota_uses or data.clear_quota_uses[0] != month:
            data.clear_quota_uses = [month, 0]
        if data.clear_quota_uses[1] >= CLEAR_QUOTA_PER_MONTH:
            raise WeChatError(48006)
        data.clear_quota_uses[1] += 1
        data.daily.clear()
        return {"errcode": 0, "errmsg": "ok"}


# ---------------------------------------------------------------- helpers


def reply(payload: dict[str, Any]) -> web.Response:
    return web.Response(
        body=orjson.dumps(payload),  # compact UTF-8, as WeChat answers
        content_type="application/json",
        charset="utf-8",
    )


async def json_body(request: web.Request, *, keep_unicode_escapes: bool = False) -> dict[str, Any]:
    try:
        text = (await request.read()).decode("utf-8")
        if keep_unicode_escapes:
            text = _UNICODE_ESCAPE_RE.sub(r"\1\\\\u", text)
        body = json.loads(text)
    except ValueError:  # includes UnicodeDecodeError
        raise WeChatError(47001) from None
    if not isinstance(body, dict):
        raise WeChatError(47001)
    return body


async def media_part(request: web.Request, max_bytes: int) -> bytes:
    """The bytes of the multipart part named ``media`` (``40009`` past ``max_bytes``).

    Not multipart, malformed, or no ``media`` part: ``41005``. The body is streamed, so an
    oversized upload answers ``40009`` however far it is over the app's ``client_max_size``.
    """
    try:
        data = await read_part(request, "media", max_bytes)
    except (ValueError, LookupError):
        raise WeChatError(41005) from None
    if data is None:
        raise WeChatError(40009)
    return data


def text_field(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WeChatError(47001)
    return value


def page_args(body: dict[str, Any]) -> tuple[int, int, bool]:
    offset, count = body.get("offset", 0), body.get("count", 20)
    if not isinstance(offset, int) or not isinstance(count, int):
        raise WeChatError(40097)
    if offset < 0 or not 1 <= count <= 20:
        raise WeChatError(40097)
    return offset, count, body.get("no_content") == 1


def shown(articles: list[dict[str, Any]], no_content: bool) -> list[dict[str, Any]]:
    if not no_content:
        return articles
    return [{k: v for k, v in article.items() if k != "content"} for article in articles]


def published_items(job: Publish, no_content: bool) -> list[dict[str, Any]]:
    return [
        {**article, "is_deleted": deleted}
        for article, deleted in zip(shown(job.articles, no_content), job.deleted, strict=True)
    ]


def build_app(state: SandboxState) -> web.Application:
    from sandbox.wechat_component import ComponentSandbox
    from sandbox.wechat_messages import MessagePusher

    app = web.Application(client_max_size=MAX_IMAGE_BYTES + 64 * 1024)
    wechat = WeChatSandbox(state)
    component = ComponentSandbox(state, wechat)
    pusher = MessagePusher(state, component)
    app.add_routes(wechat.routes() + component.routes() + Datacube(wechat).routes()
                   + [web.get("/_sandbox/messages", pusher.report)])
    state.outside_posters[PLATFORM] = wechat.post_outside
    return app
