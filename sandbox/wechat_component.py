"""Emulated WeChat 第三方平台 (open platform component), mounted with the WeChat emulator at
``/wechat`` (docs/platforms/wechat.md, "第三方平台").

A component app is registered with ``POST /wechat/_component/apps/<appid>`` and a JSON body:
``secret``, ``token``, ``aes_key`` (EncodingAESKey), ``event_url`` (授权事件接收URL),
``domain`` (授权发起页域名), and optionally ``push_interval_s`` (600), ``push_now`` (true:
push a ticket at once), ``ip_whitelist`` (list; absent: any caller), ``preauth_ttl_s`` (600),
``token_daily_limit`` (10 000), ``revoked_errcode`` (what business calls with an old token
answer after a cancel, 40001), ``deny_redirect`` (true: "拒绝" sends the browser to the
redirect URI with ``error=access_denied``; WeChat's own behaviour there is not documented).

- Tickets: pushed encrypted (``adapters.wechat_crypto``, trailer = component appid) every
  ``push_interval_s`` on the sandbox clock, on ``api_start_push_ticket`` and on
  ``POST /wechat/_component/apps/<appid>/push_ticket``; a new ticket each push, each valid
  12 h from issue (the earlier ones too); whether the answer was exactly ``success`` is kept.
- ``/cgi-bin/component/…``: ``api_start_push_ticket``, ``api_component_token`` (61004 for a
  caller outside the whitelist, 61005 for a ticket older than 12 h, 61006 for an unknown one,
  45009 past the daily limit), ``api_create_preauthcode``, ``api_query_auth`` (61009 for a
  used, expired or unknown code), ``api_authorizer_token`` (61003 once cancelled, 61023 for a
  wrong refresh token), ``api_get_authorizer_info``, ``api_get_authorizer_list``. The token
  may be given as ``component_access_token`` or ``access_token``.
- Consent: ``/cgi-bin/componentloginpage`` and ``/safe/bindcomponent`` check the Referer and
  the redirect URI against ``domain``, refuse ``auth_type`` with ``biz_appid``, and list the
  fixture accounts with func-set checkboxes; "同意授权" 302s to the redirect URI with
  ``auth_code`` and ``expires_in=600`` and pushes ``authorized`` (``updateauthorized`` for an
  account already authorised) carrying the ``PreAuthCode``.
- Authorizer tokens work on the business endpoints of ``sandbox.wechat``; a call outside the
  granted func sets answers 61007. ``POST /wechat/_component/apps/<appid>/revoke/<authorizer>``
  cancels like the account's admin would: an ``unauthorized`` push, then 61003.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
from aiohttp import web

from adapters.wechat_crypto import encrypt, signature

if TYPE_CHECKING:
    from sandbox.core import SandboxState
    from sandbox.wechat import WeChatSandbox

TICKET_LIFETIME_S = 12 * 3600
COMPONENT_TOKEN_TTL_S = 7200
AUTH_CODE_TTL_S = 600
OLD_REFRESH_GRACE_S = 300
PUSH_TIMEOUT_S = 5.0

# The func set each business interface needs (by path prefix).
FUNCSET_OF = {"datacube/getuser": 2, "datacube/": 7, "material/": 11, "media/": 11, "draft/": 11, "freepublish/": 7}
FUNCSETS = ((1, "消息管理"), (2, "用户管理"), (3, "帐号服务"), (7, "群发与通知"),
            (11, "素材管理"), (15, "自定义菜单"))


@dataclass(frozen=True)
class Fixture:
    appid: str
    nick_name: str
    service_type: int  # 0 订阅号, 2 服务号
    verify_type: int  # -1 未认证, 0 微信认证
    account_status: int = 1  # 19 已冻结


FIXTURES = (
    Fixture("wx5a0b00000000a001", "云省发布", 0, 0),
    Fixture("wx5a0b00000000a002", "云省政务服务", 2, 0),
    Fixture("wx5a0b00000000a003", "某县融媒（未认证）", 0, -1),
    Fixture("wx5a0b00000000a004", "已冻结的公众号", 2, 0, 19),
)


class ComponentRefusal(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass
class Grant:
    authorizer: str
    funcsets: list[int]
    refresh_token: str
    auth_time: float
    old_refresh_token: str | None = None
    old_valid_until: float = 0.0
    revoked: bool = False


@dataclass
class AuthCode:
    authorizer: str
    expires_at: float
    used: bool = False


@dataclass
class ComponentApp:
    appid: str
    secret: str
    token: str
    aes_key: str
    event_url: str
    domain: str
    push_interval_s: float = 600.0
    ip_whitelist: list[str] | None = None
    preauth_ttl_s: int = 600
    token_daily_limit: int = 10_000
    revoked_errcode: int = 40001
    deny_redirect: bool = True
    # 消息与事件接收URL (``$APPID$`` stands for the authorizer): users' messages are pushed
    # there when the chatter makes them (sandbox/wechat_messages.py).
    message_url: str = ""
    tickets: dict[str, float] = field(default_factory=dict)  # ticket -> issued at
    pushes: list[dict[str, Any]] = field(default_factory=list)
    token_day: int = -1
    tokens_today: int = 0
    component_tokens: dict[str, float] = field(default_factory=dict)  # token -> expires at
    preauth: dict[str, list[float | bool]] = field(default_factory=dict)  # [expires, used]
    auth_codes: dict[str, AuthCode] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    authorizer_tokens: dict[str, str] = field(default_factory=dict)  # token -> authorizer
    next_push_at: float = 0.0


OPTIONS = {"push_interval_s": float, "preauth_ttl_s": int, "token_daily_limit": int,
           "revoked_errcode": int, "deny_redirect": bool, "message_url": str}


class ComponentSandbox:
    def __init__(self, state: SandboxState, wechat: WeChatSandbox) -> None:
        self.state = state
        self.wechat = wechat
        self.apps: dict[str, ComponentApp] = {}
        self._tasks: set[asyncio.Task] = set()
        self._pusher: asyncio.Task | None = None
        wechat.token_gate = self.gate
        state.on_reset(self.reset)

    def reset(self) -> None:
        self.apps = {}
        for task in list(self._tasks):
            task.cancel()
        if self._pusher is not None:
            self._pusher.cancel()
            self._pusher = None

    def routes(self) -> list[web.RouteDef]:
        api = {
            "api_start_push_ticket": self.start_push_ticket,
            "api_component_token": self.component_token,
            "api_create_preauthcode": self.create_preauthcode,
            "api_query_auth": self.query_auth,
            "api_authorizer_token": self.authorizer_token,
            "api_get_authorizer_info": self.authorizer_info,
            "api_get_authorizer_list": self.authorizer_list,
        }
        table = [web.post(f"/cgi-bin/component/{name}", self.wrap(name, handler))
                 for name, handler in api.items()]
        for path in ("/cgi-bin/componentloginpage", "/safe/bindcomponent",
                     "/wxaopen/safe/bindcomponent"):
            table.append(web.get(path, self.login_page))
        table += [
            web.post("/cgi-bin/componentloginpage/confirm", self.confirm),
            web.post("/_component/apps/{appid}", self.register),
            web.get("/_component/apps/{appid}", self.describe),
            web.post("/_component/apps/{appid}/push_ticket", self.push_now),
            web.post("/_component/apps/{appid}/revoke/{authorizer}", self.revoke),
        ]
        return table

    # ------------------------------------------------------------ envelope

    def wrap(self, name: str, handler: Any) -> Any:
        async def endpoint(request: web.Request) -> web.Response:
            self.state.count_request("wechat")
            try:
                body = json.loads((await request.read()) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError
            except ValueError:
                return self.refusal(47001, "data format error")
            try:
                app = self.apps.get(str(body.get("component_appid") or ""))
                if app is None:
                    raise ComponentRefusal(61011, "invalid component")
                remote = request.remote or ""
                if app.ip_whitelist is not None and remote not in app.ip_whitelist:
                    raise ComponentRefusal(61004, "access clientip is not registered "
                                                  f"requestIP: {remote}")
                if name not in ("api_start_push_ticket", "api_component_token"):
                    self.check_token(app, request.query.get("component_access_token")
                                     or request.query.get("access_token"))
                return json_reply(await handler(app, body))
            except ComponentRefusal as refusal:
                return self.refusal(refusal.code, refusal.message)

        return endpoint

    def refusal(self, code: int, message: str) -> web.Response:
        self.state.count_error("wechat")
        return json_reply({"errcode": code, "errmsg": f"{message} rid: {secrets.token_hex(6)}"})

    def check_token(self, app: ComponentApp, token: str | None) -> None:
        if not token:
            raise ComponentRefusal(41001, "access_token missing")
        expires = app.component_tokens.get(token)
        if expires is None:
            raise ComponentRefusal(40001, "invalid credential")
        if self.state.clock.now() >= expires:
            raise ComponentRefusal(42001, "access_token expired")

    # ------------------------------------------------------------ component API

    async def start_push_ticket(self, app: ComponentApp, body: dict[str, Any]) -> dict:
        if body.get("component_secret") != app.secret:
            raise ComponentRefusal(40125, "invalid appsecret")
        self.spawn(self.push_ticket(app))
        return {"errcode": 0, "errmsg": "ok"}

    async def component_token(self, app: ComponentApp, body: dict[str, Any]) -> dict:
        if body.get("component_appsecret") != app.secret:
            raise ComponentRefusal(40125, "invalid appsecret")
        now = self.state.clock.now()
        issued = app.tickets.get(str(body.get("component_verify_ticket") or ""))
        if issued is None:
            raise ComponentRefusal(61006, "component ticket is invalid")
        if now - issued >= TICKET_LIFETIME_S:
            raise ComponentRefusal(61005, "component ticket is expired")
        day = int((now + 8 * 3600) // 86400)
        if app.token_day != day:
            app.token_day, app.tokens_today = day, 0
        if app.tokens_today >= app.token_daily_limit:
            raise ComponentRefusal(45009, "reach max api daily quota limit")
        app.tokens_today += 1
        token = secrets.token_urlsafe(48)
        app.component_tokens[token] = now + COMPONENT_TOKEN_TTL_S
        return {"component_access_token": token, "expires_in": COMPONENT_TOKEN_TTL_S}

    async def create_preauthcode(self, app: ComponentApp, body: dict[str, Any]) -> dict:
        code = "preauthcode@@@" + secrets.token_urlsafe(32)
        app.preauth[code] = [self.state.clock.now() + app.preauth_ttl_s, False]
        return {"pre_auth_code": code, "expires_in": app.preauth_ttl_s}

    async def query_auth(self, app: ComponentApp, body: dict[str, Any]) -> dict:
        code = app.auth_codes.get(str(body.get("authorization_code") or ""))
        if code is None or code.used or self.state.clock.now() >= code.expires_at:
            raise ComponentRefusal(61009, "code is invalid")
        code.used = True
        grant = app.grants[code.authorizer]
        token = self.issue_authorizer_token(app, grant.authorizer)
        return {"authorization_info": {
            "authorizer_appid": grant.authorizer, "authorizer_access_token": token,
            "expires_in": 7200, "authorizer_refresh_token": grant.refresh_token,
            "func_info": func_info(grant.funcsets)}}

    def live_grant(self, app: ComponentApp, authorizer: Any) -> Grant:
        grant = app.grants.get(str(authorizer or ""))
        if grant is None or grant.revoked:
            raise ComponentRefusal(61003, "component is not authorized by this account")
        return grant

    async def authorizer_token(self, app: ComponentApp, body: dict[str, Any]) -> dict:
        grant = self.live_grant(app, body.get("authorizer_appid"))
        given = body.get("authorizer_refresh_token")
        old_ok = (grant.old_refresh_token is not None and given == grant.old_refresh_token
                  and self.state.clock.now() < grant.old_valid_until)
        if given != grant.refresh_token and not old_ok:
            raise ComponentRefusal(61023, "refresh_token is invalid")
        return {"authorizer_access_token": self.issue_authorizer_token(app, grant.authorizer),
                "expires_in": 7200, "authorizer_refresh_token": given}

    async def authorizer_info(self, app: ComponentApp, body: dict[str, Any]) -> dict:
        grant = self.live_grant(app, body.get("authorizer_appid"))
        fixture = fixture_of(grant.authorizer)
        return {
            "authorizer_info": {
                "nick_name": fixture.nick_name, "head_img": "",
                "service_type_info": {"id": fixture.service_type},
                "verify_type_info": {"id": fixture.verify_type},
                "user_name": "gh_" + fixture.appid[-12:], "alias": "",
                "principal_name": "云省融媒体中心", "account_status": fixture.account_status,
                "business_info": {"open_pay": 0, "open_shake": 0, "open_scan": 0,
                                  "open_card": 0, "open_store": 0}},
            "authorization_info": {"authorizer_appid": grant.authorizer,
                                   "authorizer_refresh_token": grant.refresh_token,
                                   "func_info": func_info(grant.funcsets)}}

    async def authorizer_list(self, app: ComponentApp, body: dict[str, Any]) -> dict:
        offset, count = body.get("offset", 0), body.get("count", 100)
        if not isinstance(offset, int) or not isinstance(count, int) or not 0 < count <= 500:
            raise ComponentRefusal(40097, "invalid args")
        live = [g for g in app.grants.values() if not g.revoked]
        page = live[offset:offset + count]
        return {"total_count": len(live), "list": [
            {"authorizer_appid": g.authorizer, "refresh_token": g.refresh_token,
             "auth_time": int(g.auth_time)} for g in page]}

    def issue_authorizer_token(self, app: ComponentApp, authorizer: str) -> str:
        token = self.wechat.world.issue_token(authorizer, self.state.clock.now())
        app.authorizer_tokens[token] = authorizer
        return token

    def gate(self, token: str, interface: str) -> None:
        """Business calls with an authorizer token: the grant must stand and cover them."""
        from sandbox.wechat import WeChatError

        for app in self.apps.values():
            authorizer = app.authorizer_tokens.get(token)
            if authorizer is None:
                continue
            grant = app.grants.get(authorizer)
            if grant is None or grant.revoked:
                raise WeChatError(app.revoked_errcode)
            needed = next((fs for prefix, fs in FUNCSET_OF.items()
                           if interface.startswith(prefix)), None)
            if needed is not None and needed not in grant.funcsets:
                raise WeChatError(61007)
            return

    # ------------------------------------------------------------ consent pages

    async def login_page(self, request: web.Request) -> web.Response:
        self.state.count_request("wechat")
        query = request.query
        app = self.apps.get(query.get("component_appid", ""))
        if app is None:
            return error_page("第三方平台 component_appid 无效")
        if query.get("auth_type") and query.get("biz_appid"):
            return error_page("auth_type 与 biz_appid 不能同时使用")
        referer_host = urlsplit(request.headers.get("Referer", "")).hostname or ""
        redirect_uri = query.get("redirect_uri", "")
        if referer_host != app.domain:
            return error_page("请确认授权入口页所在域名，与授权后回调页所在域名相同，并且，此两者都和"
                              "第三方平台在微信开放平台后台登记的授权发起页域名相同。"
                              f"授权入口页所在域名：{referer_host or '空'}")
        if (urlsplit(redirect_uri).hostname or "") != app.domain:
            return error_page("授权回调页域名与登记的授权发起页域名不一致")
        code = query.get("pre_auth_code", "")
        problem = self.preauth_problem(app, code)
        if problem:
            return error_page(problem)
        biz = query.get("biz_appid")
        accounts = [f for f in FIXTURES if not biz or f.appid == biz]
        if not accounts:
            return error_page("该公众号不存在")
        radios = "".join(
            f'<label><input type="radio" name="authorizer_appid" value="{f.appid}"'
            f'{" checked" if i == 0 else ""}> {html.escape(f.nick_name)} ({f.appid})</label><br>'
            for i, f in enumerate(accounts))
        boxes = "".join(
            f'<label><input type="checkbox" name="funcset" value="{fid}" checked> '
            f"{html.escape(label)} ({fid})</label><br>" for fid, label in FUNCSETS)
        hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in
                         (("component_appid", app.appid), ("pre_auth_code", code),
                          ("redirect_uri", redirect_uri)))
        page = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>公众号授权'
                f'</title></head><body><h1>授权给第三方平台 {html.escape(app.appid)}</h1>'
                f'<form method="post" action="/wechat/cgi-bin/componentloginpage/confirm">'
                f"{hidden}<fieldset><legend>选择公众号</legend>{radios}</fieldset>"
                f"<fieldset><legend>授权权限集</legend>{boxes}</fieldset>"
                f'<button type="submit" name="decision" value="approve">同意授权</button> '
                f'<button type="submit" name="decision" value="deny">拒绝</button>'
                f"</form></body></html>")
        return web.Response(text=page, content_type="text/html")

    def preauth_problem(self, app: ComponentApp, code: str) -> str | None:
        entry = app.preauth.get(code)
        if entry is None:
            return "预授权码无效"
        if entry[1]:
            return "预授权码已使用，请重新发起授权"
        if self.state.clock.now() >= float(entry[0]):
            return "预授权码已过期，请重新发起授权"
        return None

    async def confirm(self, request: web.Request) -> web.Response:
        self.state.count_request("wechat")
        form = await request.post()
        app = self.apps.get(str(form.get("component_appid", "")))
        if app is None:
            return error_page("第三方平台 component_appid 无效")
        code = str(form.get("pre_auth_code", ""))
        problem = self.preauth_problem(app, code)
        if problem:
            return error_page(problem)
        redirect_uri = str(form.get("redirect_uri", ""))
        app.preauth[code][1] = True
        if form.get("decision") != "approve":
            if app.deny_redirect:
                raise web.HTTPFound(with_query(redirect_uri, {"error": "access_denied"}))
            return error_page("已拒绝授权", status=200)
        authorizer = str(form.get("authorizer_appid", ""))
        if not any(f.appid == authorizer for f in FIXTURES):
            return error_page("请选择公众号")
        funcsets = sorted({int(v) for v in form.getall("funcset", []) if str(v).isdigit()})
        auth_code = self.approve(app, authorizer, funcsets, code)
        raise web.HTTPFound(with_query(redirect_uri, {"auth_code": auth_code,
                                                      "expires_in": str(AUTH_CODE_TTL_S)}))

    def approve(self, app: ComponentApp, authorizer: str, funcsets: list[int],
                pre_auth_code: str) -> str:
        now = self.state.clock.now()
        previous = app.grants.get(authorizer)
        kind = "updateauthorized" if previous is not None and not previous.revoked \
            else "authorized"
        grant = Grant(authorizer, funcsets, "refreshtoken@@@" + secrets.token_urlsafe(32), now)
        if previous is not None:
            grant.old_refresh_token = previous.refresh_token
            grant.old_valid_until = now + OLD_REFRESH_GRACE_S
        app.grants[authorizer] = grant
        auth_code = "queryauthcode@@@" + secrets.token_urlsafe(32)
        app.auth_codes[auth_code] = AuthCode(authorizer, now + AUTH_CODE_TTL_S)
        self.spawn(self.push(app, kind, {
            "AuthorizerAppid": authorizer, "AuthorizationCode": auth_code,
            "AuthorizationCodeExpiredTime": str(int(now + AUTH_CODE_TTL_S)),
            "PreAuthCode": pre_auth_code}))
        return auth_code

    # ------------------------------------------------------------ control

    async def register(self, request: web.Request) -> web.Response:
        data = await request.json()
        appid = request.match_info["appid"]
        try:
            app = ComponentApp(appid=appid, secret=str(data["secret"]), token=str(data["token"]),
                               aes_key=str(data["aes_key"]), event_url=str(data["event_url"]),
                               domain=str(data["domain"]))
            for name, kind in OPTIONS.items():
                if name in data:
                    setattr(app, name, kind(data[name]))
            if "ip_whitelist" in data:
                app.ip_whitelist = None if data["ip_whitelist"] is None \
                    else [str(ip) for ip in data["ip_whitelist"]]
        except (KeyError, TypeError, ValueError) as err:
            raise web.HTTPBadRequest(text=f"bad component app: {err}") from None
        self.apps[appid] = app
        app.next_push_at = self.state.clock.now() + app.push_interval_s
        if data.get("push_now", True):
            await self.push_ticket(app)
        if self._pusher is None or self._pusher.done():
            self._pusher = asyncio.get_running_loop().create_task(self.pusher())
        return json_reply(self.summary(app))

    async def describe(self, request: web.Request) -> web.Response:
        app = self.apps.get(request.match_info["appid"])
        if app is None:
            raise web.HTTPNotFound()
        return json_reply(self.summary(app))

    def summary(self, app: ComponentApp) -> dict[str, Any]:
        return {"appid": app.appid, "tickets": len(app.tickets), "pushes": app.pushes[-50:],
                "tokens_today": app.tokens_today,
                "grants": {g.authorizer: {"funcsets": g.funcsets, "revoked": g.revoked}
                           for g in app.grants.values()}}

    async def push_now(self, request: web.Request) -> web.Response:
        app = self.apps.get(request.match_info["appid"])
        if app is None:
            raise web.HTTPNotFound()
        ok = await self.push_ticket(app)
        return json_reply({"ok": ok})

    async def revoke(self, request: web.Request) -> web.Response:
        app = self.apps.get(request.match_info["appid"])
        grant = app.grants.get(request.match_info["authorizer"]) if app else None
        if app is None or grant is None:
            raise web.HTTPNotFound()
        grant.revoked = True
        ok = await self.push(app, "unauthorized", {"AuthorizerAppid": grant.authorizer})
        return json_reply({"ok": ok})

    # ------------------------------------------------------------ pushes

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def pusher(self) -> None:
        """Every app's ticket on its interval, on the sandbox clock (checked twice a second, so
        a test moving the clock forward gets its push at once)."""
        while self.apps:
            now = self.state.clock.now()
            for app in list(self.apps.values()):
                if now >= app.next_push_at:
                    app.next_push_at = now + app.push_interval_s
                    self.spawn(self.push_ticket(app))
            await asyncio.sleep(0.5)

    async def push_ticket(self, app: ComponentApp) -> bool:
        ticket = "ticket@@@" + secrets.token_urlsafe(48)
        app.tickets[ticket] = self.state.clock.now()
        return await self.push(app, "component_verify_ticket",
                               {"ComponentVerifyTicket": ticket})

    async def push(self, app: ComponentApp, info_type: str, fields: dict[str, str]) -> bool:
        """One encrypted push to the app's event URL; True when the answer was ``success``."""
        xml = (f"<xml><AppId><![CDATA[{app.appid}]]></AppId>"
               f"<CreateTime>{int(self.state.clock.now())}</CreateTime>"
               f"<InfoType><![CDATA[{info_type}]]></InfoType>"
               + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
               + "</xml>").encode()
        sealed = encrypt(app.aes_key, app.appid, xml)
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
        query = {"signature": signature(app.token, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "encrypt_type": "aes",
                 "msg_signature": signature(app.token, timestamp, nonce, sealed)}
        body = (f"<xml><AppId><![CDATA[{app.appid}]]></AppId>"
                f"<Encrypt><![CDATA[{sealed}]]></Encrypt></xml>").encode()
        record: dict[str, Any] = {"info_type": info_type, "ok": False}
        try:
            timeout = aiohttp.ClientTimeout(total=PUSH_TIMEOUT_S)
            async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                    app.event_url, params=query, data=body,
                    headers={"Content-Type": "text/xml"}) as answer:
                text = await answer.text()
                record.update(status=answer.status, ok=answer.status == 200 and text == "success")
        except (aiohttp.ClientError, TimeoutError) as err:
            record["error"] = type(err).__name__
        app.pushes.append(record)
        return bool(record["ok"])


def fixture_of(appid: str) -> Fixture:
    return next(f for f in FIXTURES if f.appid == appid)


def func_info(funcsets: list[int]) -> list[dict[str, Any]]:
    return [{"funcscope_category": {"id": fid}} for fid in funcsets]


def with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def json_reply(payload: dict[str, Any]) -> web.Response:
    return web.Response(body=json.dumps(payload, ensure_ascii=False).encode(),
                        content_type="application/json", charset="utf-8")


def error_page(message: str, *, status: int = 400) -> web.Response:
    page = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>授权</title>'
            f'</head><body><p class="error">{html.escape(message)}</p></body></html>')
    return web.Response(text=page, status=status, content_type="text/html")
