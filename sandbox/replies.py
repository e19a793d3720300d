"""The account's answers on the emulated platforms: replies under comments, 精选, deleting a
user's comment, and WeChat customer-service messages, with the platforms' rules and errors.

- WeChat ``comment/reply/add`` {msg_data_id, index, user_comment_id, content}: one reply per
  comment (a second → ``88005``), empty or over ``WECHAT_REPLY_MAX`` characters → ``88007``,
  unknown comment → ``88008``; ``comment/markelect`` / ``unmarkelect``; ``comment/delete``
  (a deleted comment refuses a reply with ``88004``); ``comment/reply/delete`` (none: ``87009``).
- WeChat ``message/custom/send`` {touser, msgtype "text", text {content}}: only within 48 h of
  that user's last message to the account, else ``45015``.
- Weibo ``POST /2/comments/reply.json`` {cid, id, comment, rip}: over 140 characters
  (URL-decoded) → ``20012``; unknown comment → ``20201``; more than ``WEIBO_REPLIES_PER_HOUR``
  comments an hour by one user → ``10024``.

Every accepted call lands in the book, which ``GET /_sandbox/replies`` shows: what a test reads
to see a reply on the platform, and to check that no call was made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from sandbox.chatter import SimComment, chatter_of
from sandbox.comments import MSG_DATA_ID_BASE, weibo_comment_id
from sandbox.core import SandboxState

WECHAT_REPLY_MAX = 600
WECHAT_MESSAGE_WINDOW_S = 48 * 3600
WEIBO_REPLY_MAX = 140
WEIBO_REPLIES_PER_HOUR = 60
BOOK_KEY = "_reply_book"


@dataclass
class ReplyBook:
    """What the account did, in order; and calls tried, accepted or not, per platform+action."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    deleted: set[tuple[str, int]] = field(default_factory=set)
    weibo_hours: dict[tuple[str, int], int] = field(default_factory=dict)
    # (appid, openid) → when the user's last message was pushed: the 48 h window's start,
    # kept when the chatter's settings change (its streams start over then).
    last_heard: dict[tuple[str, str], float] = field(default_factory=dict)

    def heard(self, appid: str, openid: str, at: float) -> None:
        key = (appid, openid)
        self.last_heard[key] = max(at, self.last_heard.get(key, at))

    def call(self, platform: str, action: str) -> None:
        key = f"{platform}:{action}"
        self.calls[key] = self.calls.get(key, 0) + 1

    def add(self, **entry: Any) -> None:
        self.entries.append(entry)

    def clear(self) -> None:
        self.entries.clear()
        self.calls.clear()
        self.deleted.clear()
        self.weibo_hours.clear()
        self.last_heard.clear()


def book_of(state: SandboxState) -> ReplyBook:
    found = getattr(state, BOOK_KEY, None)
    if found is None:
        found = ReplyBook()
        setattr(state, BOOK_KEY, found)
        state.on_reset(found.clear)
    return found


# ---------------------------------------------------------------- WeChat


def _wechat_comment(state: SandboxState, world: Any, appid: str, body: dict[str, Any],
                    error: type[Exception]) -> tuple[str, SimComment]:
    if world.settings(appid).get("verified", True) is False:
        raise error(48001)
    try:
        msg_data_id = int(body.get("msg_data_id"))
        index = int(body.get("index") or 0)
        number = int(body.get("user_comment_id"))
    except (TypeError, ValueError):
        raise error(47001) from None
    job = world.publishes.get(msg_data_id - MSG_DATA_ID_BASE)
    if (job is None or job.appid != appid or not job.settled or job.outcome != 0
            or not 0 <= index < len(job.articles) or job.deleted[index]):
        raise error(88001)
    if job.articles[index].get("need_open_comment") != 1:
        raise error(88000)
    post = state.ledger.get("wechat", job.article_id or "")
    if post is None:
        raise error(88001)
    key = f"{msg_data_id}_{index}"
    for comment in chatter_of(state).comments(post, f"#{index}"):
        if comment.number == number:
            if (key, number) in book_of(state).deleted:
                raise error(88004)
            return key, comment
    raise error(88008)


def wechat_reply_add(state: SandboxState, world: Any, appid: str, body: dict[str, Any],
                     error: type[Exception]) -> dict[str, Any]:
    book = book_of(state)
    book.call("wechat", "reply")
    key, comment = _wechat_comment(state, world, appid, body, error)
    content = body.get("content")
    if not isinstance(content, str) or not content.strip() or len(content) > WECHAT_REPLY_MAX:
        raise error(88007)
    if comment.replied:
        raise error(88005)
    now = state.clock.now()
    comment.replied = {"content": content, "create_time": now}
    book.add(platform="wechat", action="reply", account=appid, post=key,
             comment=str(comment.number), text=content, at=now)
    return {"errcode": 0, "errmsg": "ok"}


def wechat_reply_delete(state: SandboxState, world: Any, appid: str, body: dict[str, Any],
                        error: type[Exception]) -> dict[str, Any]:
    book = book_of(state)
    book.call("wechat", "reply_delete")
    key, comment = _wechat_comment(state, world, appid, body, error)
    if not comment.replied:
        raise error(87009)
    comment.replied = None
    book.add(platform="wechat", action="reply_delete", account=appid, post=key,
             comment=str(comment.number), at=state.clock.now())
    return {"errcode": 0, "errmsg": "ok"}


def wechat_elect(state: SandboxState, world: Any, appid: str, body: dict[str, Any],
                 error: type[Exception], elected: bool) -> dict[str, Any]:
    book = book_of(state)
    action = "markelect" if elected else "unmarkelect"
    book.call("wechat", action)
    key, comment = _wechat_comment(state, world, appid, body, error)
    comment.elected = elected
    book.add(platform="wechat", action=action, account=appid, post=key,
             comment=str(comment.number), at=state.clock.now())
    return {"errcode": 0, "errmsg": "ok"}


def wechat_delete(state: SandboxState, world: Any, appid: str, body: dict[str, Any],
                  error: type[Exception]) -> dict[str, Any]:
    book = book_of(state)
    book.call("wechat", "delete")
    key, comment = _wechat_comment(state, world, appid, body, error)
    book.deleted.add((key, comment.number))
    book.add(platform="wechat", action="delete", account=appid, post=key,
             comment=str(comment.number), at=state.clock.now())
    return {"errcode": 0, "errmsg": "ok"}


def last_message_at(state: SandboxState, appid: str, openid: str) -> float | None:
    """When ``openid`` last wrote to ``appid``: pushed messages (sandbox/wechat_messages.py),
    and the chatter's current message stream (messages not pushed, e.g. no message server)."""
    # The stream the message pusher reads; grown only by the chatter, read here.
    stream = chatter_of(state)._streams.get(("msg", appid))
    times = [m.at for m in (stream.items if stream else []) if "o" + m.user[:27] == openid]
    pushed = book_of(state).last_heard.get((appid, openid))
    if pushed is not None:
        times.append(pushed)
    return max(times) if times else None


def wechat_custom_send(state: SandboxState, world: Any, appid: str, body: dict[str, Any],
                       error: type[Exception]) -> dict[str, Any]:
    book = book_of(state)
    book.call("wechat", "custom_send")
    touser = body.get("touser")
    text = body.get("text")
    if not isinstance(touser, str) or not touser or body.get("msgtype") != "text" \
            or not isinstance(text, dict) or not isinstance(text.get("content"), str):
        raise error(47001)
    now = state.clock.now()
    last = last_message_at(state, appid, touser)
    if last is None or now - last > WECHAT_MESSAGE_WINDOW_S:
        raise error(45015)
    book.add(platform="wechat", action="custom_send", account=appid, user=touser,
             text=text["content"], at=now)
    return {"errcode": 0, "errmsg": "ok"}


WECHAT_ERRMSG: dict[int, str] = {
    45015: "response out of time limit or subscription is canceled",
    87009: "reply is not exists",
    88004: "comment was deleted by user",
    88005: "already reply",
    88007: "reply content beyond max len or content len is zero",
    88008: "comment is not exists",
}


# ---------------------------------------------------------------- Weibo


def weibo_reply(state: SandboxState, uid: str, post: Any, form: dict[str, Any],
                error: Any) -> dict[str, Any]:
    """``comments/reply.json`` on a live post ``post``; ``error(status, code, message)``."""
    book = book_of(state)
    book.call("weibo", "reply")
    from sandbox.weibo import weibo_length

    raw = form.get("comment")
    text = unquote(raw) if isinstance(raw, str) else ""
    if not text.strip():
        raise error(400, 10016, "Miss required parameter (comment)")
    if weibo_length(text) > WEIBO_REPLY_MAX:
        raise error(400, 20012, "Text too long, please input text less than 140 characters!")
    cid = str(form.get("cid") or "")
    comments = chatter_of(state).comments(post)
    target = next((c for c in comments if str(weibo_comment_id(post, c.number)) == cid), None)
    if target is None:
        raise error(400, 20201, "Target weibo comment does not exist!")
    now = state.clock.now()
    hour = (uid, int(now // 3600))
    if book.weibo_hours.get(hour, 0) >= WEIBO_REPLIES_PER_HOUR:
        raise error(403, 10024, "User requests for (/comments/reply) out of rate limit!")
    book.weibo_hours[hour] = book.weibo_hours.get(hour, 0) + 1
    new_id = 9_000_000_000_000_000 + len(book.entries) + 1
    book.add(platform="weibo", action="reply", account=uid, post=post.remote_id, comment=cid,
             text=text, at=now, id=str(new_id))
    return {"id": new_id, "idstr": str(new_id), "text": text,
            "reply_comment": {"id": int(cid), "idstr": cid, "text": target.text},
            "status": {"id": int(post.remote_id), "idstr": post.remote_id}}


# ---------------------------------------------------------------- report


def routes(state: SandboxState) -> list[web.RouteDef]:
    """``GET /_sandbox/replies[?platform=]``: the book."""

    async def listing(request: web.Request) -> web.Response:
        book = book_of(state)
        platform = request.query.get("platform")
        entries = [e for e in book.entries if not platform or e["platform"] == platform]
        return web.json_response({"entries": entries, "calls": book.calls},
                                 dumps=lambda v: json.dumps(v, ensure_ascii=False))

    return [web.get("/_sandbox/replies", listing)]


# ---------------------------------------------------------------- Douyin


def douyin_reply(state: SandboxState, post: Any, body: dict[str, Any], open_id: str,
                 error: Any) -> dict[str, Any]:
    """``/item/comment/reply/`` {item_id, comment_id, content} under a live video;
    ``error(code, sub_description)`` is sandbox.douyin's DouyinError."""
    from sandbox.comments import douyin_comment_id

    book = book_of(state)
    book.call("douyin", "reply")
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        raise error(2100005, "content is required")
    cid = str(body.get("comment_id") or "")
    comments = chatter_of(state).comments(post)
    if not any(douyin_comment_id(post.remote_id, c.number) == cid for c in comments):
        raise error(2100005, "comment_id not found")
    now = state.clock.now()
    new_id = f"@reply{len(book.entries) + 1}="
    book.add(platform="douyin", action="reply", account=open_id, post=post.remote_id,
             comment=cid, text=content, at=now, id=new_id)
    return {"comment_id": new_id}
