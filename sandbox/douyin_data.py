"""Douyin's data APIs in the emulator (figures from ``sandbox.reach``).

- ``video_list`` / ``video_data`` carry each video's running ``statistics`` (``play_count``,
  ``digg_count``, ``comment_count``, ``share_count``).
- ``GET /data/external/user/fans/?open_id&date_type`` (scope ``data.external.user``):
  ``result_list[{date, new_fans, total_fans}]`` for the ``date_type`` (7, 15 or 30) days that
  end yesterday; any other ``date_type`` is the generic parameter error ``2100005``.
- ``GET /data/external/item/base/?open_id&item_id`` (scope ``data.external.item``): a
  video's totals, only for videos created within 30 days (an older one answers an empty
  ``result``).
- A post made in the Douyin app itself, not through yunchu: ``post_outside``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sandbox.core import LedgerPost, SandboxState, shared
from sandbox.reach import ReachModel, china_day

if TYPE_CHECKING:
    from aiohttp import web

    from sandbox.douyin import Item, World

SCOPE_USER_DATA = "data.external.user"
SCOPE_ITEM_DATA = "data.external.item"
DATE_TYPES = (7, 15, 30)
ITEM_WINDOW_S = 30 * 86400


def statistics(state: SandboxState, item: Item) -> dict[str, int]:
    post = state.ledger.get("douyin", item.item_id)
    if post is None:
        return {"play_count": 0, "digg_count": 0, "comment_count": 0, "share_count": 0}
    total = ReachModel(state).total(post)
    return {"play_count": total.plays, "digg_count": total.likes,
            "comment_count": total.comments, "share_count": total.shares}


def item_json(state: SandboxState, item: Item, now: float) -> dict[str, Any]:
    return {**item.as_json(now), "statistics": statistics(state, item)}


async def fans(request: web.Request, world: World) -> web.Response:
    from sandbox.douyin import (
        NO_PERMISSION,
        PARAMETER_ERROR,
        STATE_KEY,
        DouyinError,
        authenticate,
        content_reply,
    )

    state = request.app[STATE_KEY]
    account, token = authenticate(state, world, request)
    if SCOPE_USER_DATA not in token.scopes:
        raise DouyinError(NO_PERMISSION, f"scope {SCOPE_USER_DATA} not granted")
    raw = request.query.get("date_type", "")
    if not raw.isdigit() or int(raw) not in DATE_TYPES:
        raise DouyinError(PARAMETER_ERROR, "date_type must be 7, 15 or 30")
    reach = ReachModel(state)
    yesterday = china_day(state.clock.now()) - timedelta(days=1)
    days = [yesterday - timedelta(days=n) for n in range(int(raw) - 1, -1, -1)]
    rows = [{"date": day.isoformat(),
             "new_fans": reach.follower_day("douyin", account.open_id, day)["followers_gained"],
             "total_fans": reach.followers("douyin", account.open_id, day)} for day in days]
    return content_reply(state, {"result_list": rows})


async def item_base(request: web.Request, world: World) -> web.Response:
    from sandbox.douyin import (
        NO_PERMISSION,
        PARAMETER_ERROR,
        STATE_KEY,
        DouyinError,
        authenticate,
        content_reply,
    )

    state = request.app[STATE_KEY]
    account, token = authenticate(state, world, request)
    if SCOPE_ITEM_DATA not in token.scopes:
        raise DouyinError(NO_PERMISSION, f"scope {SCOPE_ITEM_DATA} not granted")
    item = world.items.get(request.query.get("item_id", ""))
    if item is None or item.open_id != account.open_id:
        raise DouyinError(PARAMETER_ERROR, "item_id not found")
    if state.clock.now() - item.created_at > ITEM_WINDOW_S:
        return content_reply(state, {"result": {}})
    stats = statistics(state, item)
    return content_reply(state, {"result": {
        "total_play": stats["play_count"], "total_like": stats["digg_count"],
        "total_comment": stats["comment_count"], "total_share": stats["share_count"],
        "avg_play_duration": 0}})


def outside_poster(state: SandboxState):  # noqa: ANN201 - a closure over the state
    def post_outside(open_id: str, title: str) -> LedgerPost:
        """A video the account posted in the Douyin app itself, not through yunchu."""
        from sandbox.douyin import PLATFORM, Account, Item, new_item_id, world_for

        world = world_for(state)
        account = world.accounts.get(open_id)
        if account is None:
            account = world.accounts[open_id] = Account(open_id, "")
        now = state.clock.now()
        item = Item(new_item_id(), open_id, shared(title), now, now, 1, None)
        world.items[item.item_id] = item
        account.item_ids.append(item.item_id)
        return state.ledger.create(PLATFORM, open_id, remote_id=item.item_id, title=title,
                                   text=title, extra={"outside": secrets.token_hex(2)})

    return post_outside
