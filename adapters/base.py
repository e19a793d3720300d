"""What every platform adapter is: one error taxonomy, one receipt shape, one interface.

The fan-out engine (hub) only ever sees these types; it never parses a platform's
wire format. An adapter never retries on its own: it raises, and the engine decides.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import datetime
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
    # Values an adapter derives from the credentials (token cache keys, a parsed webhook
    # endpoint), kept with the ref: a worker keeps one ref per account and credentials
    # (``Executor.ref_of``), and deriving them on every call was ~2 % of its CPU. Not an
    # __init__ argument: ``dataclasses.replace`` (new credentials) starts an empty one.
    memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def derived(self, name: str, compute: Callable[[AccountRef], Any]) -> Any:
        """``compute(self)``, once per ref (an error is raised again each time, not kept)."""
        try:
            return self.memo[name]
        except KeyError:
            value = self.memo[name] = compute(self)
            return value


@dataclass(frozen=True)
class Receipt:
    """What the platform said about a post."""

    remote_id: str
    url: str | None = None
    state: str = "published"  # published | pending_review | rejected | deleted
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Interaction:
    """What a platform lets us do with comments and users' messages by API (回应): drives
    intake, and the limits the hub enforces before it sends a reply."""

    list_comments: bool = False  # comments under a post can be polled
    comment_page_max: int = 50  # the most comments one list call returns
    receive_messages: bool = False  # users' messages reach the hub (pushed or polled)
    can_reply_comment: bool = False
    one_reply_per_comment: bool = False  # WeChat: a second reply is refused (88005)
    reply_max_chars: int | None = None  # None: no documented limit
    replies_per_hour: int | None = None  # per account; None: no documented limit
    can_elect: bool = False  # WeChat 精选 (markelect)
    can_hide: bool = False  # hide or delete a user's comment
    can_send_message: bool = False  # answer a user's message (WeChat 客服消息)
    # Hours after the user's last message in which an answer may be sent; None: no window.
    message_reply_window_h: int | None = None
    notes: str = ""


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
    interaction: Interaction = Interaction()


@dataclass(frozen=True)
class PostRef:
    """A post yunchu published, as the comment calls need it."""

    remote_id: str  # the delivery's remote_id
    url: str | None = None
    # The platform's comment key for the post when it differs from remote_id (WeChat
    # "<msg_data_id>_<index>"); None until the adapter has found it (``CommentPage.post_key``).
    key: str | None = None


@dataclass(frozen=True)
class RemoteReply:
    """The account's own reply as the platform shows it under a comment."""

    text: str
    created_at: datetime
    remote_id: str | None = None


@dataclass(frozen=True)
class RemoteComment:
    """One user comment under a post. ``user_id`` is personal data: never log it."""

    remote_id: str  # unique for the account (platform ids that are per post get the post key)
    thread_id: str  # the top-level comment this one is under (itself when top level)
    comment_id: str  # the id the platform's reply/elect/hide calls take
    text: str
    created_at: datetime
    user_id: str | None = None
    author_name: str | None = None
    elected: bool = False
    reply: RemoteReply | None = None


@dataclass(frozen=True)
class CommentPage:
    comments: tuple[RemoteComment, ...]
    cursor: str | None  # where the next call starts (kept by the hub, opaque to it)
    has_more: bool = False
    post_key: str | None = None  # found for the post on this call (kept in PostRef.key)
    total: int | None = None


@dataclass(frozen=True)
class RemoteMessage:
    """One message a user sent an account. ``user_id`` is personal data: never log it."""

    remote_id: str
    user_id: str
    msg_type: str  # text | image | voice | video | location | link | event
    text: str
    created_at: datetime
    author_name: str | None = None


@dataclass(frozen=True)
class MessagePage:
    messages: tuple[RemoteMessage, ...]
    cursor: str | None
    has_more: bool = False


@dataclass(frozen=True)
class SentReply:
    remote_id: str | None
    sent_at: datetime


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

    # Interaction (回应): what ``capabilities.interaction`` says the platform allows. An adapter
    # that cannot do one raises ``Unsupported``; ``NoInteraction`` is the default body.

    async def list_comments(self, account: AccountRef, post: PostRef, cursor: str | None, *,
                            count: int) -> CommentPage:
        """Comments under ``post`` after ``cursor`` (None: from the start), oldest first."""
        ...

    async def list_messages(self, account: AccountRef, cursor: str | None) -> MessagePage:
        """Users' messages after ``cursor``, for platforms that do not push them."""
        ...

    async def reply_comment(self, account: AccountRef, post: PostRef, comment_id: str,
                            text: str) -> SentReply: ...

    async def send_message(self, account: AccountRef, user_id: str, text: str) -> SentReply:
        """Answer a user's message (WeChat 客服消息, within its window)."""
        ...

    async def elect_comment(self, account: AccountRef, post: PostRef, comment_id: str,
                            elected: bool) -> None: ...

    async def hide_comment(self, account: AccountRef, post: PostRef, comment_id: str) -> None:
        """Hide or delete a user's comment where the platform allows it."""
        ...

    # Optional: ``async def warm(self, accounts: Sequence[AccountRef]) -> None`` prepares for a
    # batch of calls to these accounts (say, reads their cached tokens in one round trip). The
    # engine calls it when the adapter has it; it must not raise for a single bad account.


class NoInteraction:
    """Interaction calls a platform adapter has not implemented (yet): each raises
    ``NotImplementedError`` naming itself, so a missing piece is loud, never a silent no-op.
    Calls the platform cannot make at all raise ``Unsupported`` in the adapter instead."""

    platform: str

    def _missing(self, call: str) -> NotImplementedError:
        return NotImplementedError(f"{self.platform}: {call} is not implemented")

    async def list_comments(self, account: AccountRef, post: PostRef, cursor: str | None, *,
                            count: int) -> CommentPage:
        raise self._missing("list_comments")

    async def list_messages(self, account: AccountRef, cursor: str | None) -> MessagePage:
        raise self._missing("list_messages")

    async def reply_comment(self, account: AccountRef, post: PostRef, comment_id: str,
                            text: str) -> SentReply:
        raise self._missing("reply_comment")

    async def send_message(self, account: AccountRef, user_id: str, text: str) -> SentReply:
        raise self._missing("send_message")

    async def elect_comment(self, account: AccountRef, post: PostRef, comment_id: str,
                            elected: bool) -> None:
        raise self._missing("elect_comment")

    async def hide_comment(self, account: AccountRef, post: PostRef, comment_id: str) -> None:
        raise self._missing("hide_comment")
