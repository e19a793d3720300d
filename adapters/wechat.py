"""WeChat official account (微信公众号): draft -> 发布 (freepublish),
docs/platforms/wechat.md.

Publishing, as sent:

1. ``POST /cgi-bin/material/add_material?type=image`` (multipart ``media``): the cover; its
   permanent ``media_id`` becomes ``thumb_media_id``.
2. ``POST /cgi-bin/media/uploadimg`` per in-body image; the returned URL replaces the
   channel's ``{{media:<name>}}`` placeholder.
3. ``POST /cgi-bin/draft/add`` with ``content_source_url`` = the channel's URL plus
   ``d=<marker>`` (what ``lookup`` matches), then ``POST /cgi-bin/freepublish/submit``.

Publishing is asynchronous: ``publish`` returns ``Receipt(state="pending_review",
remote_id=<publish_id>)`` at once rather than polling, because ``freepublish/get`` is limited to
100 calls a day; ``status`` polls it (0 published, 1 pending, 2/3/4 rejected, 5/6 deleted).
Once published, receipts carry ``remote_id="article:<article_id>"`` (``freepublish/batchget``
lists articles, not publish ids, so ``lookup`` answers in that form too); ``status`` and
``withdraw`` accept both forms, and the article form costs no ``freepublish/get`` call.
Withdrawal is ``freepublish/delete`` of every article of the publish; an article that is
already gone (``40007``), a publish that failed or was deleted count as done.

Tokens: ``/cgi-bin/stable_token`` in normal mode only (never ``force_refresh``, never the
classic ``/token``, both of which would invalidate tokens other workers are using), cached in
the shared ``TokenCache`` under ``wechat:<appid>:<fingerprint of appid, secret and API base>``
(``adapters.cachekeys``: an account naming another's appid with a wrong secret or another API
base never finds that account's token). A cold fetch needs no lock: stable_token hands
concurrent callers the same token; a refresh takes that key's lock. On
``40001/40014/42001`` the token is refreshed once (unless another worker already did) and the
call repeated once; a second refusal is ``AuthFailed``.

Error classes: ``-1`` and unknown codes → Retryable; ``45009`` → RateLimited until
midnight China time; ``45011`` → RateLimited 60 s; ``40125/40243`` and token refusals after
the refresh → AuthFailed; ``40013/40164/41001/41002/41004/48004`` → AccountMisconfigured;
``48001`` → Unsupported; content and format codes → ContentRejected. A 2xx answer that is not
a JSON object is Retryable, except for ``freepublish/submit`` where the post may exist
(OutcomeUnknown: look up before resending); so is a 502/504 there.
"""

from __future__ import annotations

import asyncio
import html
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
    RemoteReply,
    Retryable,
    SentReply,
    TokenCache,
    Unsupported,
    go_ahead,
)
from adapters.cachekeys import secret_bound_key
from adapters.http import DEFAULT_TIMEOUT, HttpReply, call, retry_after_seconds
from adapters.multipart import EncodedForm, FileParts, encode_form
from adapters.spec import CredentialField, PlatformSpec, Rate
from adapters.tokens import TokenRefreshes
from adapters.wechat_component import (
    SCOPE_MISSING,
    AuthorizationRevoked,
    ComponentClient,
    ScopeMissing,
)
from adapters.wechat_crypto import AES_KEY_RE

if TYPE_CHECKING:
    from channels.base import MediaBlob, Post

PLATFORM = "wechat"
DEFAULT_API_BASE = "https://api.weixin.qq.com"
MARKER_PARAM = "d"
ARTICLE_PREFIX = "article:"
TOKEN_KEY_PREFIX = "wechat:"
MEMO_KEY_PREFIX = "wechat-memo:"
RECENT_TOKEN_S = 60.0  # how long this process reuses a token without asking Redis
RECENT_TOKENS_MAX = 50_000
TOKEN_MARGIN_S = 300  # stop using a token this long before WeChat says it expires
LOOKUP_PAGE_SIZE = 20  # freepublish/batchget maximum
LOOKUP_PAGES = 5  # the 100 most recent publishes; batchget is limited to 100 calls a day
CHINA_UTC_OFFSET_S = 8 * 3600

TOKEN_REFUSED = frozenset({40001, 40014, 42001})
GONE = 40007  # invalid media_id / article id: what deleting a deleted article answers
AUTH_FAILED = {
    40125: "AppSecret 错误或已重置 (invalid AppSecret)",
    40243: "AppSecret 已被冻结 (AppSecret frozen)",
}
MISCONFIGURED = {
    40013: "AppID 无效 (invalid AppID)",
    40164: "调用接口的服务器IP不在公众号白名单中 (server IP not in the account's IP whitelist)",
    41001: "缺少 access_token (access_token missing)",
    41002: "缺少 AppID (AppID missing)",
    41004: "缺少 AppSecret (AppSecret missing)",
    48004: "公众号接口因违规被封禁 (API access banned for irregularities)",
}
CONTENT_REJECTED = {
    40004: "素材类型不被接受 (invalid media type)",
    40005: "图片格式不被接受 (invalid file type)",
    40006: "文件大小不被接受 (invalid media size)",
    40007: "封面或素材ID无效 (invalid media_id)",
    40009: "图片大小超出限制 (invalid image size)",
    41005: "缺少上传的文件 (media data missing)",
    44003: "图文内容为空 (empty news data)",
    45001: "素材大小超出限制 (media size out of limit)",
    45002: "正文超出长度限制 (content size out of limit)",
    45003: "标题超出长度限制 (title size out of limit)",
    45004: "摘要超出长度限制 (digest size out of limit)",
    45005: "原文链接超出长度限制 (source URL out of limit)",
    45008: "图文数量超出限制 (too many articles)",
    45110: "作者超出长度限制 (author size out of limit)",
    45166: "内容不合规 (invalid content)",
    47001: "数据格式错误 (data format error)",
    53402: "封面裁剪失败 (cover crop failed)",
    53503: "草稿未通过发布检查 (the draft failed the publish check)",
    53504: "需到公众平台官网使用草稿 (the draft must be used on the MP web console)",
    53505: "需先在公众平台官网手动保存草稿 (save the draft on the MP web console first)",
}
PUBLISH_FAILED = {
    2: "原创校验未通过 (originality check failed)",
    3: "发布失败 (publishing failed)",
    4: "平台审核未通过 (rejected by platform review)",
}
REMOVED = {
    5: "文章已被删除 (deleted)",
    6: "文章已被平台封禁 (banned by the platform)",
}

CAPABILITIES = Capabilities(
    publish=True,
    withdraw=True,
    status_polling=True,
    status_names_post=True,
    lookup=True,
    notes=(
        "草稿+发布（freepublish），发布为异步，需轮询状态（每日100次）；撤稿为删除已发布文章"
        "（每日10次，未认证订阅号无权限时需人工操作） (draft + freepublish; asynchronous "
        "publish polled via freepublish/get, 100/day; withdrawal deletes the article, 10/day)"
    ),
    interaction=Interaction(
        list_comments=True, comment_page_max=49, receive_messages=True,
        can_reply_comment=True, one_reply_per_comment=True, can_elect=True, can_hide=True,
        can_send_message=True, message_reply_window_h=48,
        notes=(
            "留言需认证账号且文章已开启留言，需轮询（comment/list，每页最多49条）；每条留言仅可回复一次；"
            "用户消息由平台推送到消息服务器，客服消息须在用户最后一条消息后48小时内发送 "
            "(comments need a verified account with comments open and are polled, at most 49 a page; "
            "one reply per comment; users' messages are pushed to the message server and answered "
            "by customer-service message within 48 h of the user's last one)"
        ),
    ),
)


MEMO_TTL_S = 3 * 86400


class StepMemo:
    """Remembers what one publish already created on WeChat (permanent cover material, hosted
    in-body image URLs, the draft) in the shared cache, so a retry after a failure in a later
    step does not upload again: fewer calls, and no orphaned materials eating the quota.

    One read before the first step and one write only when the publish fails part-way: the
    common, successful path costs a single extra round trip."""

    def __init__(self, cache: TokenCache, app: App) -> None:
        self.cache = cache
        self.prefix = app.memo_prefix
        self.known: dict[str, str] = {}
        self.made: dict[str, str] = {}
        self.reused: list[str] = []

    async def load(self, keys: list[str]) -> None:
        values = await self.cache.get_many([self.prefix + key for key in keys])
        self.known = {key: value for key, value in zip(keys, values, strict=True) if value}

    async def remember(self, key: str, make: Callable[[], Any]) -> str:
        if key in self.known:
            self.reused.append(key)
            return self.known[key]
        value = await make()
        self.made[key] = value
        return value

    async def save(self) -> None:
        if self.made:
            await self.cache.set_many(
                {self.prefix + key: value for key, value in self.made.items()}, MEMO_TTL_S
            )

    async def forget(self, keys: list[str]) -> None:
        for key in keys:
            await self.cache.delete(self.prefix + key)


class LockingTokenCache(TokenCache, Protocol):
    def lock(self, key: str, timeout_s: float = 10) -> AbstractAsyncContextManager[None]: ...


@dataclass(frozen=True)
class App:
    """One account's credentials and API base, as the calls need them. ``refresh_token`` is
    set for an account that authorised the hub's 第三方平台 (``secret`` is then empty): its
    token comes from the component API (``adapters.wechat_component``)."""

    appid: str
    secret: str = field(repr=False)
    base: str
    refresh_token: str = field(default="", repr=False)
    account_id: str = field(default="", compare=False)  # whose refreshes to note

    @property
    def delegated(self) -> bool:
        return bool(self.refresh_token)

    @cached_property
    def token_key(self) -> str:
        """Where this app's token is cached: only these credentials at this base reach it."""
        if self.delegated:
            return secret_bound_key(TOKEN_KEY_PREFIX, self.appid, "component",
                                    self.refresh_token, api_base=self.base)
        return secret_bound_key(TOKEN_KEY_PREFIX, self.appid, self.secret, api_base=self.base)

    @property
    def memo_prefix(self) -> str:
        """Where a publish remembers its uploaded materials: as private as the token."""
        return MEMO_KEY_PREFIX + self.token_key.removeprefix(TOKEN_KEY_PREFIX) + ":"

    def url(self, path: str) -> str:
        """``/datacube/…`` from the API base itself, anything else under ``/cgi-bin/``."""
        if path.startswith("/"):
            return f"{self.base}{path}"
        return f"{self.base}/cgi-bin/{path}"


def app_of(account: AccountRef) -> App:
    return account.derived("wechat.app", _app_of)


def _app_of(account: AccountRef) -> App:
    appid = (account.credentials.get("appid") or "").strip()
    refresh_token = (account.credentials.get("authorizer_refresh_token") or "").strip()
    if appid and refresh_token:
        return App(appid, "", (account.api_base or DEFAULT_API_BASE).rstrip("/"), refresh_token,
                   account.id)
    secret = (account.credentials.get("secret") or "").strip()
    if not appid or not secret:
        raise AccountMisconfigured(
            "公众号缺少 AppID 或 AppSecret (the account has no appid or secret)"
        )
    return _app(appid, secret, (account.api_base or DEFAULT_API_BASE).rstrip("/"))


@lru_cache(maxsize=RECENT_TOKENS_MAX)
def _app(appid: str, secret: str, base: str) -> App:
    """One ``App`` per credentials and base, so its token key (an HMAC) is computed once per
    process, not on every call (3 % of a worker's CPU on a withdrawal)."""
    return App(appid, secret, base)


class WeChatAdapter(NoInteraction):
    platform = PLATFORM
    capabilities = CAPABILITIES

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: LockingTokenCache,
        *,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.session = session
        self.tokens = tokens
        self.timeout = timeout
        # This process's copy of recently used tokens: a publish makes four calls, and asking
        # Redis for the token before each was a third of a worker's CPU. A copy that another
        # worker has since replaced is refused by WeChat and then refreshed from Redis.
        self._recent: dict[str, tuple[str, float]] = {}
        self._fetching: dict[str, asyncio.Future[str]] = {}
        self._files = FileParts()  # every account uploads the same cover and images
        # The hub's 第三方平台 client (set by the worker when the hub is configured as one):
        # the tokens of accounts that authorised it come from there.
        self.component: ComponentClient | None = None
        # Delegated accounts whose token this process fetched (the fan-out records them).
        self.refreshes = TokenRefreshes()

    # ------------------------------------------------------------ interface

    async def warm(self, accounts: Sequence[AccountRef]) -> None:
        """Read the cached tokens of a batch's accounts in one round trip, not one each."""
        apps: dict[str, App] = {}
        now = time.monotonic()
        for account in accounts:
            try:
                app = app_of(account)
            except AccountMisconfigured:
                continue  # its delivery fails on its own, with the reason
            if app.delegated:
                continue  # its token is cached by the component client
            recent = self._recent.get(app.token_key)
            if recent is None or recent[1] <= now:
                apps[app.token_key] = app
        if not apps:
            return
        keys = list(apps)
        for key, token in zip(keys, await self.tokens.get_many(keys), strict=True):
            if token:
                self._keep(apps[key], token)

    async def publish(self, account: AccountRef, post: Post, *, marker: str) -> Receipt:
        app = app_of(account)
        fields = post.fields
        blobs = {blob.name: blob for blob in post.media}
        memo = StepMemo(self.tokens, app)
        cover_blob = blob_named(blobs, fields["cover"])
        inline = [blob_named(blobs, name) for name in fields.get("inline_images", ())]
        draft_key = f"draft:{marker}:{post.content_hash}"
        await memo.load(
            [f"cover:{cover_blob.sha256}", *(f"img:{b.sha256}" for b in inline), draft_key]
        )
        try:
            cover_id = await memo.remember(
                f"cover:{cover_blob.sha256}", lambda: self._upload_cover(app, cover_blob)
            )
            article = dict(fields["article"])
            content = article["content"]
            for blob in inline:
                url = await memo.remember(
                    f"img:{blob.sha256}", lambda b=blob: self._upload_inline(app, b)
                )
                content = content.replace("{{media:" + blob.name + "}}", html.escape(url))
            article["content"] = content
            article["thumb_media_id"] = cover_id
            article["content_source_url"] = with_marker(article["content_source_url"], marker)
            go_ahead()
            media_id = await memo.remember(draft_key, lambda: self._add_draft(app, article))
            go_ahead()  # the submit makes it public
            submitted = await self._call(
                app, "freepublish/submit", json={"media_id": media_id}, creates_post=True
            )
        except ContentRejected as err:
            if err.code != GONE or not memo.reused:
                await memo.save()
                raise
            # A remembered material or draft no longer exists on WeChat (deleted by hand, or
            # the draft was used): forget what this post reused and build it again.
            await memo.forget(memo.reused)
            raise Retryable(
                "微信素材或草稿已失效，将重新上传 (a remembered material or draft is gone; "
                "rebuilding)",
                code=GONE,
            ) from None
        except AdapterError:
            await memo.save()
            raise
        if draft_key in memo.reused:
            await memo.forget([draft_key])  # submit consumed the draft
        publish_id = str(required(submitted, "publish_id", "freepublish/submit"))
        return Receipt(
            remote_id=publish_id,
            state="pending_review",
            extra={"draft_media_id": media_id, "msg_data_id": submitted.get("msg_data_id")},
        )

    async def _upload_cover(self, app: App, blob: MediaBlob) -> str:
        cover = await self._call(
            app, "material/add_material", params={"type": "image"}, form=self._media_form(blob)
        )
        return str(required(cover, "media_id", "material/add_material"))

    async def _upload_inline(self, app: App, blob: MediaBlob) -> str:
        uploaded = await self._call(app, "media/uploadimg", form=self._media_form(blob))
        return str(required(uploaded, "url", "media/uploadimg"))

    def _media_form(self, blob: MediaBlob) -> EncodedForm:
        return encode_form((), self._files.get("media", blob))

    async def _add_draft(self, app: App, article: dict[str, Any]) -> str:
        draft = await self._call(app, "draft/add", json={"articles": [article]})
        return str(required(draft, "media_id", "draft/add"))

    async def status(self, account: AccountRef, remote_id: str) -> Receipt:
        app = app_of(account)
        if remote_id.startswith(ARTICLE_PREFIX):
            return await self._article_status(app, remote_id)
        answer = await self._call(app, "freepublish/get", json={"publish_id": remote_id})
        return publish_receipt(remote_id, answer)

    async def withdraw(self, account: AccountRef, remote_id: str) -> None:
        app = app_of(account)
        if remote_id.startswith(ARTICLE_PREFIX):
            article_id = remote_id.removeprefix(ARTICLE_PREFIX)
        else:
            receipt = publish_receipt(
                remote_id,
                await self._call(app, "freepublish/get", json={"publish_id": remote_id}),
            )
            if receipt.state == "pending_review":
                raise Retryable(
                    "文章仍在发布中，稍后再撤回 (still publishing; retry the withdrawal shortly)"
                )
            if receipt.state != "published":
                return  # failed or already removed: nothing is live
            article_id = receipt.extra["article_id"]
        await self._call(
            app, "freepublish/delete", json={"article_id": article_id, "index": 0}, gone_ok=True
        )

    async def lookup(self, account: AccountRef, marker: str) -> Receipt | None:
        app = app_of(account)
        for page in range(LOOKUP_PAGES):
            offset = page * LOOKUP_PAGE_SIZE
            answer = await self._call(
                app,
                "freepublish/batchget",
                json={"offset": offset, "count": LOOKUP_PAGE_SIZE, "no_content": 1},
            )
            items = answer.get("item") or []
            for item in items:
                receipt = match_marker(item, marker)
                if receipt is not None:
                    return receipt
            if len(items) < LOOKUP_PAGE_SIZE or offset + len(items) >= answer.get("total_count", 0):
                break
        return None

    # ------------------------------------------------------------ comments (留言)

    async def list_comments(self, account: AccountRef, post: PostRef, cursor: str | None, *,
                            count: int) -> CommentPage:
        """``comment/list`` from offset ``cursor`` (WeChat pages by ``begin``), oldest first
        as WeChat keeps them; the post is named by its msg_data_id and 0-based index."""
        app = app_of(account)
        key = post.key or comment_key_of(post.url)
        if key is None:
            article = await self._article_status(app, post.remote_id)
            key = comment_key_of(article.url) if article.state != "deleted" else None
        if key is None:
            raise Unsupported("该文章没有可用于留言接口的 msg_data_id "
                              "(the article's msg_data_id cannot be found)")
        msg_data_id, _, index = key.partition("_")
        begin = as_int(cursor, 0)
        try:
            answer = await self._call(app, "comment/list", json={
                "msg_data_id": int(msg_data_id), "index": int(index), "begin": begin,
                "count": min(count, self.capabilities.interaction.comment_page_max),
                "type": 0})
        except AdapterError as err:
            if err.code in COMMENTS_CLOSED:
                raise Unsupported(COMMENTS_CLOSED[int(err.code or 0)], code=err.code) from None
            raise
        comments = tuple(wechat_comment(key, c) for c in answer.get("comment") or []
                         if isinstance(c, Mapping) and c.get("user_comment_id") is not None)
        total = as_int(answer.get("total"), begin + len(comments))
        after = begin + len(comments)
        return CommentPage(comments=comments, cursor=str(after),
                           has_more=bool(comments) and after < total, post_key=key, total=total)

    async def reply_comment(self, account: AccountRef, post: PostRef, comment_id: str,
                            text: str) -> SentReply:
        """``comment/reply/add``: WeChat keeps one author reply per comment (88005)."""
        await self._comment_call(account, post, "comment/reply/add", comment_id,
                                 content=text)
        return SentReply(remote_id=None, sent_at=datetime.now(UTC))

    async def elect_comment(self, account: AccountRef, post: PostRef, comment_id: str,
                            elected: bool) -> None:
        path = "comment/markelect" if elected else "comment/unmarkelect"
        await self._comment_call(account, post, path, comment_id)

    async def hide_comment(self, account: AccountRef, post: PostRef, comment_id: str) -> None:
        """``comment/delete``: removes the user's comment from the article."""
        await self._comment_call(account, post, "comment/delete", comment_id)

    async def send_message(self, account: AccountRef, user_id: str, text: str) -> SentReply:
        """A text customer-service message (客服消息): only within 48 h of the user's last
        message (45015 after)."""
        try:
            await self._call(app_of(account), "message/custom/send", json={
                "touser": user_id, "msgtype": "text", "text": {"content": text}})
        except AdapterError as err:
            raise _reply_refusal(err) from None
        return SentReply(remote_id=None, sent_at=datetime.now(UTC))

    async def _comment_call(self, account: AccountRef, post: PostRef, path: str,
                            comment_id: str, **extra: Any) -> None:
        key = post.key or comment_key_of(post.url)
        if key is None or "_" not in key:
            raise Unsupported("该文章没有可用于留言接口的 msg_data_id "
                              "(the article's msg_data_id cannot be found)")
        msg_data_id, _, index = key.partition("_")
        try:
            await self._call(app_of(account), path, json={
                "msg_data_id": int(msg_data_id), "index": int(index),
                "user_comment_id": int(comment_id), **extra})
        except AdapterError as err:
            raise _reply_refusal(err) from None

    # ------------------------------------------------------------ calls

    async def _article_status(self, app: App, remote_id: str) -> Receipt:
        article_id = remote_id.removeprefix(ARTICLE_PREFIX)
        answer = await self._call(
            app, "freepublish/getarticle", json={"article_id": article_id}, gone_ok=True
        )
        news = answer.get("news_item") or []
        if errcode(answer) == GONE or not news or all(n.get("is_deleted") for n in news):
            extra = {"article_id": article_id, "reason": REMOVED[5]}
            return Receipt(remote_id=remote_id, state="deleted", extra=extra)
        return Receipt(
            remote_id=remote_id, url=news[0].get("url"), extra={"article_id": article_id}
        )

    async def _call(
        self,
        app: App,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        form: EncodedForm | None = None,
        creates_post: bool = False,
        gone_ok: bool = False,
    ) -> dict[str, Any]:
        """One business call with the token refresh-once rule; returns the success body."""
        token = await self._token(app)
        for attempt in (1, 2):
            reply = await call(
                self.session,
                "POST",
                app.url(path),
                platform=PLATFORM,
                params={**(params or {}), "access_token": token},
                json=json,
                data=form.body if form is not None else None,
                headers=form.headers if form is not None else None,
                timeout=self.timeout,
            )
            body = answer_of(reply, path, creates_post=creates_post)
            code = errcode(body)
            if code == 0 or (gone_ok and code == GONE):
                return body
            if code in TOKEN_REFUSED and attempt == 1:
                token = await self._refresh(app, stale=token)
                continue
            if app.delegated:
                self._delegated_refusal(code, path)
            error = error_for(code, path)
            if isinstance(error, RateLimited) and "Retry-After" in (reply.headers or {}):
                error.retry_after = retry_after_seconds(reply.headers, error.retry_after)
            raise error
        raise AssertionError("unreachable")

    def _component(self) -> ComponentClient:
        if self.component is None:
            raise AccountMisconfigured(
                "该公众号经第三方平台授权接入，但本平台未配置微信第三方平台 (the account was "
                "authorised to a 第三方平台 the hub is not configured as)"
            )
        return self.component

    def _delegated_refusal(self, code: int, path: str) -> None:
        """Codes that mean the authorisation itself no longer covers the call."""
        component = self._component()
        if code == SCOPE_MISSING:
            raise ScopeMissing(
                f"公众号未向本平台授予此接口的权限集，需管理员重新授权 (api unauthorized to "
                f"component: {path}; the admin must authorise the func set)",
                code=code,
            )
        if code in component.revoked_codes:
            raise AuthorizationRevoked(
                "公众号管理员已取消对本平台的授权，需重新扫码授权 (the authorisation was "
                "cancelled)",
                code=code,
            )

    async def _token(self, app: App) -> str:
        recent = self._recent.get(app.token_key)
        if recent is not None and recent[1] > time.monotonic():
            return recent[0]
        if app.delegated:
            token = await self._component().authorizer_token(
                app.appid, app.refresh_token, fetched=self._noter(app))
            return self._keep(app, token)
        token = await self.tokens.get(app.token_key)
        if not token:
            # No Redis lock on a cold fetch (two round trips per account on a first push):
            # stable_token in normal mode hands concurrent callers the same token and never
            # invalidates one in use. Callers in this process share one fetch; a refresh
            # after a refusal still takes the lock.
            key = app.token_key
            fetching = self._fetching.get(key)
            if fetching is None:
                fetching = asyncio.ensure_future(self._fetch_token(app))
                self._fetching[key] = fetching
                fetching.add_done_callback(lambda _: self._fetching.pop(key, None))
            token = await asyncio.shield(fetching)
        return self._keep(app, token)

    async def _refresh(self, app: App, *, stale: str) -> str:
        """A new token unless another worker already replaced ``stale``."""
        self._recent.pop(app.token_key, None)
        if app.delegated:
            token = await self._component().authorizer_token(
                app.appid, app.refresh_token, stale=stale, fetched=self._noter(app)
            )
            return self._keep(app, token)
        async with self.tokens.lock(app.token_key):
            current = await self.tokens.get(app.token_key)
            if current and current != stale:
                return self._keep(app, current)
            return self._keep(app, await self._fetch_token(app))

    def _noter(self, app: App) -> Callable[[float], None]:
        return lambda expires_at: self.refreshes.note(app.account_id, expires_at)

    def _keep(self, app: App, token: str) -> str:
        if len(self._recent) >= RECENT_TOKENS_MAX:
            self._recent.clear()
        self._recent[app.token_key] = (token, time.monotonic() + RECENT_TOKEN_S)
        return token

    async def _fetch_token(self, app: App) -> str:
        reply = await call(
            self.session,
            "POST",
            app.url("stable_token"),
            platform=PLATFORM,
            json={"grant_type": "client_credential", "appid": app.appid, "secret": app.secret},
            timeout=self.timeout,
        )
        body = answer_of(reply, "stable_token")
        code = errcode(body)
        if code in TOKEN_REFUSED:  # at the token endpoint this means the secret is wrong
            raise AuthFailed("AppSecret 错误 (invalid AppSecret)", code=code)
        if code != 0:
            raise error_for(code, "stable_token")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise Retryable("微信未返回访问令牌 (no access_token in the answer)")
        expires_in = as_int(body.get("expires_in"), 7200)
        ttl = expires_in - TOKEN_MARGIN_S if expires_in > 2 * TOKEN_MARGIN_S else expires_in // 2
        await self.tokens.set(app.token_key, token, max(ttl, 1))
        return token


# ---------------------------------------------------------------- answers


def answer_of(reply: HttpReply, path: str, *, creates_post: bool = False) -> dict[str, Any]:
    """The JSON object of a 2xx answer; transport-level trouble mapped to the taxonomy."""
    status = reply.status
    if status == 429:
        raise RateLimited(
            f"微信接口限流 (HTTP 429 from {path})", retry_after=retry_after_seconds(reply.headers)
        )
    if status >= 500:
        reason = f"微信接口暂时不可用 (HTTP {status} from {path})"
        if creates_post and status in (502, 504):
            raise OutcomeUnknown(reason, code=status, cause="unavailable")
        raise Retryable(reason, code=status, cause="unavailable")
    if status in (404, 405):
        raise AccountMisconfigured(
            f"接口地址不对，请检查 api_base (HTTP {status} from {path}: check the API base)",
            code=status,
        )
    if not 200 <= status < 300:
        raise Retryable(f"微信接口返回异常状态 (HTTP {status} from {path})", code=status)
    if not isinstance(reply.json, dict):
        reason = f"微信返回的不是JSON (the answer from {path} is not a JSON object)"
        if creates_post:
            raise OutcomeUnknown(reason)
        raise Retryable(reason)
    return reply.json


# comment/list refusals that mean: this post's comments cannot be read (stop polling it).
COMMENTS_CLOSED = {
    88000: "该文章未开启留言或账号无留言权限 (comments are not open on this article)",
    88001: "文章不存在或已删除 (the article no longer exists)",
    88002: "文章因安全原因被限制 (the article is restricted for safety)",
    48001: "该公众号无权调用留言接口（需认证） (the account may not use the comment API: "
           "verified accounts only)",
}


# Refusals of the reply, 精选, delete and customer-service calls: final for this reply.
REPLY_REFUSED = {
    45015: "已超过48小时回复时限或用户已取消关注 (more than 48 h since the user's last message, "
           "or the user unfollowed)",
    45047: "客服消息下发条数超过上限 (too many customer-service messages to this user)",
    87009: "该留言没有回复 (the comment has no reply)",
    88003: "精选留言数已达上限 (the limit of elected comments is reached)",
    88004: "留言已被用户删除 (the user deleted the comment)",
    88005: "该留言已回复过，微信每条留言只能回复一次 (the comment already has a reply: one reply "
           "per comment)",
    88007: "回复内容为空或超长 (the reply is empty or too long)",
    88008: "留言不存在 (the comment does not exist)",
    **COMMENTS_CLOSED,
}


def _reply_refusal(err: AdapterError) -> AdapterError:
    code = err.code if isinstance(err.code, int) else None
    if code in REPLY_REFUSED and isinstance(err, Retryable):
        return ContentRejected(REPLY_REFUSED[code], code=code)
    return err


def comment_key_of(url: str | None) -> str | None:
    """``"<msg_data_id>_<0-based index>"`` from an article's long URL (``mid``, 1-based
    ``idx``), or None when the URL does not carry them (a short link)."""
    if not url:
        return None
    query = dict(parse_qsl(urlsplit(html.unescape(url)).query))
    mid, idx = query.get("mid", ""), query.get("idx", "1")
    if not mid.isdigit() or not idx.isdigit() or int(idx) < 1:
        return None
    return f"{mid}_{int(idx) - 1}"


def wechat_comment(key: str, raw: Mapping[str, Any]) -> RemoteComment:
    """One ``comment/list`` entry; ids are per article, so they carry the post's key."""
    number = str(raw.get("user_comment_id"))
    reply = raw.get("reply")
    replied = None
    if isinstance(reply, Mapping) and reply.get("content"):
        replied = RemoteReply(text=str(reply.get("content")),
                              created_at=from_unix(reply.get("create_time")))
    return RemoteComment(
        remote_id=f"{key}:{number}", thread_id=f"{key}:{number}", comment_id=number,
        text=str(raw.get("content") or ""), created_at=from_unix(raw.get("create_time")),
        user_id=str(raw.get("openid") or "") or None, elected=as_int(raw.get("comment_type"), 0)
        == 1, reply=replied)


def from_unix(value: Any) -> datetime:
    seconds = as_int(value, 0)
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else datetime.now(UTC)


def errcode(body: Mapping[str, Any]) -> int:
    """wechatpy's rule: success when ``errcode`` is absent or 0."""
    return as_int(body.get("errcode"), 0)


def as_int(value: Any, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def error_for(code: int, path: str) -> AdapterError:
    if code == -1:
        return Retryable(f"微信系统繁忙 (WeChat system busy, {path})", code=code, cause="busy")
    if code == 45009:
        return RateLimited(
            f"今日接口调用次数已用完 (daily quota of {path} reached)",
            retry_after=seconds_to_china_midnight(),
            code=code,
        )
    if code == 45011:
        return RateLimited(
            f"接口调用过于频繁 (per-minute limit of {path} reached)", retry_after=60, code=code
        )
    if code in TOKEN_REFUSED:
        return AuthFailed(
            "微信拒绝了访问令牌，刷新后仍无效 (access token rejected even after a refresh)",
            code=code,
        )
    if code in AUTH_FAILED:
        return AuthFailed(AUTH_FAILED[code], code=code)
    if code in MISCONFIGURED:
        return AccountMisconfigured(MISCONFIGURED[code], code=code)
    if code == 48001:
        return Unsupported(
            "该公众号无权调用此接口，请在公众平台后台手动操作 "
            f"(api unauthorized for this account: {path}; do it on the MP web console)",
            code=code,
        )
    if code == GONE and path.startswith("freepublish/"):
        return ContentRejected(
            "微信上找不到这条发布记录 (WeChat has no such publish or article on this account)",
            code=code,
        )
    if code in CONTENT_REJECTED:
        return ContentRejected(CONTENT_REJECTED[code], code=code)
    return Retryable(f"微信返回错误码 {code} (WeChat error {code} from {path})", code=code)


def seconds_to_china_midnight(now: float | None = None) -> float:
    china_now = (time.time() if now is None else now) + CHINA_UTC_OFFSET_S
    return 86400 - china_now % 86400


def required(body: Mapping[str, Any], name: str, path: str) -> Any:
    value = body.get(name)
    if value in (None, ""):
        raise Retryable(f"微信的应答缺少 {name} (no {name} in the answer from {path})")
    return value


def publish_receipt(remote_id: str, answer: Mapping[str, Any]) -> Receipt:
    status = as_int(answer.get("publish_status"), -1)
    article_id = answer.get("article_id")
    extra: dict[str, Any] = {"publish_status": status}
    if article_id:
        extra["article_id"] = str(article_id)
    if status == 0:
        if not article_id:
            raise Retryable("发布成功但缺少文章ID (published, but no article_id in the answer)")
        items = (answer.get("article_detail") or {}).get("item") or []
        urls = [item.get("article_url") for item in items if item.get("article_url")]
        extra["article_urls"] = urls
        extra["publish_id"] = remote_id
        # From here on the article id is the handle: withdraw and status then need no
        # freepublish/get call, whose quota (100 a day) the pending posts need.
        return Receipt(
            remote_id=ARTICLE_PREFIX + str(article_id), url=urls[0] if urls else None, extra=extra
        )
    if status == 1:
        return Receipt(remote_id=remote_id, state="pending_review", extra=extra)
    if status in PUBLISH_FAILED:
        extra["reason"] = PUBLISH_FAILED[status]
        extra["fail_idx"] = answer.get("fail_idx") or []
        return Receipt(remote_id=remote_id, state="rejected", extra=extra)
    if status in REMOVED:
        extra["reason"] = REMOVED[status]
        return Receipt(remote_id=remote_id, state="deleted", extra=extra)
    raise Retryable(f"未知的发布状态 {status} (unknown publish_status {status})")


def match_marker(item: Mapping[str, Any], marker: str) -> Receipt | None:
    news = ((item.get("content") or {}).get("news_item")) or []
    for article in news:
        if marker_of(article.get("content_source_url") or "") == marker:
            article_id = str(item.get("article_id"))
            return Receipt(
                remote_id=ARTICLE_PREFIX + article_id,
                url=article.get("url"),
                state="deleted" if article.get("is_deleted") else "published",
                extra={"article_id": article_id},
            )
    return None


# ---------------------------------------------------------------- requests


def with_marker(url: str, marker: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != MARKER_PARAM]
    query.append((MARKER_PARAM, marker))
    return urlunsplit(parts._replace(query=urlencode(query)))


def marker_of(url: str) -> str | None:
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key == MARKER_PARAM:
            return value
    return None


def blob_named(blobs: Mapping[str, MediaBlob], name: str) -> MediaBlob:
    blob = blobs.get(name)
    if blob is None:
        raise ContentRejected(f"渲染结果缺少图片 {name} (the rendered post lacks media {name})")
    return blob


def seed_credentials(index: int, sandbox: str) -> dict[str, str]:
    return {"appid": f"wx{index:016x}", "secret": secrets.token_hex(16)}


SPEC = PlatformSpec(
    name=PLATFORM, label_zh="微信公众号", label_en="WeChat",
    channel="channels.wechat:WeChatChannel", adapter="adapters.wechat:WeChatAdapter",
    reach="adapters.wechat_reach:WeChatReach",
    capabilities=CAPABILITIES,
    credentials=(
        CredentialField("appid", secret=False),
        CredentialField("secret"),
        CredentialField("callback_token", required=False, pattern=r"[A-Za-z0-9]{3,32}",
                        hint="callback_token 须为3-32位英文字母或数字，与公众号服务器配置的令牌一致 "
                             "(callback_token: 3-32 letters or digits, the token of the "
                             "account's server configuration)"),
        CredentialField("callback_aes_key", required=False, pattern=AES_KEY_RE.pattern,
                        hint="callback_aes_key 须为公众号服务器配置中43位的消息加解密密钥 "
                             "(callback_aes_key: the 43-character EncodingAESKey)"),
    ),
    identity=lambda c: (c.get("appid") or "").strip().lower(),
    external_id=lambda c: c.get("appid"),
    app_budget=Rate(5000, 5000), account_budget=Rate(20, 20), app_keys=("appid",),
    api_base=DEFAULT_API_BASE,
    api_hosts=("api.weixin.qq.com", "api2.weixin.qq.com", "sh.api.weixin.qq.com",
               "sz.api.weixin.qq.com", "hk.api.weixin.qq.com"),
    emulator="sandbox.wechat", callback="hub.web.callbacks:wechat_event",
    seed_share=0.45, seed_credentials=seed_credentials,
)
