"""Citizens who write: comments under live posts and users' messages to WeChat accounts,
generated on the sandbox clock (``state.clock``), deterministic for a seed.

Off until configured through ``POST /_sandbox/chatter`` (``comments_per_day`` per live post,
``messages_per_day`` per WeChat account registered with a ``callback_url``, ``abusive_share``,
``question_share``, ``seed``, ``ahead_s``: the commenters' clock ahead of the sandbox clock,
which tests move with ``/_sandbox/clock/advance`` or this). Nothing runs in the background for comments: a post's comments
are worked out when a list call asks, from its creation time to the clock's now, the same for
any order of calls. Messages are pushed (``sandbox/wechat_messages.py``) when they fall due.

Each comment and message is one of three kinds: ``abusive`` (its text carries a term from
``ABUSIVE_TERMS``, which a test puts on the hub's negative list), ``question`` (needs an
answer) or ``remark``. ``GET /_sandbox/chatter/comments`` tells tests what was generated.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.core import LedgerPost, SandboxState

ABUSIVE_TERMS = ("骗子政府", "加微信领红包", "狗官")
QUESTIONS = (
    "请问这个政策什么时候开始实施？", "办理需要带哪些材料？", "我们小区的情况应该找哪个部门？",
    "线上可以办理吗？具体入口在哪里？", "请问补贴什么时候发放？",
)
REMARKS = ("支持！", "辛苦了，点赞", "好消息，转发了", "学习了", "希望越来越好")
NAMES = ("市民小王", "老李", "云城居民", "热心网友", "张女士", "一位家长")


@dataclass(slots=True)
class SimComment:
    number: int  # 1, 2, … under its post: WeChat's per-article user_comment_id
    at: float
    kind: str  # remark | question | abusive
    text: str
    user: str  # the commenter's platform id (personal data on the hub's side)
    name: str
    elected: bool = False  # WeChat 精选
    replied: dict[str, Any] | None = None  # the account's reply (the reply emulation), if any


@dataclass(slots=True)
class _Stream:
    rng: random.Random
    next_at: float
    items: list[SimComment] = field(default_factory=list)


@dataclass
class ChatterConfig:
    comments_per_day: float = 0.0
    messages_per_day: float = 0.0
    abusive_share: float = 0.1
    question_share: float = 0.3
    seed: int = 1
    max_per_post: int = 5000
    # The commenters' own clock runs this far ahead of the sandbox clock: a day of comments
    # without moving the sandbox clock, whose tokens and webhook tolerances would move too.
    ahead_s: float = 0.0

    def update(self, changes: Mapping[str, Any]) -> None:
        known = {"comments_per_day", "messages_per_day", "abusive_share", "question_share",
                 "seed", "max_per_post", "ahead_s"}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"未知配置项 (unknown chatter keys): {sorted(unknown)}")
        for name, value in changes.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} 必须是非负数 (must be a non-negative number)")
            if name.endswith("_share") and value > 1:
                raise ValueError(f"{name} 须在0到1之间 (must be 0-1)")
        for name, value in changes.items():
            setattr(self, name, int(value) if name in ("seed", "max_per_post") else float(value))

    def as_dict(self) -> dict[str, Any]:
        return {"comments_per_day": self.comments_per_day,
                "messages_per_day": self.messages_per_day, "abusive_share": self.abusive_share,
                "question_share": self.question_share, "seed": self.seed,
                "max_per_post": self.max_per_post, "ahead_s": self.ahead_s}


class Chatter:
    """Comment and message streams, one per post and per account, keyed by a stable id."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.config = ChatterConfig()
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._on_configure: list[Callable[[], None]] = []
        state.on_reset(self.reset)

    def on_configure(self, hook: Callable[[], None]) -> None:
        """Have ``hook`` called after each change of the settings (the message pusher)."""
        self._on_configure.append(hook)

    def reset(self) -> None:
        self.config = ChatterConfig()
        self._streams.clear()

    def configure(self, changes: Mapping[str, Any]) -> None:
        self.config.update(changes)
        self._streams.clear()  # a new rate or seed: the streams start over from it
        for hook in self._on_configure:
            hook()

    # ------------------------------------------------------------ comments

    def comments(self, post: LedgerPost, part: str = "") -> list[SimComment]:
        """The post's comments up to now, oldest first; none come after it was deleted.
        ``part``: one article of a multi-article post (WeChat's ``index``)."""
        rate = self.config.comments_per_day
        if rate <= 0:
            return []
        until = post.deleted_at if post.deleted_at is not None else self.now()
        return self._grow(("post", f"{post.platform}:{post.remote_id}{part}"),
                          post.created_at, rate, until)

    def messages(self, appid: str, since: float) -> list[SimComment]:
        """An account's users' messages up to now (``since``: when the account was set up)."""
        rate = self.config.messages_per_day
        if rate <= 0:
            return []
        return self._grow(("msg", appid), since, rate, self.now())

    def now(self) -> float:
        """The commenters' time: the sandbox clock plus ``ahead_s``."""
        return self.state.clock.now() + self.config.ahead_s

    def _grow(self, key: tuple[str, str], start: float, per_day: float,
              until: float) -> list[SimComment]:
        stream = self._streams.get(key)
        if stream is None:
            digest = hashlib.sha256(f"{self.config.seed}:{key[0]}:{key[1]}".encode()).digest()
            rng = random.Random(int.from_bytes(digest[:8], "big"))
            stream = self._streams[key] = _Stream(rng, start + _gap(rng, per_day))
        while stream.next_at <= until and len(stream.items) < self.config.max_per_post:
            stream.items.append(self._one(stream.rng, len(stream.items) + 1, stream.next_at))
            stream.next_at += _gap(stream.rng, per_day)
        return stream.items

    def _one(self, rng: random.Random, number: int, at: float) -> SimComment:
        roll = rng.random()
        if roll < self.config.abusive_share:
            kind, text = "abusive", f"{rng.choice(ABUSIVE_TERMS)}，{rng.choice(REMARKS)}"
        elif roll < self.config.abusive_share + self.config.question_share:
            kind, text = "question", rng.choice(QUESTIONS)
        else:
            kind, text = "remark", rng.choice(REMARKS)
        user = "u" + hashlib.sha256(f"{rng.random()}".encode()).hexdigest()[:20]
        return SimComment(number=number, at=at, kind=kind, text=text, user=user,
                          name=rng.choice(NAMES))

    def listing(self, platform: str | None = None) -> list[dict[str, Any]]:
        """What was generated so far, for tests: per post, each comment's number and kind."""
        out = []
        for (kind, key), stream in self._streams.items():
            if kind != "post" or (platform and not key.startswith(platform + ":")):
                continue
            post_platform, _, remote_id = key.partition(":")
            out.append({"platform": post_platform, "remote_id": remote_id,
                        "comments": [{"number": c.number, "kind": c.kind, "text": c.text}
                                     for c in stream.items]})
        return out


def _gap(rng: random.Random, per_day: float) -> float:
    """Seconds to the next one: exponential, ``per_day`` on average (never 0)."""
    return max(-math.log(1.0 - rng.random()) * 86400.0 / per_day, 0.001)


CHATTER_KEY = "_chatter"


def chatter_of(state: SandboxState) -> Chatter:
    """The state's one ``Chatter`` (made on first use, kept on the state)."""
    found = getattr(state, CHATTER_KEY, None)
    if found is None:
        found = Chatter(state)
        setattr(state, CHATTER_KEY, found)
    return found


def routes(state: SandboxState) -> list[web.RouteDef]:
    """``GET/POST /_sandbox/chatter`` (the settings) and ``GET /_sandbox/chatter/comments``."""

    async def get_config(request: web.Request) -> web.Response:
        return web.json_response(chatter_of(state).config.as_dict())

    async def set_config(request: web.Request) -> web.Response:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("请求体必须是JSON对象 (body must be a JSON object)")
            chatter_of(state).configure(changes)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=json.dumps({"error": str(exc)}, ensure_ascii=False),
                                     content_type="application/json") from None
        return web.json_response(chatter_of(state).config.as_dict())

    async def comments(request: web.Request) -> web.Response:
        listing = chatter_of(state).listing(request.query.get("platform") or None)
        return web.json_response({"posts": listing},
                                 dumps=lambda v: json.dumps(v, ensure_ascii=False))

    return [web.get("/_sandbox/chatter", get_config), web.post("/_sandbox/chatter", set_config),
            web.get("/_sandbox/chatter/comments", comments)]
