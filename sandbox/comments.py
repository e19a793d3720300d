"""Comment list calls of the emulated platforms, over ``sandbox/chatter.py``'s comments.

- WeChat ``POST /cgi-bin/comment/list`` {msg_data_id, index (0-based), begin, count 1-49,
  type 0/1/2} → ``{errcode, errmsg, total, comment[]}``; 88000 when the article has no comments
  open, 88001 for an unknown or deleted article, 88010 for a count out of range, 48001 for an
  account registered ``verified: false``. ``msg_data_id`` is the one ``freepublish/submit``
  answered (and the ``mid`` of the article URL).
- Weibo ``GET /2/comments/show.json`` {id, since_id, max_id, count ≤ 200, page} → newest first,
  ``{comments[], total_number, previous_cursor, next_cursor}``; 20101 for an unknown or deleted
  post; each call counts against the user's hourly limit like every Weibo call.
- Douyin ``GET /item/comment/list/`` {open_id, item_id (URL-encoded), cursor, count 1-50,
  sort_type} → ``{list[], cursor, has_more}``; scope ``item.comment``.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from sandbox.chatter import SimComment, chatter_of
from sandbox.core import LedgerPost, SandboxState

CHINA_TZ = timezone(timedelta(hours=8))
MSG_DATA_ID_BASE = 1_000_000_000  # sandbox: msg_data_id = publish_id + this
WEIBO_COMMENT_BASE = 5_000_000_000_000_000


# ---------------------------------------------------------------- WeChat


def wechat_list(state: SandboxState, world: Any, appid: str, body: dict[str, Any],
                error: type[Exception]) -> dict[str, Any]:
    """``comment/list``; ``world`` is sandbox.wechat's World, ``error`` its WeChatError."""
    if world.settings(appid).get("verified", True) is False:
        raise error(48001)
    try:
        msg_data_id = int(body.get("msg_data_id"))
        index = int(body.get("index") or 0)
        begin = int(body.get("begin") or 0)
        count = int(body.get("count"))
        kind = int(body.get("type") or 0)
    except (TypeError, ValueError):
        raise error(47001) from None
    if not 0 < count < 50:
        raise error(88010)
    if begin < 0 or kind not in (0, 1, 2):
        raise error(47001)
    job = world.publishes.get(msg_data_id - MSG_DATA_ID_BASE)
    if (job is None or job.appid != appid or not job.settled or job.outcome != 0
            or not 0 <= index < len(job.articles) or job.deleted[index]):
        raise error(88001)
    if job.articles[index].get("need_open_comment") != 1:
        raise error(88000)
    post = state.ledger.get("wechat", job.article_id or "")
    if post is None:
        raise error(88001)
    comments = chatter_of(state).comments(post, f"#{index}")
    if kind:
        comments = [c for c in comments if c.elected == (kind == 2)]
    page = comments[begin:begin + count]
    return {"errcode": 0, "errmsg": "ok", "total": len(comments),
            "comment": [_wechat_comment(c) for c in page]}


def _wechat_comment(c: SimComment) -> dict[str, Any]:
    item: dict[str, Any] = {"user_comment_id": c.number, "openid": "o" + c.user[:27],
                            "create_time": int(c.at), "content": c.text,
                            "comment_type": 1 if c.elected else 0}
    if c.replied:
        item["reply"] = {"content": c.replied["content"],
                         "create_time": int(c.replied["create_time"])}
    return item


# ---------------------------------------------------------------- Weibo


def weibo_comment_id(post: LedgerPost, number: int) -> int:
    """Ids grow with time under one post, like Weibo's (``since_id`` compares them)."""
    spread = int(hashlib.sha256(post.remote_id.encode()).hexdigest()[:12], 16) % 10**9
    return WEIBO_COMMENT_BASE + spread * 10**6 + number


def weibo_show(state: SandboxState, post: LedgerPost, since_id: int, max_id: int, count: int,
               page: int) -> dict[str, Any]:
    comments = chatter_of(state).comments(post)
    chosen = [c for c in comments
              if weibo_comment_id(post, c.number) > since_id
              and (not max_id or weibo_comment_id(post, c.number) <= max_id)]
    newest_first = chosen[::-1][(page - 1) * count:page * count]
    status = {"id": int(post.remote_id), "idstr": post.remote_id, "mid": post.remote_id}
    return {"comments": [_weibo_comment(post, c, status) for c in newest_first],
            "total_number": len(chosen), "previous_cursor": 0, "next_cursor": 0,
            "hasvisible": False}


def _weibo_comment(post: LedgerPost, c: SimComment, status: dict[str, Any]) -> dict[str, Any]:
    comment_id = weibo_comment_id(post, c.number)
    uid = str(int(c.user[1:13], 16))
    return {
        "created_at": datetime.fromtimestamp(c.at, CHINA_TZ).strftime("%a %b %d %H:%M:%S +0800 %Y"),
        "id": comment_id, "idstr": str(comment_id), "mid": str(comment_id), "text": c.text,
        "source": '<a href="https://weibo.com/" rel="nofollow">微博 weibo.com</a>',
        "user": {"id": int(uid), "idstr": uid, "screen_name": c.name},
        "status": status,
    }


# ---------------------------------------------------------------- Douyin


def douyin_comment_id(item_id: str, number: int) -> str:
    """Douyin's ids carry ``@ + / =``: a client that does not URL-encode them breaks."""
    digest = hashlib.sha256(f"{item_id}:{number}".encode()).digest()[:12]
    return "@" + base64.b64encode(digest).decode() + f"+{number}="


def douyin_list(state: SandboxState, post: LedgerPost, cursor: int, count: int,
                ascending: bool) -> dict[str, Any]:
    comments = chatter_of(state).comments(post)
    ordered = comments if ascending else comments[::-1]
    page = ordered[cursor:cursor + count]
    return {
        "list": [{"comment_id": douyin_comment_id(post.remote_id, c.number),
                  "comment_user_id": c.user, "content": c.text, "create_time": int(c.at),
                  "digg_count": 0, "reply_comment_total": 0, "top": False,
                  "nick_name": c.name, "avatar": ""} for c in page],
        "cursor": cursor + len(page),
        "has_more": cursor + len(page) < len(ordered),
    }

