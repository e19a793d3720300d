"""Douyin Open Platform client (docs/platforms/douyin.md): upload, create_video, status, delete, lookup.

Auth: user-scoped calls send ``access-token`` plus ``open_id`` (the legacy delete wants both in
the query). The account's access token comes from its credentials until the first refresh;
after that the tokens and their expiries live in the shared TokenCache (under a key only the
same credentials reach, see ``cache_key``): the access token is
refreshed a day before it expires and the refresh token renewed a week before it expires (at
most 5 times, then the user must authorise again). An expired or invalid token is refreshed
once and the call repeated once; a second refusal is ``AuthFailed``. The app-level client_token
is not needed by any call made here.

The marker (delivery id) travels in the caption as `` <public link>?d=<marker>`` (or
`` d=<marker>`` without a link); ``lookup`` finds it in the ``title`` of ``video_list``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

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
    go_ahead,
)
from adapters.cachekeys import secret_bound_key
from adapters.http import DEFAULT_TIMEOUT, HttpReply, call, retry_after_seconds
from adapters.spec import CredentialField, PlatformSpec, Rate
from adapters.tokens import TokenRefreshes
from channels.base import MediaBlob, Post

PLATFORM = "douyin"
MB = 1024 * 1024
SINGLE_UPLOAD_MAX_BYTES = 128 * MB  # above this Douyin requires chunked upload
CHUNK_BYTES = 20 * MB  # Douyin's recommended chunk size (minimum 5 MB)
# A video is read whole from the object store for each account's upload. Small clips may be
# in memory for every call in flight; large ones only this many at a time per process, so
# hundreds of concurrent deliveries of a 1 GB video cannot exhaust the worker's memory.
LARGE_VIDEO_BYTES = 16 * MB
LARGE_VIDEOS_IN_MEMORY = 2
REFRESH_MARGIN_S = 86_400
RENEW_MARGIN_S = 7 * 86_400
CACHE_TTL_S = 30 * 86_400  # how long a refreshed entry (and its refresh token) is remembered
# Uploads get longer than DEFAULT_TIMEOUT: 30 s plus the time at a slow 1 MB/s.
UPLOAD_BASE_S = 30.0
UPLOAD_MIN_BYTES_PER_S = MB
RATE_LIMIT_WAIT_S = 5.0
RISK_CONTROL_WAIT_S = 60.0
BEIJING_OFFSET_S = 8 * 3600
LIST_PAGE = 20
V1 = "/api/douyin/v1/video"

CAPABILITIES = Capabilities(
    publish=True,
    withdraw=True,
    status_polling=True,
    lookup=True,
    notes="发布需 video.create.bind 权限并经平台异步审核；删除权限可能已收回，届时撤稿转人工 "
    "(publishing needs video.create.bind and passes async review; when delete is not granted, "
    "withdrawal becomes a manual task)",
    interaction=Interaction(
        list_comments=True, comment_page_max=50, can_reply_comment=True,
        notes=(
            "评论需 item.comment 权限并轮询（item/comment/list，每页最多50条）；未见删除用户评论的接口 "
            "(comments need item.comment and are polled, at most 50 a page; no call to delete a "
            "user's comment was found)"
        ),
    ),
)

# Douyin's error codes by what the hub does about them (docs/platforms/douyin.md)
TOKEN_REJECTED = {2190008, 10008, 28001008, 28001003}
TRANSIENT = {2100004, 28001005, 28001006}
TOO_FREQUENT = {28003018}
RISK_CONTROL = {28001052}
QUOTA = {2190001, 28003017, 2114007}
REAUTHORIZE = {10010, 10020, 28001012}
NO_PERMISSION = 2100007
APP_CAPABILITY = {28001014, 28001016, 28001018, 28001019, 28001056}
MISCONFIGURED = {10002, 10003, 10004, 10005, 10013, 28001015}
USER_STATE = {2100009, 28001045, 28001046, 28001047}
PARAMETER = {2100005, 28001007}


class _TokenRefused(Exception):
    """The access token was refused: refresh once and repeat, then give up."""

    def __init__(self, error: AuthFailed) -> None:
        super().__init__(error.reason)
        self.error = error


@dataclass(frozen=True)
class _UserToken:
    """One account's tokens as cached; expiries are None while unknown (credentials only)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float | None = None
    refresh_expires_at: float | None = None
    renew_refused: bool = False  # no renew permission (10004) or renewals used up (10020)

    def dumps(self) -> str:
        return json.dumps(
            {
                "a": self.access_token,
                "r": self.refresh_token,
                "e": self.expires_at,
                "re": self.refresh_expires_at,
                "nr": self.renew_refused,
            }
        )

    @classmethod
    def loads(cls, raw: str) -> _UserToken:
        entry = json.loads(raw)
        return cls(
            str(entry["a"]),
            str(entry["r"]),
            _optional_float(entry["e"]),
            _optional_float(entry.get("re")),
            bool(entry.get("nr")),
        )


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a number")
    return float(value)


class DouyinAdapter(NoInteraction):
    platform = PLATFORM
    capabilities = CAPABILITIES

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: TokenCache,
        *,
        clock: Callable[[], float] = time.time,
        single_upload_max: int = SINGLE_UPLOAD_MAX_BYTES,
        chunk_bytes: int = CHUNK_BYTES,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        lookup_pages: int = 10,
    ) -> None:
        self.session = session
        self.tokens = tokens
        self.clock = clock
        self.single_upload_max = single_upload_max
        self.chunk_bytes = chunk_bytes
        self.timeout = timeout
        self.lookup_pages = lookup_pages
        self._large_videos = asyncio.Semaphore(LARGE_VIDEOS_IN_MEMORY)
        # Accounts whose access token this process refreshed (the fan-out records them).
        self.refreshes = TokenRefreshes()

    # ------------------------------------------------------------ interface

    async def publish(self, account: AccountRef, post: Post, *, marker: str) -> Receipt:
        fields = post.fields
        blobs = {blob.name: blob for blob in post.media}
        video = blobs[fields["video"]]
        chunked = fields.get("upload") == "chunked" or video.size > self.single_upload_max
        upload = self._upload_chunked if chunked else self._upload_single
        if video.size > LARGE_VIDEO_BYTES:
            async with self._large_videos:
                video_id = await upload(account, video)
        else:
            video_id = await upload(account, video)
        body: dict[str, Any] = {
            "video_id": video_id,
            "text": fields["text"] + marker_suffix(fields.get("link", ""), marker),
        }
        if fields.get("cover"):
            body["custom_cover_image_url"] = await self._upload_image(
                account, blobs[fields["cover"]]
            )
        elif fields.get("cover_tsp") is not None:
            body["cover_tsp"] = fields["cover_tsp"]
        go_ahead()  # create_video makes it public
        data = await self._api(account, "POST", f"{V1}/create_video/", json=body, mutating=True)
        item_id = data.get("item_id")
        if not isinstance(item_id, str) or not item_id:
            raise OutcomeUnknown("抖音未返回作品ID (create_video answered without an item_id)")
        return Receipt(remote_id=item_id, state="pending_review", extra={"video_id": video_id})

    async def status(self, account: AccountRef, remote_id: str) -> Receipt:
        data = await self._api(account, "POST", f"{V1}/video_data/", json={"item_ids": [remote_id]})
        for entry in entries(data):
            if entry.get("item_id") == remote_id:
                return receipt_from(entry)
        return Receipt(remote_id=remote_id, state="deleted")

    async def withdraw(self, account: AccountRef, remote_id: str) -> None:
        try:
            await self._api(
                account,
                "POST",
                "/video/delete/",
                json={"item_id": remote_id},
                legacy=True,
                action="delete",
            )
        except ContentRejected:
            # Deleting a missing item is a parameter error (real code unconfirmed): already gone?
            if (await self.status(account, remote_id)).state != "deleted":
                raise

    async def list_comments(self, account: AccountRef, post: PostRef, cursor: str | None, *,
                            count: int) -> CommentPage:
        """``/item/comment/list/`` oldest first (``sort_type=time_asc``), paged by its cursor.
        Needs the ``item.comment`` scope; the item id goes URL-encoded (it holds ``+/=``)."""
        data = await self._api(account, "GET", "/item/comment/list/", params={
            "item_id": post.remote_id, "cursor": cursor or "0",
            "count": min(count, self.capabilities.interaction.comment_page_max),
            "sort_type": "time_asc"})
        raw = data.get("list") if isinstance(data.get("list"), list) else []
        comments = tuple(douyin_comment(c) for c in raw
                         if isinstance(c, Mapping) and c.get("comment_id"))
        after = data.get("cursor")
        return CommentPage(comments=comments,
                           cursor=str(after) if after is not None else cursor,
                           has_more=bool(data.get("has_more")) and bool(comments))

    async def reply_comment(self, account: AccountRef, post: PostRef, comment_id: str,
                            text: str) -> SentReply:
        """``POST /item/comment/reply/`` {item_id, comment_id, content} (scope
        ``item.comment``)."""
        data = await self._api(account, "POST", "/item/comment/reply/", json={
            "item_id": post.remote_id, "comment_id": comment_id, "content": text},
            mutating=True, action="comment reply")
        new_id = data.get("comment_id")
        return SentReply(remote_id=str(new_id) if new_id else None, sent_at=datetime.now(UTC))

    async def lookup(self, account: AccountRef, marker: str) -> Receipt | None:
        pattern = re.compile(rf"\bd={re.escape(marker)}(?![\w-])")
        cursor: Any = 0
        for _ in range(self.lookup_pages):
            data = await self._api(
                account, "GET", f"{V1}/video_list/", params={"cursor": cursor, "count": LIST_PAGE}
            )
            for entry in entries(data):
                if pattern.search(str(entry.get("title") or "")):
                    return receipt_from(entry)
            if not data.get("has_more") or data.get("cursor") in (None, cursor):
                return None
            cursor = data["cursor"]
        return None

    # ------------------------------------------------------------ uploads

    async def _upload_single(self, account: AccountRef, video: MediaBlob) -> str:
        return await self._upload_whole(account, "upload_video", "video", video)

    async def _upload_chunked(self, account: AccountRef, video: MediaBlob) -> str:
        content = memoryview(await read_blob(video))
        started = await self._api(account, "POST", f"{V1}/init_video_part_upload/", json={})
        upload_id = started.get("upload_id")
        if not isinstance(upload_id, str) or not upload_id:
            raise Retryable("抖音未返回上传ID (init_video_part_upload answered without upload_id)")
        for number, offset in enumerate(range(0, len(content), self.chunk_bytes), start=1):
            chunk = bytes(content[offset : offset + self.chunk_bytes])
            await self._api(
                account,
                "POST",
                f"{V1}/upload_video_part/",
                params={"upload_id": upload_id, "part_number": number},
                data=lambda chunk=chunk: multipart("video", video, chunk),
                timeout=self._upload_timeout(len(chunk)),
            )
        done = await self._api(
            account,
            "POST",
            f"{V1}/complete_video_part_upload/",
            params={"upload_id": upload_id},
            json={},
        )
        return uploaded_id(done, "video", "video_id")

    async def _upload_image(self, account: AccountRef, image: MediaBlob) -> str:
        return await self._upload_whole(account, "upload_image", "image", image)

    async def _upload_whole(
        self, account: AccountRef, endpoint: str, kind: str, blob: MediaBlob
    ) -> str:
        """One request carrying the whole file; answers the platform's ``<kind>_id``."""
        content = await read_blob(blob)
        data = await self._api(
            account,
            "POST",
            f"{V1}/{endpoint}/",
            data=lambda: multipart(kind, blob, content),
            timeout=self._upload_timeout(len(content)),
        )
        return uploaded_id(data, kind, f"{kind}_id")

    def _upload_timeout(self, size: int) -> aiohttp.ClientTimeout:
        total = max(self.timeout.total or 0.0, UPLOAD_BASE_S + size / UPLOAD_MIN_BYTES_PER_S)
        return aiohttp.ClientTimeout(total=total, connect=self.timeout.connect)

    # ------------------------------------------------------------ calls and tokens

    async def _api(
        self,
        account: AccountRef,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Callable[[], Any] | None = None,
        legacy: bool = False,
        mutating: bool = False,
        action: str = "",
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> dict[str, Any]:
        """One content call with the refresh-once rule; returns the ``data`` payload."""
        open_id = credential(account, "open_id")
        refused: str | None = None
        for _attempt in range(2):
            token = await self._access_token(account, refused=refused)
            query = {**(params or {}), "open_id": open_id}
            headers = {}
            if legacy:
                query["access_token"] = token
            else:
                headers["access-token"] = token
            reply = await call(
                self.session,
                method,
                account.api_base.rstrip("/") + path,
                platform=PLATFORM,
                params=query,
                json=json,
                data=data() if data else None,
                headers=headers,
                timeout=timeout or self.timeout,
            )
            try:
                return content_payload(reply, mutating=mutating, action=action, clock=self.clock)
            except _TokenRefused as refusal:
                if refused is not None:
                    raise refusal.error from None
                refused = token
        raise AssertionError("unreachable")

    async def _access_token(self, account: AccountRef, *, refused: str | None = None) -> str:
        """A usable access token; ``refused`` is one the platform just turned down.

        Refreshes a token due to expire within a day, renews a refresh token due within a week,
        under the cache's lock so one worker does it for all.
        """
        key = account.derived("douyin.cache_key", cache_key)
        current = await self._cached(account, key)
        if refused is None and not self._due(current):
            return current.access_token
        lock = getattr(self.tokens, "lock", None)
        async with lock(key) if lock else contextlib.nullcontext():
            current = await self._cached(account, key)
            if refused is not None and current.access_token != refused:
                return current.access_token  # another worker refreshed meanwhile
            if refused is None and not self._due(current):
                return current.access_token
            refreshed = refused is not None or self._access_due(current)
            if refreshed:
                current = await self._refresh(account, current)
            if self._renew_due(current):
                current = await self._renew(account, current)
            await self.tokens.set(key, current.dumps(), self._cache_ttl(current))
            if refreshed and current.expires_at is not None:
                self.refreshes.note(account.id, current.expires_at)
            return current.access_token

    def _access_due(self, token: _UserToken) -> bool:
        return token.expires_at is not None and token.expires_at - self.clock() <= REFRESH_MARGIN_S

    def _renew_due(self, token: _UserToken) -> bool:
        expires_at = token.refresh_expires_at
        return (
            expires_at is not None
            and not token.renew_refused
            and expires_at - self.clock() <= RENEW_MARGIN_S
        )

    def _due(self, token: _UserToken) -> bool:
        return self._access_due(token) or self._renew_due(token)

    def _cache_ttl(self, token: _UserToken) -> int:
        if token.refresh_expires_at is None:
            return CACHE_TTL_S
        return max(int(token.refresh_expires_at - self.clock()), 60)

    async def _cached(self, account: AccountRef, key: str) -> _UserToken:
        raw = await self.tokens.get(key)
        if raw:
            try:
                return _UserToken.loads(raw)
            except (ValueError, KeyError, TypeError):
                pass  # unreadable entry: start again from the credentials
        return _UserToken(credential(account, "access_token"), credential(account, "refresh_token"))

    async def _oauth(self, account: AccountRef, path: str, form: dict[str, str]) -> dict[str, Any]:
        form = {"client_key": credential(account, "client_key"), **form}
        reply = await call(
            self.session,
            "POST",
            account.api_base.rstrip("/") + path,
            platform=PLATFORM,
            data=form,
            timeout=self.timeout,
        )
        return oauth_payload(reply, clock=self.clock)

    async def _refresh(self, account: AccountRef, current: _UserToken) -> _UserToken:
        data = await self._oauth(
            account,
            "/oauth/refresh_token/",
            {"grant_type": "refresh_token", "refresh_token": current.refresh_token},
        )
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise Retryable(
                "抖音刷新令牌的响应缺少字段 (refresh answer lacks access_token/expires_in)"
            )
        if data.get("open_id") not in (None, account.credentials.get("open_id")):
            raise AccountMisconfigured(
                "刷新令牌返回的 open_id 与账号不符 (refresh answered "
                "for another open_id: check the account's credentials)"
            )
        now = self.clock()
        refresh = str(data.get("refresh_token") or current.refresh_token)
        refresh_in = data.get("refresh_expires_in")
        return _UserToken(
            token,
            refresh,
            now + float(expires_in),
            now + float(refresh_in)
            if isinstance(refresh_in, int | float) and refresh_in > 0
            else current.refresh_expires_at,
            current.renew_refused and refresh == current.refresh_token,
        )

    async def _renew(self, account: AccountRef, current: _UserToken) -> _UserToken:
        """A new 30-day refresh token; a refusal is remembered, a transient failure is not."""
        try:
            data = await self._oauth(
                account, "/oauth/renew_refresh_token/", {"refresh_token": current.refresh_token}
            )
        except (AuthFailed, AccountMisconfigured):
            return replace(current, renew_refused=True)
        except Retryable:
            return current
        refresh, expires_in = data.get("refresh_token"), data.get("expires_in")
        if not isinstance(refresh, str) or not refresh or not isinstance(expires_in, int | float):
            return current
        return replace(
            current, refresh_token=refresh, refresh_expires_at=self.clock() + float(expires_in)
        )


# ---------------------------------------------------------------- helpers


def credential(account: AccountRef, name: str) -> str:
    value = account.credentials.get(name)
    if not isinstance(value, str) or not value:
        raise AccountMisconfigured(f"抖音账号缺少凭据 {name} (the Douyin account lacks {name})")
    return value


def cache_key(account: AccountRef) -> str:
    """Where the account's refreshed tokens live: reached only with the same app credentials,
    the same authorisation (its first access and refresh tokens) and the same API base.

    The client secret alone would not do: one hub app usually serves every account, so every
    admin who adds an account knows it. The user's own tokens are what an impostor lacks.
    """
    open_id = credential(account, "open_id")
    return secret_bound_key(
        f"douyin:user:{credential(account, 'client_key')}:",
        open_id,
        credential(account, "client_secret"),
        credential(account, "access_token"),
        credential(account, "refresh_token"),
        api_base=account.api_base.rstrip("/"),
    )


def marker_suffix(link: str, marker: str) -> str:
    if not link:
        return f" d={marker}"
    return f" {link}{'&' if '?' in link else '?'}d={marker}"


async def read_blob(blob: MediaBlob) -> bytes:
    """The blob's bytes, read off the event loop: an original comes from the object store
    (a file, or a GET from MinIO), and a blocking read would stall every call in flight."""
    return await asyncio.to_thread(blob.read)


def multipart(field: str, blob: MediaBlob, content: bytes) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field(field, content, filename=blob.filename, content_type=blob.content_type)
    return form


def uploaded_id(data: dict[str, Any], kind: str, name: str) -> str:
    value = data.get(kind, {}).get(name) if isinstance(data.get(kind), dict) else None
    if not isinstance(value, str) or not value:
        raise Retryable(f"抖音上传未返回{name} (the upload answer lacks {kind}.{name})")
    return value


def douyin_comment(raw: Mapping[str, Any]) -> RemoteComment:
    cid = str(raw.get("comment_id"))
    parent = str(raw.get("reply_comment_id") or "")
    created = raw.get("create_time")
    at = (datetime.fromtimestamp(int(created), UTC) if isinstance(created, int) and created > 0
          else datetime.now(UTC))
    return RemoteComment(remote_id=cid, thread_id=parent or cid, comment_id=cid,
                         text=str(raw.get("content") or ""), created_at=at,
                         user_id=str(raw.get("comment_user_id") or "") or None,
                         author_name=str(raw.get("nick_name") or "") or None)


def entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = data.get("list")
    return [entry for entry in found if isinstance(entry, dict)] if isinstance(found, list) else []


def receipt_from(entry: dict[str, Any]) -> Receipt:
    status = entry.get("video_status")
    state = {1: "published", 2: "rejected"}.get(status, "pending_review")
    if entry.get("is_reviewed") is False:
        state = "pending_review"
    extra: dict[str, Any] = {"video_status": status, "is_reviewed": entry.get("is_reviewed")}
    if state == "rejected":
        extra["reason"] = "抖音审核认为不适合公开 (Douyin review: not suitable for the public)"
    return Receipt(
        remote_id=str(entry.get("item_id")),
        url=(entry.get("share_url") or None) if state == "published" else None,
        state=state,
        extra=extra,
    )


# ---------------------------------------------------------------- replies and errors


def content_payload(
    reply: HttpReply, *, mutating: bool, action: str, clock: Callable[[], float]
) -> dict[str, Any]:
    body = checked_body(reply, mutating=mutating)
    code, description, logid = envelope_error(body)
    if code is None:
        raise garbage(reply, mutating)
    if code:
        raise_for_code(code, description, logid, action=action, clock=clock)
    data = body.get("data")
    return data if isinstance(data, dict) else {}


def oauth_payload(reply: HttpReply, *, clock: Callable[[], float]) -> dict[str, Any]:
    body = checked_body(reply, mutating=False)
    data = body.get("data")
    code, description, logid = envelope_error(body)
    if code is None or not isinstance(data, dict):
        raise garbage(reply, False)
    if code:
        raise_for_code(code, description, logid, action="refresh", clock=clock)
    return data


def checked_body(reply: HttpReply, *, mutating: bool) -> dict[str, Any]:
    status = reply.status
    if status == 413:
        raise ContentRejected(
            "视频超出抖音单次上传上限 (the upload is too large for Douyin)", code=413
        )
    if status == 429:
        raise RateLimited(
            "抖音限流 (Douyin rate limit, HTTP 429)",
            code=429,
            retry_after=retry_after_seconds(reply.headers, RATE_LIMIT_WAIT_S),
        )
    if mutating and status in (502, 504):
        raise OutcomeUnknown(
            f"抖音网关错误，发布结果未知 (gateway HTTP {status}; the post may exist)", code=status,
            cause="unavailable",
        )
    if status >= 500:
        raise Retryable(f"抖音服务暂不可用 (Douyin unavailable, HTTP {status})", code=status,
                        cause="unavailable")
    if status in (401, 403, 404, 405):
        raise AccountMisconfigured(
            f"抖音接口拒绝访问或不存在 (Douyin API refused or missing, "
            f"HTTP {status}: check the account's API base)",
            code=status,
        )
    if status >= 400:
        raise ContentRejected(
            f"抖音拒绝了请求 (Douyin refused the request, HTTP {status})", code=status
        )
    if not isinstance(reply.json, dict):
        raise garbage(reply, mutating)
    return reply.json


def garbage(reply: HttpReply, mutating: bool) -> AdapterError:
    reason = f"抖音返回了无法识别的响应 (unrecognised Douyin answer, HTTP {reply.status})"
    return OutcomeUnknown(reason) if mutating else Retryable(reason, sent=True)


def envelope_error(body: dict[str, Any]) -> tuple[int | None, str, str]:
    """(error code, description, log id) across Douyin's three envelope shapes.

    The code is the first non-zero of ``data.error_code``, ``extra.error_code`` and ``err_no``;
    0 when they are all zero; None when the body has none of them.
    """
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    extra = body.get("extra") if isinstance(body.get("extra"), dict) else {}
    candidates = [
        (data.get("error_code"), data.get("description")),
        (extra.get("error_code"), extra.get("description")),
        (body.get("err_no"), body.get("err_msg")),
    ]
    codes = [
        (code, text)
        for code, text in candidates
        if isinstance(code, int) and not isinstance(code, bool)
    ]
    if not codes:
        return None, "", ""
    code, text = next(((c, t) for c, t in codes if c), codes[0])
    logid = extra.get("logid") or extra.get("log_id") or body.get("log_id") or ""
    return code, str(text or extra.get("sub_description") or ""), str(logid)


def raise_for_code(
    code: int, description: str, logid: str, *, action: str, clock: Callable[[], float]
) -> None:
    said = (
        f"code {code}"
        + (f" {description}" if description else "")
        + (f", logid {logid}" if logid else "")
    )
    if code in TOKEN_REJECTED:
        error = AuthFailed(f"抖音授权失效，需重新授权 (Douyin token refused: {said})", code=code)
        if action == "refresh":
            raise error
        raise _TokenRefused(error)
    if code in TRANSIENT:
        raise Retryable(f"抖音系统繁忙 (Douyin busy: {said})", code=code, cause="busy")
    if code in TOO_FREQUENT:
        raise RateLimited(
            f"抖音请求过于频繁 (Douyin rate limit: {said})",
            code=code,
            retry_after=RATE_LIMIT_WAIT_S,
        )
    if code in RISK_CONTROL:
        raise RateLimited(
            f"抖音风控，稍后再试 (Douyin risk control: {said})",
            code=code,
            retry_after=RISK_CONTROL_WAIT_S,
        )
    if code in QUOTA:
        raise RateLimited(
            f"抖音今日配额已用完 (Douyin daily quota used up: {said})",
            code=code,
            retry_after=seconds_to_beijing_midnight(clock()),
        )
    if code == NO_PERMISSION and action == "delete":
        raise Unsupported(
            f"应用无删除视频权限，需人工删除 (no delete permission: {said})", code=code
        )
    if code in REAUTHORIZE or code == NO_PERMISSION:
        raise AuthFailed(
            f"抖音授权不足或已过期，需重新授权 (Douyin authorisation: {said})", code=code
        )
    if code in APP_CAPABILITY:
        raise Unsupported(
            f"应用未开通该能力，需人工操作 (the app lacks this capability: {said})", code=code
        )
    if code in MISCONFIGURED:
        raise AccountMisconfigured(
            f"抖音账号配置有误 (Douyin account misconfigured: {said})", code=code
        )
    if code in USER_STATE:
        raise AccountMisconfigured(
            f"抖音账号被封禁、注销或设为私密 (Douyin user unavailable: {said})", code=code
        )
    if code in PARAMETER:
        raise ContentRejected(
            f"抖音拒绝了请求参数 (Douyin rejected the request: {said})", code=code
        )
    raise Retryable(f"抖音返回未知错误 (unknown Douyin error: {said})", code=code)


def seconds_to_beijing_midnight(now: float) -> float:
    local = now + BEIJING_OFFSET_S
    return 86_400 - local % 86_400


def seed_credentials(index: int, sandbox: str) -> dict[str, str]:
    # One hub app for every account; the sandbox reads the account out of seeded tokens
    # (Douyin's refresh call names no open_id), hence "<kind>.<base64 open_id>.<secret>".
    token = secrets.token_hex(16)
    open_id = f"ou_{index:012x}"
    name = base64.urlsafe_b64encode(open_id.encode()).decode().rstrip("=")
    return {"client_key": "yunchu_app", "client_secret": "yunchu-app-secret-" + token[:8],
            "open_id": open_id, "access_token": f"act.{name}.{token}",
            "refresh_token": f"rft.{name}.{token}"}


SPEC = PlatformSpec(
    name=PLATFORM, label_zh="抖音", label_en="Douyin",
    channel="channels.douyin:DouyinChannel", adapter="adapters.douyin:DouyinAdapter",
    reach="adapters.douyin_reach:DouyinReach",
    capabilities=CAPABILITIES,
    credentials=(CredentialField("client_key", secret=False), CredentialField("client_secret"),
                 CredentialField("open_id", secret=False), CredentialField("access_token"),
                 CredentialField("refresh_token")),
    identity=lambda c: (c.get("open_id") or "").strip(), external_id=lambda c: c.get("open_id"),
    app_budget=Rate(2000, 2000), account_budget=Rate(10, 10), app_keys=("client_key",),
    api_base="https://open.douyin.com", api_hosts=("open.douyin.com",),
    emulator="sandbox.douyin", seed_share=0.15, seed_credentials=seed_credentials,
)
