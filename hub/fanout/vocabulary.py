"""The engine's words, typed: what a batch does, the states a delivery row goes through, what
the attempt history records, and the kinds of error.

Every enum is a ``StrEnum`` whose values are the strings already stored in PostgreSQL
(``deliveries.state``, ``deliveries.error_kind``, ``delivery_attempts.action`` and ``.outcome``)
and carried by queued jobs in Redis: a member *is* its string, so rows and jobs written before
these enums existed read back unchanged.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class Action(StrEnum):
    """What a batch does to its deliveries. The API calls the first one a push (``POST
    /api/v1/items/<id>/push`` writes a dispatch); each of its deliveries is then *published*
    to its account: inside the engine the word is ``PUBLISH``, and the stored value too."""

    PUBLISH = "publish"
    WITHDRAW = "withdraw"

    @property
    def in_flight(self) -> DeliveryState:
        """The state of a claimed row while this worker holds it."""
        return DeliveryState.SENDING if self is Action.PUBLISH else DeliveryState.WITHDRAWING

    @property
    def claimable(self) -> tuple[DeliveryState, ...]:
        if self is Action.PUBLISH:
            return (DeliveryState.QUEUED, DeliveryState.RETRY)
        return (DeliveryState.WITHDRAW_QUEUED, DeliveryState.WITHDRAW_RETRY)

    @property
    def retry_state(self) -> DeliveryState:
        return DeliveryState.RETRY if self is Action.PUBLISH else DeliveryState.WITHDRAW_RETRY


class DeliveryState(StrEnum):
    """``deliveries.state``: a row carries its whole life, publish phase then withdraw phase."""

    # publishing
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a worker for a publish
    RETRY = "retry"
    # published, or at rest without being live
    PUBLISHED = "published"
    PENDING_REVIEW = "pending_review"  # sent; the platform is still reviewing it
    FAILED = "failed"
    CANCELLED = "cancelled"  # withdrawn before it went out
    SKIPPED = "skipped"
    # withdrawing
    WITHDRAW_QUEUED = "withdraw_queued"
    WITHDRAWING = "withdrawing"  # claimed by a worker for a removal
    WITHDRAW_RETRY = "withdraw_retry"
    MANUAL = "manual"  # a person must remove it (a manual task is open)
    WITHDRAWN = "withdrawn"

    @property
    def is_live(self) -> bool:
        """The platform shows it (or will once its review passes)."""
        return self in (DeliveryState.PUBLISHED, DeliveryState.PENDING_REVIEW)


class ErrorKind(StrEnum):
    """``deliveries.error_kind``: why the last attempt did not succeed. The adapter errors'
    ``kind`` (``adapters.base``) are the first eight; the engine adds the rest. (A row a push
    skipped carries its skip code instead: see ``fitness``.)"""

    ERROR = "error"
    RETRYABLE = "retryable"
    UNKNOWN = "unknown"  # sent, no answer: it may be live
    RATE_LIMITED = "rate_limited"
    AUTH = "auth"
    MISCONFIGURED = "misconfigured"
    CONTENT_REJECTED = "content_rejected"
    UNSUPPORTED = "unsupported"
    CANNOT_RENDER = "cannot_render"
    SKIPPED = "skipped"
    MANUAL = "manual"


class Cause(StrEnum):
    """``AdapterError.cause``: what a failed call ran into, as the adapter saw it (adapters set
    these strings; an error without one has none of these causes). This enum is the one place
    that says which causes are *transient*, passing by themselves: those are retried for
    ``YUNCHU_TRANSIENT_RETRY_S`` however many attempts that takes, the others within
    ``YUNCHU_RETRY_MAX_ATTEMPTS``."""

    UNAVAILABLE = "unavailable"  # HTTP 5xx, a gateway's error page
    BUSY = "busy"  # the platform says it is busy (WeChat -1, Weibo 10001...)
    TIMEOUT = "timeout"  # no answer in time
    CONNECTION = "connection"  # could not connect, or the connection broke
    RATE_LIMITED = "rate_limited"  # the platform says slow down

    @property
    def transient(self) -> bool:
        return self in TRANSIENT_CAUSES

    @classmethod
    def of(cls, error: object) -> Cause | None:
        """The cause an adapter error carries, if it is one of these."""
        try:
            return cls(getattr(error, "cause", None))
        except ValueError:
            return None


TRANSIENT_CAUSES = frozenset({Cause.UNAVAILABLE, Cause.BUSY, Cause.TIMEOUT, Cause.CONNECTION,
                              Cause.RATE_LIMITED})


def is_transient(error: object) -> bool:
    """Whether an adapter error is transient (see ``Cause``)."""
    cause = Cause.of(error)
    return cause is not None and cause.transient


class Step(StrEnum):
    """``delivery_attempts.outcome``, what one attempt did, when it was not an adapter error
    (then the history records the error's ``ErrorKind``)."""

    PUBLISHED = "published"
    FOUND = "found"  # a lookup found the post an earlier attempt sent
    WITHDRAWN = "withdrawn"
    NOT_FOUND = "not_found"  # nothing to remove
    ACCOUNT_CLOSED = "account_closed"
    NO_ACCOUNT = "no_account"
    SKIPPED = "skipped"
    FLAGGED = "flagged"
    CREDENTIALS = "credentials"
    CANNOT_RENDER = "cannot_render"
    FENCED = "fenced"  # cancelled by a withdrawal before it went out
    HELD = "held"  # not sent while a withdrawal of its item was being written
    THROTTLED = "throttled"  # the shared rate budget said wait
    UNHEARD = "unheard"  # this worker's heartbeat lapsed before the call
    UNVERIFIABLE = "unverifiable"
    GAVE_UP = "gave_up"
    INTERRUPTED = "interrupted"  # the worker holding the claim died
    MANUAL = "manual"
    CRASH = "crash"  # a bug in the engine; retried


class Lookup(Enum):
    """What an outcome does to ``deliveries.needs_lookup`` (set when a send may have reached
    the platform unanswered: the next attempt asks the platform before it sends again)."""

    KEEP = None  # leave the column as it is
    NEEDED = True
    SETTLED = False

    @classmethod
    def of(cls, needed: bool) -> Lookup:
        return cls.NEEDED if needed else cls.SETTLED
