"""What every platform adapter is: one error taxonomy, one receipt shape, one interface.

The fan-out engine (hub) only ever sees these types; it never parses a platform's
wire format. An adapter never retries on its own: it raises, and the engine decides.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import aiohttp

    from channels.base import Post


# ---------------------------------------------------------------- error taxonomy


class AdapterError(Exception):
    """Base of every failure an adapter reports. Each class's ``kind`` is the value the hub
    stores as the delivery's error kind (``hub.fanout.vocabulary.ErrorKind``).

    ``reason`` is a sentence an editor can read (Chinese first); ``code`` is the platform's
    own error code when there is one. Neither ever contains a token or secret.
    """

    kind = "error"
    cause: str | None = None

    def __init__(self, reason: str, *, code: str | int | None = None, sent: bool = False,
                 cause: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        # True when the request may have reached the platform (timeout after send,
        # connection reset mid-response): the outcome is unknown, not failed.
        self.sent = sent
        # What the call ran into ("unavailable", "busy", "timeout", "connection",
        # "rate_limited"): a fact the adapter saw; which causes pass by themselves is the
        # engine's call (``hub.fanout.vocabulary.Cause``).
        if cause is not None:
            self.cause = cause


class Retryable(AdapterError):
    """Transient: 5xx, platform busy, connection failure. Retry with backoff."""

    kind = "retryable"


class OutcomeUnknown(Retryable):
    """The request was sent but no answer came back (timeout, reset). Look up before resending."""

    kind = "unknown"

    def __init__(self, reason: str, *, code: str | int | None = None, cause: str | None = None):
        super().__init__(reason, code=code, sent=True, cause=cause)


class RateLimited(Retryable):
    """The platform (or our own budget) says slow down; retry after ``retry_after`` seconds."""

    kind = "rate_limited"
    cause = "rate_limited"

    def __init__(self, reason: str, *, retry_after: float = 1.0, code: str | int | None = None):
        super().__init__(reason, code=code)
        self.retry_after = retry_after


class Withheld(AdapterError):
    """The engine took back its go-ahead between a publish's steps (``go_ahead``): the post
    was not made public. Not a platform error; the engine cancels or holds the delivery."""

    kind = "skipped"


# The engine's go-ahead for the publish running in this task (``set_go_ahead``): a publish of
# several calls (upload, draft, submit) asks it before the call that makes the post public,
# so a withdrawal clicked meanwhile stops it there instead of publishing and removing it.
_GO_AHEAD: ContextVar[Callable[[], bool] | None] = ContextVar("yunchu_go_ahead", default=None)


def set_go_ahead(check: Callable[[], bool] | None) -> Token[Callable[[], bool] | None]:
    return _GO_AHEAD.set(check)


def reset_go_ahead(token: Token[Callable[[], bool] | None]) -> None:
    _GO_AHEAD.reset(token)


def go_ahead() -> None:
    """Called by an adapter before the step that makes a post public: raises ``Withheld``
    when the engine says stop (an adapter that never calls it simply publishes)."""
    check = _GO_AHEAD.get()
    if check is not None and not check():
        raise Withheld("撤稿已开始，未发布 (withdrawn before the post went public)")


class AuthFailed(AdapterError):
    """Credentials rejected even after one refresh: the account must be flagged, no retry."""

    kind = "auth"


class AccountMisconfigured(AdapterError):
    """Missing or malformed credentials, unknown app, wrong API base: fix the account."""

    kind = "misconfigured"


class ContentRejected(AdapterError):
    """The platform refuses this content (limits, sensitive words, duplicate): permanent."""

    kind = "content_rejected"


class Unsupported(AdapterError):
    """The platform cannot do this by API (e.g. withdraw): a person must act (manual task)."""

    kind = "unsupported"


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class AccountRef:
    """One platform account as an adapter needs it: decrypted credentials, resolved API base."""

    id: str
    platform: str
    api_base: str
    credentials: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class Receipt:
    """What the platform said about a post."""

    remote_id: str
    url: str | None = None
    state: str = "published"  # published | pending_review | rejected | deleted
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    """What a platform lets us do by API; drives manual tasks and polling."""

    publish: bool = True
    withdraw: bool = True
    status_polling: bool = False
    # A publish answers with the job's id, not the post's: a status call names the post (WeChat's
    # article id), and a removal needs that name. The worker then polls soon after publishing.
    status_names_post: bool = False
    lookup: bool = True
    notes: str = ""


class TokenCache(Protocol):
    """Shared access-token cache (Redis in production) so workers never fight over tokens."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_s: int) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def get_many(self, keys: list[str]) -> list[str | None]: ...

    async def set_many(self, values: dict[str, str], ttl_s: int) -> None: ...


class Adapter(Protocol):
    """One platform's API client. One instance per worker process and platform."""

    platform: str
    capabilities: Capabilities

    def __init__(self, session: aiohttp.ClientSession, tokens: TokenCache) -> None: ...

    async def publish(self, account: AccountRef, post: Post, *, marker: str) -> Receipt:
        """Publish ``post``. ``marker`` (the delivery id) is embedded so lookup can find it."""
        ...

    async def status(self, account: AccountRef, remote_id: str) -> Receipt: ...

    async def withdraw(self, account: AccountRef, remote_id: str) -> None:
        """Remove the post. Already gone counts as success."""
        ...

    async def lookup(self, account: AccountRef, marker: str) -> Receipt | None:
        """Does a post carrying ``marker`` exist on the platform? Used after a crash."""
        ...

    # Optional: ``async def warm(self, accounts: Sequence[AccountRef]) -> None`` prepares for a
    # batch of calls to these accounts (say, reads their cached tokens in one round trip). The
    # engine calls it when the adapter has it; it must not raise for a single bad account.
