"""One HTTP call to a platform, with transport failures mapped onto the adapter error taxonomy.

``call`` never hangs (the total timeout is enforced around connect, headers and body alike), never
reads more than ``max_body`` bytes, and never puts the query string (where platforms want their
access tokens) or the exception's own text (which may quote the full URL) into a message.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from multidict import CIMultiDict
from yarl import URL

from adapters.base import AccountMisconfigured, OutcomeUnknown, Retryable
from adapters.outbound import OutboundRefused, policy_of

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)
# Set by the engine around one delivery's calls: False once the worker may have lost the
# delivery's claim (a stop or a partition let its alive key run out, so another worker may
# have taken it over and published it). A call resumed after that is not sent: a multi-step
# publish must not create the post a second time.
SEND_GUARD: ContextVar[Callable[[], bool] | None] = ContextVar("send_guard", default=None)
DEFAULT_MAX_BODY = 2_000_000
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class HttpReply:
    """A platform's answer. ``json`` is None when the body is not JSON."""

    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)  # may carry tokens (token endpoints): never in reprs
    json: Any | None = field(repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def dumps(obj: Any) -> bytes:
    """Compact JSON that keeps Chinese readable (not \\u-escaped), UTF-8 encoded. orjson:
    the standard library's encoder and decoder were 5 % of a worker's CPU in a fan-out."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def retry_after_seconds(headers: Mapping[str, str] | None, default: float = 1.0) -> float:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    raw = (headers or {}).get("Retry-After")
    if not raw:
        return default
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return default
        if when.tzinfo is None:
            return default
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return default
    return max(seconds, 0.0)


def safe_url(url: str | URL) -> str:
    """The URL without credentials, query string or fragment: fit for messages and logs."""
    try:
        parsed = URL(url) if isinstance(url, str) else url
        return str(parsed.with_user(None).with_query(None).with_fragment(None))
    except (ValueError, TypeError):
        return "<invalid url>"


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str | URL,
    *,
    platform: str,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    data: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    max_body: int = DEFAULT_MAX_BODY,
    allow_redirects: bool = False,
) -> HttpReply:
    """Send one request and read the whole (bounded) answer.

    Raises ``Retryable`` (not sent: connect refused, DNS, connect timeout; or body too large),
    ``OutcomeUnknown`` (sent but no complete answer: read timeout, reset, truncated body) and
    ``AccountMisconfigured`` (the URL itself is unusable). HTTP error statuses are returned, not
    raised: what a 4xx means is the adapter's business.
    """
    where = _Where(platform, method, url)  # rendered only if something goes wrong
    guard = SEND_GUARD.get()
    if guard is not None and not guard():
        # Earlier calls of the same publish may have gone out: the next attempt looks first.
        raise OutcomeUnknown("本节点可能已失去这条投递，未发送 (this worker may have lost the "
                             "delivery's claim; not sent)")
    policy = policy_of(session)
    if policy is not None:
        refusal = policy.url_refusal(platform, str(url))
        if refusal is not None:
            raise AccountMisconfigured(refused_message(refusal, where))
    request_headers: Mapping[str, str] | None = headers
    if json is not None:
        if data is not None:
            raise TypeError("pass json or data, not both")
        data = dumps(json)
        request_headers = _with_default(headers, "Content-Type", "application/json; charset=utf-8")
    elif isinstance(data, Mapping):
        # Encoded here, not by aiohttp: its FormData machinery cost more than the rest of a
        # small form request.
        data = urlencode(data, doseq=True).encode()
        request_headers = _with_default(headers, "Content-Type",
                                        "application/x-www-form-urlencoded")
    if timeout.total is None:  # aiohttp's total covers connect, headers and body: keep one
        timeout = aiohttp.ClientTimeout(total=DEFAULT_TIMEOUT.total, connect=timeout.connect,
                                        sock_read=timeout.sock_read,
                                        sock_connect=timeout.sock_connect)
    try:
        async with session.request(
            method,
            url,
            params=params,
            data=data,
            headers=request_headers,
            timeout=timeout,
            allow_redirects=allow_redirects,
        ) as response:
            body = await _read_bounded(response, max_body, where)
            return HttpReply(status=response.status, headers=response.headers, body=body,
                             json=_parse_json(body))
    except (Retryable, AccountMisconfigured):
        raise
    except OutboundRefused:
        raise AccountMisconfigured(refused_message("private_address", where)) from None
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError):
        raise AccountMisconfigured(f"接口地址无效 (invalid API URL: {where})") from None
    except aiohttp.ClientConnectorError as exc:
        raise Retryable(
            f"无法连接平台 (cannot connect: {where}; {_os_reason(exc)})", sent=False,
            cause="connection",
        ) from None
    except aiohttp.ConnectionTimeoutError:
        raise Retryable(f"连接超时 (connect timeout: {where})", sent=False,
                        cause="timeout") from None
    except (aiohttp.ServerTimeoutError, TimeoutError):
        raise OutcomeUnknown(
            f"等待平台响应超时 (timed out waiting for the answer: {where})", cause="timeout"
        ) from None
    except aiohttp.ServerDisconnectedError:
        raise OutcomeUnknown(f"平台断开了连接 (server disconnected: {where})",
                             cause="connection") from None
    except aiohttp.ClientPayloadError:
        raise OutcomeUnknown(f"响应不完整 (incomplete response body: {where})",
                             cause="connection") from None
    except aiohttp.ClientConnectionResetError:
        raise OutcomeUnknown(f"连接被重置 (connection reset: {where})",
                             cause="connection") from None
    except aiohttp.ClientOSError as exc:
        raise OutcomeUnknown(f"连接中断 (connection broken: {where}; {_os_reason(exc)})",
                             cause="connection") from None
    except aiohttp.ClientResponseError as exc:
        raise OutcomeUnknown(
            f"平台响应无法解析 (malformed response, HTTP {exc.status}: {where})"
        ) from None
    except aiohttp.ClientError as exc:
        raise OutcomeUnknown(f"请求失败 (request failed, {type(exc).__name__}: {where})") from None


def refused_message(refusal: str, where: object) -> str:
    """Why the outbound policy stopped a call: what the account asked for, never what (if
    anything) listens there."""
    if refusal == "not_platform_host":
        return (f"接口地址不是该平台的官方地址，未发送 (not sent: the API base is not one of "
                f"the platform's hosts, see YUNCHU_PLATFORM_HOSTS: {where})")
    if refusal == "private_address":
        return (f"出站策略不允许连接内网、本机或元数据地址，未发送 (not sent: the outbound "
                f"policy refuses private, loopback and metadata addresses unless named in "
                f"YUNCHU_OUTBOUND_ALLOW: {where})")
    return f"接口地址无效 (invalid API URL: {where})"


class _Where:
    """"<platform> <METHOD> <url without secrets>", built only when a message needs it."""

    __slots__ = ("platform", "method", "url")

    def __init__(self, platform: str, method: str, url: str | URL):
        self.platform, self.method, self.url = platform, method, url

    def __str__(self) -> str:
        return f"{self.platform} {self.method.upper()} {safe_url(self.url)}"


def _with_default(headers: Mapping[str, str] | None, name: str, value: str) -> CIMultiDict[str]:
    merged = CIMultiDict(headers or {})
    merged.setdefault(name, value)
    return merged


async def _read_bounded(response: aiohttp.ClientResponse, max_body: int, where: _Where) -> bytes:
    if response.content_length is not None and response.content_length > max_body:
        response.close()
        raise _too_large(max_body, where)
    if response.content_length is not None and "Content-Encoding" not in response.headers:
        return await response.read()  # bounded by the length just checked
    # Chunked, or compressed (the length is of the compressed bytes): count as they come.
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > max_body:
            response.close()
            raise _too_large(max_body, where)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_body: int, where: _Where) -> Retryable:
    # The platform did answer, so the request may have taken effect: sent=True.
    return Retryable(f"响应过大 (response larger than {max_body} bytes: {where})", sent=True)


def _parse_json(body: bytes) -> Any | None:
    stripped = body.lstrip()
    if not stripped or stripped[:1] not in b'{["-0123456789tfn':
        return None
    try:
        return orjson.loads(body)
    except ValueError:  # orjson.JSONDecodeError, invalid UTF-8 included
        return None


def _os_reason(exc: OSError) -> str:
    """The OS-level reason without the exception's text (which names host and port only)."""
    errno_name = getattr(exc, "errno", None)
    return exc.strerror or (f"errno {errno_name}" if errno_name else type(exc).__name__)
