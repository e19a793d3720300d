"""Weibo (微博): statuses/share to post, statuses/destroy to withdraw
(docs/platforms/weibo.md).

Wire contract, as sent:

- ``POST {api_base}/2/statuses/share.json`` with ``access_token``, ``status`` and ``rip``;
  ``application/x-www-form-urlencoded``, or ``multipart/form-data`` with a ``pic`` part when the
  post has a picture. ``status`` is URL-encoded before the form encoding, as the wiki demands
  ("必须做URLencode"; the wiki's own multipart sample carries it percent-encoded).
- ``status`` = the channel's text + `` `` + the public link with ``?d=<marker>``
  (:func:`channels.weibo.compose_status`): the marker is what ``lookup`` looks for.
- ``remote_id`` = ``idstr`` (ids exceed 2**53, never read them as numbers);
  ``url`` = ``https://weibo.com/<uid>/<mid>``.
- ``GET show.json?id=`` for status, ``POST destroy.json`` ``id=`` to withdraw,
  ``GET user_timeline.json`` (newest first, ``LOOKUP_PAGES`` pages of 100) for lookup.
- ``access_token`` travels as a form/query parameter; ``adapters.http.call`` never logs queries.

Decisions where Weibo's documentation leaves a choice:

- Tokens cannot be refreshed by the hub (no refresh token for web apps): every token error
  (21301, 21314-21317, 21319, 21327, 21332, 10013, 20003) is ``AuthFailed`` at once.
- ``20019 repeat content!``: the text carries this delivery's marker, so an identical previous
  post is this delivery's own earlier attempt. The adapter looks the marker up and returns
  that post's receipt; only when it cannot be found is it ``ContentRejected``.
- ``20032`` (accepted, published later) and a gateway 5xx without Weibo's error envelope on
  share.json are ``OutcomeUnknown``: the post may exist, look it up before resending. A 200
  whose body cannot be read is ``OutcomeUnknown`` too.
- Rate limits (10022/10023/10024 hourly, 20016 content frequency, HTTP 429) are ``RateLimited``;
  without ``Retry-After`` the hourly ones wait for the next clock hour.
- Withdraw: the public ``destroy.json`` is used by client code but only its commercial twin is
  documented today (unconfirmed). ``withdraw`` is on by default; a deployment whose app lacks
  the permission passes ``withdraw=False`` (capability off, ``Unsupported`` → manual task), and
  a permission refusal from destroy.json (10005/10014/10020/10021) is ``Unsupported`` as well.
- ``rip`` (the acting user's IP) is unknown at fan-out: the account's ``rip`` credential, else
  the adapter's ``rip`` (the hub's egress address).
- Lookup reads the long link in ``text``. Weibo may shorten links to ``t.cn`` in returned texts
  (unconfirmed for share.json); then lookup finds nothing, and resending risks ``20019``,
  which the repeat handling above turns into ``ContentRejected`` rather than a double post.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp

from adapters.base import (
    AccountMisconfigured,
    AccountRef,
    AdapterError,
    AuthFailed,
    Capabilities,
    CommentPage,
    ContentRejected,
    Interaction,
    NoInteraction,
    OutcomeUnknown,
    PostRef,
    RateLimited,
    Receipt,
    RemoteComment,
    Retryable,
    SentReply,
    TokenCache,
    Unsupported,
)
from adapters.http import DEFAULT_TIMEOUT, HttpReply, call, retry_after_seconds
from adapters.multipart import FileParts, encode_form
from adapters.spec import CredentialField, PlatformSpec, Rate
from channels.weibo import MARKER_PARAM, compose_status

if TYPE_CHECKING:
    from channels.base import Post

PLATFORM = "weibo"
SHARE = "/2/statuses/share.json"
DESTROY = "/2/statuses/destroy.json"
SHOW = "/2/statuses/show.json"
TIMELINE = "/2/statuses/user_timeline.json"
WEB_BASE = "https://weibo.com"
DEFAULT_RIP = "127.0.0.1"
TIMELINE_PAGE_SIZE = 100
COMMENTS_SHOW = "/2/comments/show.json"
COMMENTS_REPLY = "/2/comments/reply.json"
# Refusals of a reply that are final for it.
REPLY_REFUSED = {
    20012: ("回复超过140字", "more than 140 characters"),
    20201: ("评论不存在", "the comment does not exist"),
    20202: ("评论不合法", "illegal comment"),
    20204: ("评论编号为空", "no comment id"),
    20101: ("微博已不存在", "the post no longer exists"),
}
LOOKUP_PAGES = 2
CONTENT_FREQUENCY_WAIT_S = 600.0

CAPABILITIES = Capabilities(
    publish=True,
    withdraw=True,
    status_polling=False,
    lookup=True,
    notes=(
        "每个账号每小时最多发30条微博；删除接口需应用具备权限，未获授权时转为人工任务 "
        "(at most 30 posts per account per hour; deletion needs the app's permission, "
        "otherwise it becomes a manual task)"
    ),
    interaction=Interaction(
        list_comments=True, comment_page_max=50, can_reply_comment=True, reply_max_chars=140,
        replies_per_hour=60,
        notes=(
            "评论需轮询（comments/show）；回复不超过140字，每个账号每小时约60条；只能删除本账号发布的评论 "
            "(comments are polled; replies at most 140 characters, about 60 an hour per account; "
            "only the account's own comments can be deleted)"
        ),
    ),
)

# code -> (zh, en) per class; the platform's own error text is appended to the English part.
AUTH_CODES = {
    21301: ("授权失败", "authorisation failed"),
    21314: ("授权令牌已被使用", "token used"),
    21315: ("授权已过期", "token expired"),
    21316: ("授权已被撤销", "token revoked"),
    21317: ("授权被拒绝", "token rejected"),
    21319: ("用户已取消授权", "authorisation cancelled by the user"),
    21327: ("授权已过期", "token expired"),
    21332: ("授权令牌无效", "invalid access token"),
    10013: ("微博用户无效", "invalid Weibo user"),
    20003: ("微博用户不存在", "user does not exist"),
}
RATE_CODES = {
    10022: ("本机IP调用超出频次限制", "IP over the hourly rate limit"),
    10023: ("账号调用超出频次限制", "user over the hourly rate limit"),
    10024: ("账号发博超出频次限制", "user over the hourly posting limit"),
    20016: ("发布内容过于频繁", "posting too often"),
    20022: ("本机IP行为异常，被暂时限制", "IP flagged as unruly"),
}
TRANSIENT_CODES = {
    10001: ("微博系统错误", "system error"),
    10002: ("微博服务暂停", "service unavailable"),
    10003: ("微博远程服务错误", "remote service error"),
    10009: ("微博系统繁忙", "system busy"),
    10010: ("微博任务过期", "job expired"),
}
MISCONFIGURED_CODES = {
    10004: ("本机IP被禁止访问", "IP not allowed"),
    10005: ("应用权限不足，需要高级应用", "permission denied, needs a higher-level app"),
    10006: ("缺少应用标识", "appkey missing"),
    10014: ("应用权限不足", "insufficient app permissions"),
    10017: (
        "链接不在应用的安全域名内，请在微博开放平台绑定域名",
        "link outside the app's safe domain",
    ),
    10020: ("接口不存在，请检查接口地址", "API not found: check the API base"),
    10021: ("请求方法不被支持，请检查接口地址", "HTTP method not supported: check the API base"),
    20102: ("该微博不属于当前授权账号", "not this account's post"),
    21321: ("未审核应用的用户数超出限制", "unaudited app over its user limit"),
}
CONTENT_CODES = {
    10008: ("参数错误（可能含#话题#）", "parameter error"),
    10016: ("缺少必填参数", "missing parameter"),
    10018: ("请求体过大", "request body too large"),
    20005: ("图片格式不支持，只能是JPG/GIF/PNG", "unsupported image type"),
    20006: ("图片过大", "image too large"),
    20007: ("图片未按multipart上传", "image not sent as multipart"),
    20008: ("内容为空", "content is empty"),
    20012: ("正文超过140字", "text longer than 140 characters"),
    20017: ("与已发内容相似", "similar content"),
    20018: ("含有非法网址", "contains an illegal website"),
    20019: ("与上一条微博内容重复", "repeat content"),
    20020: ("含有广告内容", "contains advertising"),
    20021: ("内容含违规信息", "content is illegal"),
    20111: ("微博内容重复", "repeated weibo text"),
}
# A destroy.json refusal of these means the app may not delete by API: a person must.
WITHDRAW_FORBIDDEN = {10005, 10014, 10020, 10021}
AUTH_PREFIX = 213  # 213xx: OAuth errors not listed above
GATEWAY_STATUSES = {502, 504}


class WeiboAdapter(NoInteraction):
    platform = PLATFORM

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: TokenCache,
        *,
        withdraw: bool = True,
        rip: str = DEFAULT_RIP,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.session = session
        self.tokens = tokens  # unused: Weibo tokens are per user and cannot be refreshed
        self.withdraw_enabled = withdraw
        self.rip = rip
        self.timeout = timeout
        self.capabilities = CAPABILITIES if withdraw else withdraw_off(CAPABILITIES)
        self._files = FileParts()  # every account posts the same picture

    async def publish(self, account: AccountRef, post: Post, *, marker: str) -> Receipt:
        token = access_token(account)
        status = compose_status(post.fields["text"], post.fields["link"], marker)
        form = {
            "access_token": token,
            "status": quote(status, safe=""),
            "rip": account.credentials.get("rip") or self.rip,
        }
        body, headers = share_body(form, post, self._files)
        reply = await call(
            self.session,
            "POST",
            endpoint(account, SHARE),
            platform=PLATFORM,
            timeout=self.timeout,
            data=body,
            headers=headers,
        )
        if not reply.ok or has_error(reply):
            code = error_code(reply)
            if code == 20019:
                found = await self.lookup(account, marker)
                if found is not None:
                    return found
            if code == 20032:
                raise OutcomeUnknown(
                    "微博已受理但延迟发布，稍后核对 (Weibo accepted the post but publishes it "
                    "later: check before resending)",
                    code=code,
                )
            if code is None and reply.status in GATEWAY_STATUSES:
                raise OutcomeUnknown(
                    f"微博网关错误，发布结果未知 (gateway error HTTP {reply.status}: the post "
                    "may exist)",
                    code=reply.status,
                )
            raise failure(reply)
        body = reply.json
        if not isinstance(body, Mapping) or not status_id(body):
            raise OutcomeUnknown(
                "微博返回无法解析，发布结果未知 (unreadable answer to share.json: the post may exist)"
            )
        return receipt_of(body)

    async def status(self, account: AccountRef, remote_id: str) -> Receipt:
        reply = await call(
            self.session,
            "GET",
            endpoint(account, SHOW),
            platform=PLATFORM,
            timeout=self.timeout,
            params={"access_token": access_token(account), "id": remote_id},
        )
        if not reply.ok or has_error(reply):
            if error_code(reply) == 20101:
                return Receipt(remote_id=remote_id, state="deleted")
            raise failure(reply)
        body = reply.json
        if not isinstance(body, Mapping) or not status_id(body):
            raise Retryable("微博返回无法解析 (unreadable answer to show.json)")
        if str(body.get("deleted", "")) in ("1", "true", "True"):
            return Receipt(remote_id=remote_id, url=weibo_url(body), state="deleted")
        return receipt_of(body)

    async def withdraw(self, account: AccountRef, remote_id: str) -> None:
        if not self.withdraw_enabled:
            raise Unsupported(
                "本部署未开通微博删除接口，请人工删除 (Weibo deletion by API is off here: "
                "delete the post by hand)"
            )
        reply = await call(
            self.session,
            "POST",
            endpoint(account, DESTROY),
            platform=PLATFORM,
            timeout=self.timeout,
            data={"access_token": access_token(account), "id": remote_id},
        )
        if reply.ok and not has_error(reply):
            return
        code = error_code(reply)
        if code == 20101:
            return  # already gone
        if code in WITHDRAW_FORBIDDEN:
            zh, en = MISCONFIGURED_CODES[code]
            raise Unsupported(
                f"{zh}，无法通过接口删除，请人工删除 (Weibo refused deletion by API: {en}; "
                "delete the post by hand)",
                code=code,
            )
        raise failure(reply)

    async def list_comments(self, account: AccountRef, post: PostRef, cursor: str | None, *,
                            count: int) -> CommentPage:
        """``comments/show`` answers newest first; ``since_id`` keeps the place. A pass that
        finds more new comments than one page walks back with ``max_id``: the cursor is
        ``"<since_id>"`` between passes and ``"<since_id>:<max_id>:<highest>"`` within one."""
        since, max_id, highest = parse_weibo_cursor(cursor)
        params: dict[str, Any] = {"access_token": access_token(account), "id": post.remote_id,
                                  "since_id": since, "count": count, "page": 1}
        if max_id:
            params["max_id"] = max_id
        reply = await call(self.session, "GET", endpoint(account, COMMENTS_SHOW),
                           platform=PLATFORM, timeout=self.timeout, params=params)
        if not reply.ok or has_error(reply):
            if error_code(reply) == 20101:
                raise Unsupported("微博已不存在 (the post no longer exists)", code=20101)
            raise failure(reply)
        body = reply.json if isinstance(reply.json, Mapping) else {}
        raw = body.get("comments")
        if not isinstance(raw, list):
            raise Retryable("微博返回无法解析 (unreadable answer to comments/show.json)")
        comments = [weibo_comment(c) for c in raw if isinstance(c, Mapping) and comment_id(c)]
        ids = [int(c.comment_id) for c in comments]
        highest = max([highest, *ids]) if ids else highest
        if len(raw) >= count and ids:  # maybe more, older ones: walk back from the oldest
            return CommentPage(tuple(reversed(comments)),
                               cursor=f"{since}:{min(ids) - 1}:{highest}", has_more=True)
        return CommentPage(tuple(reversed(comments)), cursor=str(max(highest, since)))

    async def reply_comment(self, account: AccountRef, post: PostRef, comment_id: str,
                            text: str) -> SentReply:
        """``comments/reply.json``: at most 140 characters, counted against the user's
        hourly comment limit (10024). ``without_mention``: the reply does not start with
        "回复@用户名"."""
        form = {"access_token": access_token(account), "cid": comment_id, "id": post.remote_id,
                "comment": quote(text, safe=""), "without_mention": "1", "comment_ori": "0",
                "rip": account.credentials.get("rip") or self.rip}
        reply = await call(self.session, "POST", endpoint(account, COMMENTS_REPLY),
                           platform=PLATFORM, timeout=self.timeout, data=form)
        if not reply.ok or has_error(reply):
            code = error_code(reply)
            if code in REPLY_REFUSED:
                zh, en = REPLY_REFUSED[code]
                raise ContentRejected(f"微博拒绝回复：{zh} (Weibo refused the reply: {en})",
                                      code=code)
            raise failure(reply)
        body = reply.json if isinstance(reply.json, Mapping) else {}
        return SentReply(remote_id=comment_id_of(body) or None, sent_at=datetime.now(UTC))

    async def lookup(self, account: AccountRef, marker: str) -> Receipt | None:
        token = access_token(account)
        pattern = marker_pattern(marker)
        for page in range(1, LOOKUP_PAGES + 1):
            reply = await call(
                self.session,
                "GET",
                endpoint(account, TIMELINE),
                platform=PLATFORM,
                timeout=self.timeout,
                params={"access_token": token, "count": TIMELINE_PAGE_SIZE, "page": page},
            )
            if not reply.ok or has_error(reply):
                raise failure(reply)
            statuses = reply.json.get("statuses") if isinstance(reply.json, Mapping) else None
            if not isinstance(statuses, list):
                raise Retryable("微博返回无法解析 (unreadable answer to user_timeline.json)")
            for status in statuses:
                if isinstance(status, Mapping) and pattern.search(str(status.get("text", ""))):
                    return receipt_of(status)
            if len(statuses) < TIMELINE_PAGE_SIZE:
                return None
        return None


# ---------------------------------------------------------------- requests


def access_token(account: AccountRef) -> str:
    token = account.credentials.get("access_token")
    if not token:
        raise AccountMisconfigured(
            "微博账号缺少 access_token，请重新授权 (the Weibo account has no access_token: "
            "authorise it again)"
        )
    return token


def endpoint(account: AccountRef, path: str) -> str:
    if not account.api_base:
        raise AccountMisconfigured("微博账号缺少接口地址 (the Weibo account has no API base)")
    return account.api_base.rstrip("/") + path


def share_body(form: dict[str, str], post: Post,
               files: FileParts) -> tuple[dict[str, str] | bytes, dict[str, str] | None]:
    """Urlencoded without a picture; multipart with the ``pic`` part otherwise.
    Returns the body and the headers it needs."""
    pic_name = post.fields.get("pic")
    blob = next((blob for blob in post.media if blob.name == pic_name), None)
    if blob is None:
        return form, None
    encoded = encode_form(list(form.items()), files.get("pic", blob))
    return encoded.body, encoded.headers


def marker_pattern(marker: str) -> re.Pattern[str]:
    value = re.escape(quote(marker, safe=""))
    return re.compile(rf"[?&]{MARKER_PARAM}={value}(?![\w.~%-])")


# ---------------------------------------------------------------- answers


def parse_weibo_cursor(cursor: str | None) -> tuple[int, int, int]:
    parts = [int(p) if p.isdigit() else 0 for p in (cursor or "0").split(":")]
    since = parts[0]
    return since, (parts[1] if len(parts) > 1 else 0), (parts[2] if len(parts) > 2 else since)


def comment_id_of(raw: Mapping[str, Any]) -> str:
    return comment_id(raw) if raw else ""


def comment_id(raw: Mapping[str, Any]) -> str:
    value = str(raw.get("idstr") or raw.get("id") or "")
    return value if value.isdigit() else ""


def weibo_comment(raw: Mapping[str, Any]) -> RemoteComment:
    """One Comment object. A reply to another comment joins that comment's thread."""
    cid = comment_id(raw)
    user = raw.get("user") if isinstance(raw.get("user"), Mapping) else {}
    parent = raw.get("reply_comment")
    thread = comment_id(parent) if isinstance(parent, Mapping) else ""
    return RemoteComment(
        remote_id=cid, thread_id=thread or cid, comment_id=cid, text=str(raw.get("text") or ""),
        created_at=weibo_time(str(raw.get("created_at") or "")),
        user_id=str(user.get("idstr") or user.get("id") or "") or None,
        author_name=str(user.get("screen_name") or "") or None)


def weibo_time(text: str) -> datetime:
    """``Wed Jun 01 00:50:25 +0800 2011``; now when unreadable."""
    try:
        return datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        return datetime.now(UTC)


def has_error(reply: HttpReply) -> bool:
    return isinstance(reply.json, Mapping) and reply.json.get("error_code") not in (None, "", 0)


def error_code(reply: HttpReply) -> int | None:
    """Weibo's ``error_code``, a number or a numeric string; None without an envelope."""
    if not isinstance(reply.json, Mapping):
        return None
    raw = reply.json.get("error_code")
    if isinstance(raw, bool):
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        return None


def failure(reply: HttpReply) -> AdapterError:
    """The taxonomy error for a refused call (20101/20019/20032 are handled by the callers)."""
    code = error_code(reply)
    if code is None:
        return http_failure(reply)
    said = platform_text(reply)
    if code in AUTH_CODES:
        zh, en = AUTH_CODES[code]
        return AuthFailed(f"微博{zh}，请重新授权 (Weibo: {en}{said}; authorise again)", code=code)
    if code in RATE_CODES:
        zh, en = RATE_CODES[code]
        wait = retry_after_seconds(reply.headers, default=rate_wait(code))
        return RateLimited(f"{zh} (Weibo: {en}{said})", retry_after=wait, code=code)
    if code in TRANSIENT_CODES:
        zh, en = TRANSIENT_CODES[code]
        return Retryable(f"{zh}，稍后重试 (Weibo: {en}{said})", code=code, cause="busy")
    if code in MISCONFIGURED_CODES:
        zh, en = MISCONFIGURED_CODES[code]
        return AccountMisconfigured(f"{zh} (Weibo: {en}{said})", code=code)
    if code in CONTENT_CODES:
        zh, en = CONTENT_CODES[code]
        return ContentRejected(
            f"微博拒绝发布：{zh} (Weibo refused the post: {en}{said})", code=code
        )
    if code // 100 == AUTH_PREFIX:
        return AuthFailed(
            f"微博授权失败，请重新授权 (Weibo: authorisation failed{said})", code=code
        )
    if code == 20031:
        return Unsupported(
            f"微博要求人工验证，请人工发布 (Weibo asks for a captcha{said}: post by hand)",
            code=code,
        )
    if reply.status >= 500:
        return Retryable(f"微博暂时不可用 (Weibo error{said}, HTTP {reply.status})", code=code,
                         cause="unavailable")
    return ContentRejected(f"微博拒绝了请求 (Weibo refused the request{said})", code=code)


def http_failure(reply: HttpReply) -> AdapterError:
    """A refusal without Weibo's envelope: a gateway, a proxy or the wrong API base."""
    status = reply.status
    if status == 429:
        return RateLimited(
            "微博限流，稍后重试 (Weibo rate limit: HTTP 429)",
            retry_after=retry_after_seconds(reply.headers, default=60.0),
            code=status,
        )
    if status == 401:
        return AuthFailed(
            "微博拒绝授权，请重新授权 (Weibo answered HTTP 401: authorise again)", code=status
        )
    if status in (404, 405) or 300 <= status < 400:
        return AccountMisconfigured(
            f"微博接口地址有误 (the Weibo API base looks wrong: HTTP {status})", code=status
        )
    if reply.ok:
        return Retryable(
            f"微博返回无法解析 (unreadable answer from Weibo, HTTP {status})", code=status
        )
    if status >= 500:
        return Retryable(f"微博暂时不可用 (Weibo answered HTTP {status})", code=status,
                         cause="unavailable")
    return Retryable(f"微博暂时不可用 (Weibo answered HTTP {status})", code=status)


def platform_text(reply: HttpReply) -> str:
    said = reply.json.get("error") if isinstance(reply.json, Mapping) else None
    code = error_code(reply)
    return f": {str(said)[:120]} [{code}]" if said else f" [{code}]"


def rate_wait(code: int, now: float | None = None) -> float:
    """Hourly limits reopen at the next clock hour; content frequency after a while."""
    if code == 20016:
        return CONTENT_FREQUENCY_WAIT_S
    now = time.time() if now is None else now
    return max(3600 - now % 3600, 60.0)


def status_id(status: Mapping[str, Any]) -> str:
    """``idstr`` first: ``id`` exceeds 2**53 and JSON readers elsewhere may have rounded it."""
    return str(status.get("idstr") or status.get("mid") or status.get("id") or "")


def weibo_url(status: Mapping[str, Any]) -> str | None:
    user = status.get("user")
    uid = (user.get("idstr") or user.get("id")) if isinstance(user, Mapping) else None
    if not uid:
        return None
    return f"{WEB_BASE}/{uid}/{status.get('mid') or status_id(status)}"


def receipt_of(status: Mapping[str, Any]) -> Receipt:
    user = status.get("user")
    uid = (user.get("idstr") or user.get("id")) if isinstance(user, Mapping) else None
    return Receipt(
        remote_id=status_id(status),
        url=weibo_url(status),
        state="published",
        extra={"uid": str(uid) if uid else None, "mid": str(status.get("mid") or "") or None},
    )


def withdraw_off(capabilities: Capabilities) -> Capabilities:
    return replace(
        capabilities,
        withdraw=False,
        notes=capabilities.notes + "；本部署未开通删除接口 (deletion by API is off here)",
    )


def identity(credentials: Mapping[str, str]) -> str:
    """The uid when given, else the token itself: the same token is the same user."""
    uid = (credentials.get("uid") or "").strip()
    if uid:
        return "uid:" + uid
    token = (credentials.get("access_token") or "").strip()
    return "token:" + token if token else ""


def seed_credentials(index: int, sandbox: str) -> dict[str, str]:
    return {"access_token": f"2.00{secrets.token_hex(16)}", "uid": str(5_000_000_000 + index)}


SPEC = PlatformSpec(
    name=PLATFORM, label_zh="微博", label_en="Weibo",
    channel="channels.weibo:WeiboChannel", adapter="adapters.weibo:WeiboAdapter",
    reach="adapters.weibo_reach:WeiboReach",
    capabilities=CAPABILITIES,
    credentials=(CredentialField("access_token"),
                 CredentialField("uid", required=False, secret=False),
                 CredentialField("rip", required=False, secret=False)),
    identity=identity, external_id=lambda c: c.get("uid"),
    app_budget=Rate(3000, 3000), account_budget=Rate(5, 10),
    api_base="https://api.weibo.com", api_hosts=("api.weibo.com",),
    emulator="sandbox.weibo", seed_share=0.30, seed_credentials=seed_credentials,
)
