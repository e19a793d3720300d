"""Shared state of the emulated platforms: clock, run-time config, post ledger, accounts, counters.

Every platform module (``sandbox/<p>.py``) keeps its wire format to itself and records what the
public would see in one ledger, so tests and benchmarks can ask "what is live where, and how often
was something posted twice?" in one place. All of it lives on the server's event loop; the hot
path is plain dict lookups.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import itertools
import random
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web

# ``unknown_error``: an error the platform does not document, which no retry is known to cure
# (WeChat only: errcode 99999; the other platforms answer normally).
FAULT_KINDS: tuple[str, ...] = ("http_5xx", "timeout", "rate_limit", "busy", "unknown_error")
PostState = Literal["live", "deleted"]
AccountStatus = Literal["ok", "mismatch", "revoked"]
TokenStatus = Literal["ok", "expired", "unknown", "revoked"]


def fingerprint(*parts: str) -> str:
    """A stable, non-reversible digest of credentials (what ``accounts.check`` compares)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def shared(text: str) -> str:
    """The one stored copy of ``text``. A province-wide push sends the same title and body to
    every account and the sandbox keeps every post, so without this its memory grows with
    accounts times article size instead of with accounts."""
    return sys.intern(text)


def iso_utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- clock


class Clock:
    """Wall-clock time plus an offset that tests move forward (token expiry, review delays)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen: float | None = None

    def now(self) -> float:
        if self._frozen is not None:
            return self._frozen + self._offset
        return time.time() + self._offset

    def freeze(self, frozen: bool = True) -> float:
        """Stop (or restart) the clock where it is, so figures that grow with time hold still
        while a test compares them; ``advance`` still moves it."""
        if frozen and self._frozen is None:
            self._frozen = time.time()
        elif not frozen and self._frozen is not None:
            self._offset += self._frozen - time.time()
            self._frozen = None
        return self.now()

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("时钟只能向前拨 (the clock only moves forward)")
        self._offset += seconds
        return self.now()

    @contextlib.contextmanager
    def pinned(self, at: float) -> Iterator[None]:
        """``now()`` is ``at`` inside the block (seeding posts of the past), as before after it.
        Everything runs on the server's event loop, so nothing else sees the pinned time."""
        saved = (self._offset, self._frozen)
        self._offset, self._frozen = 0.0, at
        try:
            yield
        finally:
            self._offset, self._frozen = saved

    def reset(self) -> None:
        self._offset = 0.0
        self._frozen = None


# ---------------------------------------------------------------- config


@dataclass
class SandboxConfig:
    """What can be changed at run time through ``POST /_sandbox/config``."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    faults: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FAULT_KINDS, 0.0))
    timeout_s: float = 30.0
    # When above 0, rate-limit faults carry ``Retry-After: <this>`` (as a gateway in front of a
    # platform may send); at 0 each platform answers its rate limit exactly as the real one does,
    # e.g. Weibo's hourly 10023 reopens at the next clock hour.
    retry_after_s: float = 0.0

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a partial update; validates everything before changing anything."""
        unknown = set(changes) - {"latency_ms", "jitter_ms", "faults", "timeout_s", "retry_after_s"}
        if unknown:
            raise ValueError(f"未知配置项 (unknown config keys): {sorted(unknown)}")
        numbers = {
            name: _non_negative(name, changes[name])
            for name in ("latency_ms", "jitter_ms", "timeout_s", "retry_after_s")
            if name in changes
        }
        faults = dict(self.faults)
        raw_faults = changes.get("faults") or {}
        if not isinstance(raw_faults, Mapping):
            raise ValueError("faults 必须是对象 (faults must be an object)")
        for kind, probability in raw_faults.items():
            if kind not in FAULT_KINDS:
                raise ValueError(f"未知故障类型 (unknown fault kind): {kind}")
            value = _non_negative(f"faults.{kind}", probability)
            if value > 1:
                raise ValueError(f"故障概率须在0到1之间 (fault probability must be 0-1): {kind}")
            faults[kind] = value
        if sum(faults.values()) > 1:
            raise ValueError("故障概率之和不能超过1 (fault probabilities must sum to at most 1)")
        for name, value in numbers.items():
            setattr(self, name, value)
        self.faults = faults

    def as_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "faults": dict(self.faults),
            "timeout_s": self.timeout_s,
            "retry_after_s": self.retry_after_s,
        }

    def copy(self) -> SandboxConfig:
        return replace(self, faults=dict(self.faults))


def _non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} 必须是非负数 (must be a non-negative number)")
    return float(value)


# ---------------------------------------------------------------- ledger


# Per-post and per-account records are slotted dataclasses throughout the sandbox: a
# 100,000-account run keeps several of them per account in memory.
@dataclass(slots=True)
class LedgerPost:
    """One post as the public would see it on a platform."""

    platform: str
    account: str
    remote_id: str
    title: str
    text: str
    created_at: float
    state: PostState = "live"
    deleted_at: float | None = None
    duplicate: bool = False
    # Platform-specific details the module needs to answer get/list calls (urls, markers, media).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.state == "live"

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account,
            "remote_id": self.remote_id,
            "title": self.title,
            "text": self.text,
            "state": self.state,
            "created_at": iso_utc(self.created_at),
        }


@dataclass
class _LedgerTotals:
    created: int = 0
    deleted: int = 0
    duplicates: int = 0


class Ledger:
    """Every post created on every emulated platform, with duplicate detection."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._posts: dict[tuple[str, str], LedgerPost] = {}
        self._by_account: dict[tuple[str, str], dict[str, LedgerPost]] = {}
        # (platform, account, title, text) -> how many such posts are live right now
        self._live_content: dict[tuple[str, str, str, str], int] = {}
        self._totals: dict[str, _LedgerTotals] = {}
        self._ids = itertools.count(1)

    def new_id(self, prefix: str = "") -> str:
        """A fresh remote id, unique within this sandbox run (modules may use their own scheme)."""
        return f"{prefix}{next(self._ids)}{secrets.token_hex(3)}"

    def create(
        self,
        platform: str,
        account: str,
        *,
        remote_id: str,
        title: str,
        text: str,
        extra: dict[str, Any] | None = None,
    ) -> LedgerPost:
        key = (platform, remote_id)
        if key in self._posts:
            raise ValueError(f"remote_id already used on {platform}: {remote_id}")
        title, text = shared(title), shared(text)
        content = (platform, account, title, text)
        live_twins = self._live_content.get(content, 0)
        post = LedgerPost(
            platform=platform,
            account=account,
            remote_id=remote_id,
            title=title,
            text=text,
            created_at=self._clock.now(),
            duplicate=live_twins > 0,
            extra=dict(extra or {}),
        )
        self._posts[key] = post
        self._by_account.setdefault((platform, account), {})[remote_id] = post
        self._live_content[content] = live_twins + 1
        totals = self._totals_of(platform)
        totals.created += 1
        if post.duplicate:
            totals.duplicates += 1
        return post

    def delete(self, platform: str, remote_id: str) -> bool:
        """Take a post down. False when it does not exist or is already deleted."""
        post = self._posts.get((platform, remote_id))
        if post is None or not post.live:
            return False
        post.state = "deleted"
        post.deleted_at = self._clock.now()
        content = (platform, post.account, post.title, post.text)
        remaining = self._live_content[content] - 1
        if remaining:
            self._live_content[content] = remaining
        else:
            del self._live_content[content]
        self._totals_of(platform).deleted += 1
        return True

    def get(self, platform: str, remote_id: str) -> LedgerPost | None:
        return self._posts.get((platform, remote_id))

    def list(
        self,
        platform: str | None = None,
        account: str | None = None,
        state: PostState | None = None,
    ) -> list[LedgerPost]:
        """Posts in creation order, filtered by any of platform, account and state."""
        posts: Iterable[LedgerPost]
        if platform is not None and account is not None:
            posts = self._by_account.get((platform, account), {}).values()
        else:
            posts = self._posts.values()
            if platform is not None:
                posts = (p for p in posts if p.platform == platform)
            if account is not None:
                posts = (p for p in posts if p.account == account)
        if state is not None:
            posts = (p for p in posts if p.state == state)
        return list(posts)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per platform: created, deleted, live, duplicates."""
        return {
            platform: {
                "created": totals.created,
                "deleted": totals.deleted,
                "live": totals.created - totals.deleted,
                "duplicates": totals.duplicates,
            }
            for platform, totals in self._totals.items()
        }

    def _totals_of(self, platform: str) -> _LedgerTotals:
        totals = self._totals.get(platform)
        if totals is None:
            totals = self._totals[platform] = _LedgerTotals()
        return totals


# ---------------------------------------------------------------- accounts


class Accounts:
    """Credentials per (platform, account): accepted on first use, must match afterwards."""

    def __init__(self) -> None:
        self._fingerprints: dict[tuple[str, str], str] = {}
        self._revoked: set[tuple[str, str]] = set()
        self._registered: dict[tuple[str, str], dict[str, Any]] = {}

    def check(self, platform: str, account: str, secret_fingerprint: str) -> AccountStatus:
        key = (platform, account)
        if key in self._revoked:
            return "revoked"
        known = self._fingerprints.setdefault(key, secret_fingerprint)
        return "ok" if secrets.compare_digest(known, secret_fingerprint) else "mismatch"

    def revoke(self, platform: str, account: str) -> None:
        """The account owner withdrew our authorisation: every later call is refused."""
        self._revoked.add((platform, account))

    def restore(self, platform: str, account: str) -> None:
        """The owner authorised the app again (a consent page approved)."""
        self._revoked.discard((platform, account))

    def is_revoked(self, platform: str, account: str) -> bool:
        return (platform, account) in self._revoked

    def register(self, platform: str, account: str, data: Mapping[str, Any]) -> None:
        """Settings a platform needs before first use (e.g. a city app's signing secret)."""
        self._registered[(platform, account)] = dict(data)

    def registered(self, platform: str, account: str) -> dict[str, Any] | None:
        return self._registered.get((platform, account))

    def registrations(self, platform: str) -> list[tuple[str, dict[str, Any]]]:
        """Every registered account of ``platform`` with its settings."""
        return [(account, data) for (p, account), data in self._registered.items()
                if p == platform]


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class IssuedToken:
    platform: str
    account: str
    expires_at: float


class Tokens:
    """Access tokens handed out by the emulated platforms, expiring on the sandbox clock.

    Optional for platform modules; revoking an account invalidates its tokens.
    """

    def __init__(self, clock: Clock, accounts: Accounts) -> None:
        self._clock = clock
        self._accounts = accounts
        self._issued: dict[tuple[str, str], IssuedToken] = {}

    def issue(self, platform: str, account: str, ttl_s: float) -> str:
        token = secrets.token_urlsafe(24)
        self._issued[(platform, token)] = IssuedToken(platform, account, self._clock.now() + ttl_s)
        return token

    def resolve(self, platform: str, token: str) -> tuple[str | None, TokenStatus]:
        """The account behind ``token`` and whether the token is still good."""
        issued = self._issued.get((platform, token))
        if issued is None:
            return None, "unknown"
        if self._accounts.is_revoked(platform, issued.account):
            return issued.account, "revoked"
        if self._clock.now() >= issued.expires_at:
            return issued.account, "expired"
        return issued.account, "ok"

    def invalidate(self, platform: str, account: str) -> None:
        """Forget every token of one account (e.g. a refresh replaced them)."""
        stale = [
            key
            for key, issued in self._issued.items()
            if key[0] == platform and issued.account == account
        ]
        for key in stale:
            del self._issued[key]


# ---------------------------------------------------------------- counters


@dataclass
class _RequestMark:
    """Per-request bookkeeping so the server middleware and a module never count twice."""

    platform: str
    error_counted: bool = False


_current_request: contextvars.ContextVar[_RequestMark | None] = contextvars.ContextVar(
    "sandbox_request", default=None
)


class Counters:
    """Requests and error answers per platform."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.errors: dict[str, int] = {}

    def count_request(self, platform: str) -> None:
        self.requests[platform] = self.requests.get(platform, 0) + 1

    def count_error(self, platform: str) -> None:
        self.errors[platform] = self.errors.get(platform, 0) + 1


# ---------------------------------------------------------------- state


class SandboxState:
    """Everything the emulated platforms share. One instance per sandbox server."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        platforms: Iterable[str] = (),
        rng: random.Random | None = None,
    ) -> None:
        self._initial_config = (config or SandboxConfig()).copy()
        self.platforms: list[str] = list(platforms)
        self.rng = rng or random.Random()
        self.clock = Clock()
        self.config = self._initial_config.copy()
        self.ledger = Ledger(self.clock)
        self.accounts = Accounts()
        self.tokens = Tokens(self.clock, self.accounts)
        self.counters = Counters()
        self._reset_hooks: list[Callable[[], None]] = []
        # Per platform: make a post on (platform, account) as its owner would, outside yunchu
        # (``POST /_sandbox/reach/outside/<platform>/<account>``); set by each module.
        self.outside_posters: dict[str, Callable[[str, str], LedgerPost]] = {}

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Have ``hook`` called by every ``reset()`` (platform modules forget their own memory)."""
        self._reset_hooks.append(hook)

    def reset(self) -> None:
        """Back to a fresh sandbox: empty ledger and accounts, initial config, real time.

        Ledger, accounts, tokens and counters are replaced by new objects, then the modules'
        reset hooks run.
        """
        self.clock.reset()
        self.config = self._initial_config.copy()
        self.ledger = Ledger(self.clock)
        self.accounts = Accounts()
        self.tokens = Tokens(self.clock, self.accounts)
        self.counters = Counters()
        for hook in self._reset_hooks:
            hook()

    # -- faults

    def roll_fault(self, platform: str) -> str | None:
        """Decide whether this business request fails, and how. Call once per request."""
        faults = self.config.faults
        if not any(faults.values()):
            return None
        roll = self.rng.random()
        for kind in FAULT_KINDS:
            roll -= faults[kind]
            if roll < 0:
                return kind
        return None

    def rate_limited(self, response: web.Response) -> web.Response:
        """A rate-limit fault's response, with the configured ``Retry-After`` if any."""
        if self.config.retry_after_s > 0:
            response.headers["Retry-After"] = f"{self.config.retry_after_s:g}"
        return response

    def latency_s(self) -> float:
        """The delay for one platform request: latency ± uniform jitter, never negative."""
        config = self.config
        delay_ms = config.latency_ms
        if config.jitter_ms:
            delay_ms += self.rng.uniform(-config.jitter_ms, config.jitter_ms)
        return max(delay_ms, 0.0) / 1000

    # -- counters

    def count_request(self, platform: str) -> None:
        """Count one platform request; a no-op inside a request the server already counted."""
        if _current_request.get() is None:
            self.counters.count_request(platform)

    def count_error(self, platform: str) -> None:
        """Count one error answer (faults and refusals, whatever the HTTP status)."""
        mark = _current_request.get()
        if mark is not None:
            if mark.error_counted:
                return
            mark.error_counted = True
        self.counters.count_error(platform)

    def begin_request(self, platform: str) -> _RequestMark:
        """Used by the server middleware: counts the request once and marks it as counted.
        Plain calls, not a context manager: this runs for every request the sandbox serves."""
        mark = _RequestMark(platform)
        _current_request.set(mark)
        self.counters.count_request(platform)
        return mark

    def end_request(self, mark: _RequestMark, status: int) -> None:
        """Used by the server middleware: an HTTP error status counts as an error once."""
        if status >= 400 and not mark.error_counted:
            mark.error_counted = True
            self.counters.count_error(mark.platform)

    def leave_request(self) -> None:
        """Used by the server middleware once the request is answered, however it ended."""
        # set, not reset(token): a handler torn down at shutdown may finish in another context
        _current_request.set(None)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per platform: created, deleted, live, duplicates, requests, errors."""
        ledger = self.ledger.stats()
        names = dict.fromkeys(
            [*self.platforms, *ledger, *self.counters.requests, *self.counters.errors]
        )
        empty = {"created": 0, "deleted": 0, "live": 0, "duplicates": 0}
        return {
            name: {
                **ledger.get(name, empty),
                "requests": self.counters.requests.get(name, 0),
                "errors": self.counters.errors.get(name, 0),
            }
            for name in names
        }


# ---------------------------------------------------------------- fault rendering


async def timeout_fault(state: SandboxState, platform: str | None = None) -> web.Response:
    """Render a plain "timeout" fault: stall ``config.timeout_s`` seconds, then answer 504.

    The client normally gives up first; that is the point.
    """
    if platform is not None:
        state.count_error(platform)
    await asyncio.sleep(state.config.timeout_s)
    return web.Response(status=504, text="gateway timeout")
