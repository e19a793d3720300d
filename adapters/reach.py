"""Reach collection, the adapter side: what the collector asks a platform and what comes back.

Each platform has one module (``adapters/<platform>_reach.py``) with a client whose one call,
``collect``, makes that platform's statistics and listing calls for one account and answers in
the shapes below. The collector (``hub/services/reach/``) never reads a wire format; it only
turns these into rows. Errors are the adapters' taxonomy (``adapters/base.py``).

Two kinds of post figures, because the platforms give two kinds:

- ``DayFigures``: what a post gained on a given day (WeChat datacube's per-day running totals
  differenced, the city app's per-day answers). ``final`` False: ask again later.
- ``RunningTotal``: what a post has now (Weibo ``statuses/count``, Douyin ``statistics``);
  the collector turns it into today's increment.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from adapters.base import AccountRef

FIGURES = ("reads", "likes", "shares", "comments", "plays")
MARKER_RE = re.compile(r"(?:^|[?&\s])d=([A-Za-z0-9_-]+)")


@dataclass(frozen=True, slots=True)
class Figures:
    reads: int = 0
    likes: int = 0
    shares: int = 0
    comments: int = 0
    plays: int = 0

    # Spelled out, not looped over FIGURES: a first collection differences a million of these.
    def minus(self, other: Figures) -> Figures:
        return Figures(self.reads - other.reads, self.likes - other.likes,
                       self.shares - other.shares, self.comments - other.comments,
                       self.plays - other.plays)

    def as_dict(self) -> dict[str, int]:
        return {"reads": self.reads, "likes": self.likes, "shares": self.shares,
                "comments": self.comments, "plays": self.plays}

    def __bool__(self) -> bool:
        return bool(self.reads or self.likes or self.shares or self.comments or self.plays)


@dataclass(frozen=True, slots=True)
class KnownPost:
    """A post the hub already knows on this account (a delivery or a listed outside post)."""

    post_id: str
    remote_id: str
    url: str | None
    published_day: date  # China day


@dataclass(frozen=True, slots=True)
class ListedPost:
    """A post the platform lists on the account (made through yunchu or not)."""

    remote_id: str
    title: str | None
    url: str | None
    published_at: datetime
    # The delivery id yunchu put in the post (its marker): a post yunchu made, whatever state
    # its delivery is in, never one made outside it.
    marker: str | None = None


def marker_in(text: str) -> str | None:
    """The marker (``d=<delivery id>``) in a post's text or link, as publishing writes it."""
    found = MARKER_RE.search(text or "")
    return found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class DayFigures:
    remote_id: str
    day: date
    figures: Figures
    final: bool = True


@dataclass(frozen=True, slots=True)
class RunningTotal:
    remote_id: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class AccountFigures:
    day: date
    followers: int | None = None
    followers_gained: int | None = None
    followers_lost: int | None = None
    # The platform's own account-level figures for the day (WeChat getbizsummary); None: the
    # collector sums the day's post increments instead.
    figures: Figures | None = None
    final: bool = True


@dataclass(frozen=True)
class CollectRequest:
    """What to collect for one account.

    ``today`` is the China day at ``now``; ``latest`` the newest day whose data the platform
    has (never asked for later); ``account_days`` the days whose account figures are missing or
    provisional; ``posts`` the account's posts still in their collection window; ``list_since``
    how far back to list the account's posts.
    """

    now: datetime
    today: date
    latest: date
    account_days: tuple[date, ...]
    posts: tuple[KnownPost, ...]
    list_since: datetime
    # Publish days whose posts have never been collected (WeChat asks per publish day).
    uncollected_days: frozenset[date] = frozenset()


@dataclass
class Collected:
    listed: list[ListedPost] = field(default_factory=list)
    days: list[DayFigures] = field(default_factory=list)
    totals: list[RunningTotal] = field(default_factory=list)
    accounts: list[AccountFigures] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)  # interface -> calls made
    # Awaited before every call: the collector's rate budget (its own, not fan-out's).
    budget: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    async def spend(self, interface: str) -> None:
        if self.budget is not None:
            await self.budget()
        self.calls[interface] = self.calls.get(interface, 0) + 1


class ReachClient(Protocol):
    platform: str
    # The newest day a platform has data for, given the time now (availability rules).
    @staticmethod
    def latest_day(now: datetime) -> date: ...

    async def collect(self, account: AccountRef, request: CollectRequest,
                      out: Collected) -> Collected:
        """Fill ``out`` (whose ``budget`` is awaited before each call) and return it."""
        ...
