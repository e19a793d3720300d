"""Douyin reach: the account's video list with each video's running ``statistics`` (plays,
likes, comments, shares), outside yunchu too, and its followers from
``/data/external/user/fans/`` (scope ``data.external.user``, ``date_type`` 7: the seven days to
yesterday; ``new_fans`` and ``total_fans`` per day).

Douyin's data is for the day before (``latest_day`` is yesterday) and its per-video data only
covers videos made within 30 days, the collection window. Statistics are running totals as of
the call: the collector books the growth since its last collection on today.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from adapters.base import AccountRef
from adapters.douyin import LIST_PAGE, V1, DouyinAdapter, entries
from adapters.reach import (
    AccountFigures,
    Collected,
    CollectRequest,
    Figures,
    ListedPost,
    RunningTotal,
    marker_in,
)

CHINA = timezone(timedelta(hours=8))
FANS = "/data/external/user/fans/"
MAX_PAGES = 20
WINDOW_DAYS = 30


class DouyinReach(DouyinAdapter):
    @staticmethod
    def latest_day(now: datetime) -> date:
        return now.astimezone(CHINA).date() - timedelta(days=1)

    async def collect(self, account: AccountRef, request: CollectRequest,
                      out: Collected) -> Collected:
        # The list is where the statistics are: always the whole window, not only what is new.
        since = min(request.list_since, request.now - timedelta(days=WINDOW_DAYS))
        cursor: Any = 0
        for _ in range(MAX_PAGES):
            await out.spend("video/video_list")
            data = await self._api(account, "GET", f"{V1}/video_list/",
                                   params={"cursor": cursor, "count": LIST_PAGE})
            older = False
            for entry in entries(data):
                published = datetime.fromtimestamp(int(entry.get("create_time") or 0), UTC)
                if published < since:
                    older = True
                    continue
                item_id = str(entry.get("item_id"))
                title = str(entry.get("title") or "")
                out.listed.append(ListedPost(item_id, title[:200], entry.get("share_url") or None,
                                             published, marker=marker_in(title)))
                stats = entry.get("statistics") or {}
                out.totals.append(RunningTotal(item_id, Figures(
                    plays=_int(stats.get("play_count")), likes=_int(stats.get("digg_count")),
                    comments=_int(stats.get("comment_count")),
                    shares=_int(stats.get("share_count")))))
            if older or not data.get("has_more") or data.get("cursor") in (None, cursor):
                break
            cursor = data["cursor"]
        if request.account_days:
            await out.spend("data/external/user/fans")
            data = await self._api(account, "GET", FANS, params={"date_type": 7})
            days = set(request.account_days)
            previous: int | None = None
            for row in sorted(data.get("result_list") or [], key=lambda r: str(r.get("date"))):
                day = date.fromisoformat(str(row.get("date")))
                total, gained = _int(row.get("total_fans")), _int(row.get("new_fans"))
                if day in days:
                    lost = None if previous is None else max(gained - (total - previous), 0)
                    out.accounts.append(AccountFigures(day=day, followers=total,
                                                       followers_gained=gained,
                                                       followers_lost=lost))
                previous = total
        return out


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
