"""Reach figures of the emulated platforms: what each post and account gained on each day.

Every number is a pure function of the post's or account's identity and the sandbox clock, so a
test that advances the clock reads the same figures the platform emulators answer with
(``GET /_sandbox/reach/...``, wired in ``sandbox/server.py``).

The model, per post: a post's views approach a ceiling, ``V(age) = Vmax · (1 − e^(−age/τ))``
with τ = 20 h (reads rise for a day or two, then flatten); likes, shares and comments are fixed
fractions of the views at any moment, so every running total only grows. Growth stops when the
post is deleted. ``Vmax`` is ``tier × 1000 × (0.3…2.0)``, the tier belonging to the account:
one account in ten reaches nobody (tier 0), one in fifteen is far ahead (tier 15–50), the rest
lie between 0.4 and 2. A test can pin an account's tier by registering ``{"reach_tier": x}``
(``POST /_sandbox/accounts/<platform>/<account>``).

Per platform, the views are ``reads`` (WeChat, city app) or ``plays`` (Douyin); Weibo's
public API gives no reads (``statuses/count`` has comments, reposts and attitudes only), so its
reads stay 0. Days are China calendar days (UTC+8), the days the platforms report in.

Followers, per account and day ``n`` (days since 2026-01-01): ``F0 + ⌊tier·12·n⌋ + wobble``;
gained and lost are what explains each day's change, with some churn every day.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sandbox.core import LedgerPost, SandboxState

CHINA = timezone(timedelta(hours=8))
TAU_S = 20 * 3600.0
ORIGIN = date(2026, 1, 1)
FIGURES = ("reads", "likes", "shares", "comments", "plays")
# Where each platform's views go; Weibo's public API has none.
VIEWS_AS = {"wechat": "reads", "cityapp": "reads", "douyin": "plays", "weibo": None}


@functools.lru_cache(maxsize=1 << 20)
def unit(*parts: str) -> float:
    """A stable number in [0, 1) for the given names (cached: a post's are asked for daily)."""
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def china_day(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp, CHINA).date()


def day_start(day: date) -> float:
    return datetime.combine(day, time(), CHINA).timestamp()


@dataclass(frozen=True, slots=True)
class Figures:
    reads: int = 0
    likes: int = 0
    shares: int = 0
    comments: int = 0
    plays: int = 0

    def minus(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, n) - getattr(other, n) for n in FIGURES))

    def plus(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, n) + getattr(other, n) for n in FIGURES))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FIGURES}

    def __bool__(self) -> bool:
        return any(getattr(self, n) for n in FIGURES)


ZERO = Figures()


class ReachModel:
    """The figures of the sandbox's posts and accounts, read off the shared state."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def tier(self, platform: str, account: str) -> float:
        settings = self.state.accounts.registered(platform, account) or {}
        pinned = settings.get("reach_tier")
        if isinstance(pinned, int | float) and not isinstance(pinned, bool):
            return max(float(pinned), 0.0)
        u = unit("tier", platform, account)
        if u < 0.1:
            return 0.0
        if u > 14 / 15:
            return 15 + 35 * unit("far", platform, account)
        return 0.4 + 1.6 * unit("mid", platform, account)

    # ------------------------------------------------------------ posts

    def total(self, post: LedgerPost, at: float | None = None) -> Figures:
        """The post's running totals at ``at`` (default now), frozen once it was deleted."""
        return self.totals(post, [at])[0]

    def totals(self, post: LedgerPost, ats: list[float | None]) -> list[Figures]:
        """``total`` at each of ``ats``, the post's constants worked out once (a datacube
        answer asks for a month of days of every article)."""
        now = self.state.clock.now()
        key = (post.platform, post.account, post.remote_id)
        constants = None
        found = []
        for at in ats:
            at = now if at is None else min(at, now)
            if post.deleted_at is not None:
                at = min(at, post.deleted_at)
            age = at - post.created_at
            if age <= 0:
                found.append(ZERO)
                continue
            if constants is None:
                constants = (
                    self.tier(post.platform, post.account) * 1000 * (0.3 + 1.7 * unit("v", *key)),
                    0.02 + 0.04 * unit("l", *key), 0.01 + 0.02 * unit("s", *key),
                    0.002 + 0.008 * unit("c", *key), VIEWS_AS.get(post.platform, "reads"))
            ceiling, lf, sf, cf, target = constants
            views = math.floor(ceiling * (1 - math.exp(-age / TAU_S)))
            found.append(Figures(
                reads=views if target == "reads" else 0,
                likes=math.floor(views * lf),
                shares=math.floor(views * sf),
                comments=math.floor(views * cf),
                plays=views if target == "plays" else 0,
            ))
        return found

    def on_day(self, post: LedgerPost, day: date) -> Figures:
        """What the post gained on China day ``day`` (up to now when the day is today)."""
        start = day_start(day)
        before, after = self.totals(post, [start, start + 86400])
        return after.minus(before)

    def days(self, post: LedgerPost) -> dict[str, dict[str, int]]:
        """Every day with a change, up to now: ``{"2026-12-03": {...}}``."""
        found: dict[str, dict[str, int]] = {}
        day, last = china_day(post.created_at), china_day(self.state.clock.now())
        while day <= last:
            gained = self.on_day(post, day)
            if gained:
                found[day.isoformat()] = gained.as_dict()
            day += timedelta(days=1)
        return found

    # ------------------------------------------------------------ accounts

    def followers(self, platform: str, account: str, day: date) -> int:
        """Followers at the end of ``day``."""
        tier = self.tier(platform, account)
        base = math.ceil(30 * unit("f0", platform, account)) + math.floor(tier * 4000)
        n = max((day - ORIGIN).days, 0)
        wobble = math.floor(tier * 5 * unit("fw", platform, account, day.isoformat()))
        return base + math.floor(tier * 12 * n) + wobble

    def follower_day(self, platform: str, account: str, day: date) -> dict[str, int]:
        """Followers at the end of ``day`` and how many came and went that day."""
        followers = self.followers(platform, account, day)
        change = followers - self.followers(platform, account, day - timedelta(days=1))
        tier = self.tier(platform, account)
        lost = math.floor(tier * 3 * unit("fl", platform, account, day.isoformat())) + max(
            0, -change)
        return {"followers": followers, "followers_gained": change + lost,
                "followers_lost": lost}

    def account_day(self, platform: str, account: str, day: date) -> dict[str, Any]:
        """The account's figures on ``day``: followers, their change, posts made and the sum
        of its posts' gains."""
        gained = ZERO
        made = 0
        start, end = day_start(day), day_start(day) + 86400
        for post in self.state.ledger.list(platform, account):
            if start <= post.created_at < end:
                made += 1
            if post.created_at < end:
                gained = gained.plus(self.on_day(post, day))
        return {"day": day.isoformat(), **self.follower_day(platform, account, day),
                "posts": made, **gained.as_dict()}


def ready(day: date, now: float, hour: float = 8.0) -> bool:
    """Whether a platform that publishes a day's data at ``hour`` the next morning (China
    time) has ``day``'s data at ``now``."""
    return now >= day_start(day + timedelta(days=1)) + hour * 3600


def seed_history(state: SandboxState, platform: str, accounts: list[str], *, days: int,
                 per_day: int) -> int:
    """Give each account ``per_day`` posts a day over the ``days`` days before today, made
    outside yunchu (for benchmarks: a month of history without a month of pushing)."""
    poster = state.outside_posters[platform]
    today = china_day(state.clock.now())
    made = 0
    for back in range(days, 0, -1):
        start = day_start(today - timedelta(days=back))
        for n in range(per_day):
            at = start + (7 + n * 12 / max(per_day, 1)) * 3600  # 07:00 to 19:00
            with state.clock.pinned(at):
                for account in accounts:
                    poster(account, f"往日稿件{back}-{n}")
                    made += 1
    return made
