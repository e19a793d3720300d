"""City app (城市客户端): signed Standard Webhooks to the app's backend
(docs/platforms/cityapp.md).

Wire contract, as sent:

- ``POST <webhook_url>``, body ``{"type", "timestamp", "data"}``, compact UTF-8 JSON.
- ``webhook-id``: ``evt_`` + 26 base32 characters derived from the event type, the delivery
  marker (or remote id) and the revision, so every retry of one event carries the same id and
  the receiver's dedupe makes a resend harmless. (ULID-shaped but not time-ordered.)
- ``webhook-timestamp`` / ``webhook-signature`` recomputed on each attempt: ``v1,<base64
  HMAC-SHA256(key, id.timestamp.body)>``, one entry per configured secret (rotation: put the
  old and the new ``whsec_`` secret in ``signing_secret`` separated by a space).
- ``remote_id`` = ``<article_id>@<revision>``: the withdrawal event needs both, and the hub
  hands ``withdraw`` nothing but the remote id. ``app_item_id`` goes to ``Receipt.extra``.

Status and lookup use the sample backend's story listing (sandbox/cityapp.py), an extension of
the contract: ``GET <webhook_url>/stories/<article_id>`` and ``GET <webhook_url>/stories?
delivery_id=<marker>``, signed like a webhook with an empty body. A receiver without it answers
404/405/501: ``lookup`` then returns None, which is safe here because a resend reuses the
event's ``webhook-id`` and the receiver drops it as a duplicate; ``status`` raises Unsupported.

Decisions where the webhook contract leaves a choice: 401 is re-signed and sent once more at once,
then AuthFailed (the secret is wrong, alert now); 404 (endpoint wrong) and 400 (stale or
malformed) are Retryable; 3xx (redirects are never followed) is AccountMisconfigured; other
4xx except 408/409/425/429 are ContentRejected (stop, likely a contract bug). 409 (the
receiver holds a newer revision or a withdrawal) is success; the receipt then names the
receiver's revision so a later withdrawal is not ignored as older.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from adapters.base import (
    AccountMisconfigured,
    AccountRef,
    AuthFailed,
    Capabilities,
    ContentRejected,
    Interaction,
    NoInteraction,
    RateLimited,
    Receipt,
    Retryable,
    TokenCache,
    Unsupported,
)
from adapters.http import DEFAULT_TIMEOUT, HttpReply, call, dumps, retry_after_seconds
from adapters.spec import CredentialField, PlatformSpec, Rate

if TYPE_CHECKING:
    import aiohttp

    from channels.base import Post

PLATFORM = "cityapp"
USER_AGENT = "CentralKitchen-Webhooks/1.0"
MAX_BODY_BYTES = 256 * 1024
SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24  # Standard Webhooks: at least 192 bits
PUBLISHED = "article.published"
WITHDRAWN = "article.withdrawn"
WITHDRAW_REASON = "稿件已撤回 (withdrawn by the publisher)"
# A remote id without a revision (not made by this adapter): withdraw every revision.
ALL_REVISIONS = 2**31 - 1
EXTENSION_MISSING = (404, 405, 501)
THROTTLE_STATUSES = (502, 503, 504)
RETRY_4XX = (400, 404, 408, 425)

CAPABILITIES = Capabilities(
    publish=True,
    withdraw=True,
    status_polling=False,
    lookup=True,
    notes=(
        "签名 Webhook 推送，撤稿为 article.withdrawn 事件；重发复用 webhook-id，由接收端去重 "
        "(signed Standard Webhooks; withdrawal is an article.withdrawn event; resends reuse the "
        "webhook-id and the receiver drops duplicates. Status and lookup need the sample "
        "backend's story listing; without it lookup answers None, which is safe to resend.)"
    ),
    interaction=Interaction(
        receive_messages=True,
        notes=(
            "评论由城市客户端后台以签名 Webhook 推送到 /callbacks/cityapp/<account>/comments "
            "(comments are pushed by the city app's backend as signed webhooks)"
        ),
    ),
)


# ---------------------------------------------------------------- signing


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; never echoes the secret in an error."""
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    encoded += "=" * (-len(encoded) % 4)  # unpadded base64 is common (and accepted by Svix)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) < MIN_SECRET_BYTES:
        raise AccountMisconfigured(
            "签名密钥格式错误，应为 whsec_ 开头的 base64 密钥 "
            "(the signing secret must be a whsec_<base64> key of at least 24 bytes)"
        )
    return key


def sign(keys: list[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` entry per key."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for key in keys
    )


def event_id(event_type: str, *parts: str | int) -> str:
    """Stable per event: the same type, marker and revision always give the same id."""
    digest = hashlib.sha256("\x1f".join([event_type, *map(str, parts)]).encode()).digest()
    return "evt_" + base64.b32encode(digest[:16]).decode().rstrip("=")


def remote_id_for(article_id: str, revision: int) -> str:
    return f"{article_id}@{revision}"


def parse_remote_id(remote_id: str) -> tuple[str, int]:
    article_id, sep, revision = remote_id.rpartition("@")
    if sep and article_id and revision.isdigit():
        return article_id, int(revision)
    return remote_id, ALL_REVISIONS


# ---------------------------------------------------------------- endpoint


@dataclass(frozen=True)
class Endpoint:
    url: str
    keys: list[bytes] = field(repr=False)

    @classmethod
    def of(cls, account: AccountRef) -> Endpoint:
        url = (account.credentials.get("webhook_url") or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AccountMisconfigured(
                "城市客户端接收地址无效 (the city app webhook_url must be an http(s) URL)"
            )
        secrets_text = account.credentials.get("signing_secret") or ""
        keys = [decode_secret(part) for part in secrets_text.split()]
        if not keys:
            raise AccountMisconfigured("缺少签名密钥 (the city app account has no signing_secret)")
        return cls(url=url.rstrip("/"), keys=keys)

    def stories_url(self, article_id: str | None = None) -> str:
        if article_id is None:
            return f"{self.url}/stories"
        return f"{self.url}/stories/{quote(article_id, safe='')}"


# ---------------------------------------------------------------- adapter


class CityAppAdapter(NoInteraction):
    platform = PLATFORM
    capabilities = CAPABILITIES
    # Unix seconds for webhook-timestamp; replaceable in tests.
    clock: Callable[[], float] = staticmethod(time.time)
    # The webhook contract: 15 s per attempt; tests shorten it.
    timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT

    def __init__(self, session: aiohttp.ClientSession, tokens: TokenCache) -> None:
        self.session = session
        self.tokens = tokens  # unused: webhooks are signed, there is no token

    async def publish(self, account: AccountRef, post: Post, *, marker: str) -> Receipt:
        endpoint = account.derived("cityapp.endpoint", Endpoint.of)
        data = {**post.fields, "delivery_id": marker}
        article_id, revision = str(data["article_id"]), int(data["revision"])
        msg_id = event_id(PUBLISHED, marker, revision)
        reply = await self._deliver(endpoint, msg_id, PUBLISHED, data)
        answer = reply.json if isinstance(reply.json, dict) else {}
        extra: dict[str, Any] = {"webhook_id": msg_id, "http_status": reply.status}
        if isinstance(answer.get("app_item_id"), str | int):
            extra["app_item_id"] = str(answer["app_item_id"])
        if reply.status == 409:
            return conflict_receipt(article_id, revision, answer, extra)
        return Receipt(
            remote_id=remote_id_for(article_id, revision),
            url=text_or_none(answer.get("app_url")),
            state="published",
            extra=extra,
        )

    async def withdraw(self, account: AccountRef, remote_id: str) -> None:
        endpoint = account.derived("cityapp.endpoint", Endpoint.of)
        article_id, revision = parse_remote_id(remote_id)
        data = {"article_id": article_id, "revision": revision, "reason": WITHDRAW_REASON}
        # 409 (receiver holds a newer revision) and "never seen" both count as done.
        await self._deliver(endpoint, event_id(WITHDRAWN, article_id, revision), WITHDRAWN, data)

    async def status(self, account: AccountRef, remote_id: str) -> Receipt:
        endpoint = account.derived("cityapp.endpoint", Endpoint.of)
        article_id, _ = parse_remote_id(remote_id)
        reply = await self._query(endpoint, endpoint.stories_url(article_id))
        if reply.status == 404 and error_code(reply) == "story_not_found":
            return Receipt(remote_id=remote_id, state="deleted")
        if reply.status in EXTENSION_MISSING and error_code(reply) != "unknown_app":
            raise Unsupported(
                "该城市客户端不提供稿件查询接口，请人工核对 "
                "(this city app has no story listing; check by hand)",
                code=reply.status,
            )
        check_query_reply(reply)
        story = reply.json if isinstance(reply.json, dict) else None
        if story is None:
            raise Retryable("城市客户端返回无法解析 (unreadable story from the city app)")
        return receipt_of(story, remote_id=remote_id)

    async def lookup(self, account: AccountRef, marker: str) -> Receipt | None:
        endpoint = account.derived("cityapp.endpoint", Endpoint.of)
        url = f"{endpoint.stories_url()}?delivery_id={quote(marker, safe='')}"
        reply = await self._query(endpoint, url)
        if reply.status in EXTENSION_MISSING and error_code(reply) != "unknown_app":
            return None
        check_query_reply(reply)
        items = reply.json.get("items") if isinstance(reply.json, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise Retryable("城市客户端返回无法解析 (unreadable story list from the city app)")
        if not items:
            return None
        live = [story for story in items if story.get("state") == "live"]
        return receipt_of((live or items)[-1])

    # ------------------------------------------------------------ wire

    async def _deliver(
        self, endpoint: Endpoint, msg_id: str, event_type: str, data: dict[str, Any]
    ) -> HttpReply:
        body = dumps({"type": event_type, "timestamp": now_rfc3339(), "data": data})
        if len(body) > MAX_BODY_BYTES:
            raise ContentRejected(
                f"推送内容超过 256 KB (the webhook body is {len(body) // 1024} KB, over 256 KB)"
            )
        reply = await self._post(endpoint, msg_id, body)
        if reply.status == 401:
            # Nothing to refresh for an HMAC secret: re-sign once (fresh timestamp), then give up.
            reply = await self._post(endpoint, msg_id, body)
        check_delivery_reply(reply)
        return reply

    async def _post(self, endpoint: Endpoint, msg_id: str, body: bytes) -> HttpReply:
        headers = self._signed_headers(endpoint, msg_id, body)
        headers["Content-Type"] = "application/json; charset=utf-8"
        return await call(
            self.session,
            "POST",
            endpoint.url,
            platform=PLATFORM,
            data=body,
            headers=headers,
            timeout=self.timeout,
        )

    async def _query(self, endpoint: Endpoint, url: str) -> HttpReply:
        headers = self._signed_headers(endpoint, "qry_" + secrets.token_hex(12), b"")
        return await call(
            self.session, "GET", url, platform=PLATFORM, headers=headers, timeout=self.timeout
        )

    def _signed_headers(self, endpoint: Endpoint, msg_id: str, body: bytes) -> dict[str, str]:
        timestamp = int(self.clock())
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.keys, msg_id, timestamp, body),
            "User-Agent": USER_AGENT,
        }


# ---------------------------------------------------------------- replies


def check_delivery_reply(reply: HttpReply) -> None:
    """Map a webhook answer to the taxonomy (docs/platforms/cityapp.md); 2xx and 409 pass."""
    status = reply.status
    if 200 <= status < 300 or status == 409:
        return
    check_common(reply)
    if status in RETRY_4XX:
        what = {
            400: "城市客户端认为请求格式有误或已过期，将重新签名重试 (malformed or stale; re-signed on retry)",
            404: "城市客户端接收地址不存在 (webhook endpoint not found; check the URL)",
        }.get(status, "城市客户端请求超时 (the city app timed out the request)")
        raise Retryable(what, code=status)
    if status == 413:
        raise ContentRejected(
            "城市客户端拒收：内容过大 (payload too large for the city app)", code=413
        )
    raise ContentRejected(
        f"城市客户端拒收 (the city app refused the event: HTTP {status})", code=status
    )


def check_query_reply(reply: HttpReply) -> None:
    if 200 <= reply.status < 300:
        return
    check_common(reply)
    raise Retryable(
        f"城市客户端查询失败 (story listing answered HTTP {reply.status})", code=reply.status
    )


def check_common(reply: HttpReply) -> None:
    """Answers that mean the same for webhooks and queries."""
    status = reply.status
    if 300 <= status < 400:
        raise AccountMisconfigured(
            f"城市客户端接收地址发生跳转，请更新地址 (the endpoint redirects with HTTP {status}; "
            "redirects are not followed, update the webhook URL)",
            code=status,
        )
    if status == 401:
        raise AuthFailed(
            "签名校验失败，请核对签名密钥 (signature rejected: check the signing secret)", code=401
        )
    if status == 410:
        raise AccountMisconfigured(
            "城市客户端已停用该接收地址 (the city app disabled this endpoint: 410 Gone)", code=410
        )
    if status == 429 or (status in THROTTLE_STATUSES and "Retry-After" in reply.headers):
        raise RateLimited(
            "城市客户端限流，稍后重试 (the city app is throttling; retrying later)",
            retry_after=retry_after_seconds(reply.headers),
            code=status,
        )
    if status >= 500:
        raise Retryable(f"城市客户端暂时不可用 (the city app answered HTTP {status})", code=status,
                        cause="unavailable")


def receipt_of(story: Mapping[str, Any], *, remote_id: str | None = None) -> Receipt:
    article_id = story.get("article_id")
    revision = story.get("revision")
    if not isinstance(article_id, str) or not isinstance(revision, int):
        raise Retryable("城市客户端返回无法解析 (unreadable story from the city app)")
    extra = {key: story[key] for key in ("app_item_id", "delivery_id", "revision") if key in story}
    return Receipt(
        remote_id=remote_id or remote_id_for(article_id, revision),
        url=text_or_none(story.get("app_url")),
        state="published" if story.get("state") == "live" else "deleted",
        extra=extra,
    )


def conflict_receipt(
    article_id: str, revision: int, answer: Mapping[str, Any], extra: dict[str, Any]
) -> Receipt:
    """409: the receiver holds a newer revision (or a withdrawal); the event counts as done.

    The remote id must name the receiver's revision, or a later withdrawal would carry an
    older one and be ignored; when the answer does not say, the bare article id makes
    ``withdraw`` remove every revision.
    """
    stored = answer.get("revision")
    known = isinstance(stored, int) and not isinstance(stored, bool)
    remote_id = remote_id_for(article_id, max(revision, stored)) if known else article_id
    withdrawn = answer.get("state") == "withdrawn"
    return Receipt(
        remote_id=remote_id,
        state="deleted" if withdrawn else "published",
        extra={**extra, "conflict": True},
    )


def error_code(reply: HttpReply) -> str | None:
    error = reply.json.get("error") if isinstance(reply.json, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def endpoint_identity(url: str) -> str:
    """scheme://host[:port]/path, case-folded where URLs are case-insensitive, no slash at
    the end: the same webhook written two ways is one identity ("" when not a URL)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    host = parts.hostname.lower() + (f":{port}" if port and port != default else "")
    return f"{parts.scheme.lower()}://{host}{parts.path.rstrip('/')}"


def app_name(credentials: Mapping[str, str]) -> str | None:
    """The app a webhook URL names: its last path segment."""
    path = urlsplit(credentials.get("webhook_url", "")).path.rstrip("/")
    return path.rsplit("/", 1)[-1] or None


def seed_credentials(index: int, sandbox: str) -> dict[str, str]:
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    return {"webhook_url": f"{sandbox}/cityapp/webhook/app{index:06d}", "signing_secret": secret}


SPEC = PlatformSpec(
    name=PLATFORM, label_zh="城市客户端", label_en="City app",
    channel="channels.cityapp:CityAppChannel", adapter="adapters.cityapp:CityAppAdapter",
    reach="adapters.cityapp_reach:CityAppReach",
    capabilities=CAPABILITIES,
    credentials=(CredentialField("webhook_url", secret=False, url=True),
                 CredentialField("signing_secret")),
    identity=lambda c: endpoint_identity(c.get("webhook_url") or ""), external_id=app_name,
    app_budget=Rate(5000, 5000), account_budget=Rate(50, 50),
    emulator="sandbox.cityapp", callback="hub.web.cityapp_comments:comment_event",
    seed_share=0.10, seed_label="客户端",
    seed_credentials=seed_credentials,
    # The sample receiver must know each app's signing secret before it accepts a webhook.
    sandbox_account=lambda c: (app_name(c) or "", {"signing_secret": c["signing_secret"]}),
)
