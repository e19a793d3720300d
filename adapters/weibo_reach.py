"""Weibo reach: ``statuses/count`` for up to 100 posts a call, the user's own timeline for what
it posted (outside yunchu too), and ``users/show`` for its followers (``account/get_uid`` first
when the account's credentials name no uid).

Weibo gives running totals only (comments, reposts = shares, attitudes = likes); the public API
has no read counts (those need the commercial media API), so Weibo posts have no reads. Totals
are as of the call: ``latest_day`` is today and the collector books the growth since its last
collection on today. Unknown and deleted ids are left out of ``statuses/count``'s answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from adapters.base import AccountRef, Retryable
from adapters.http import call
from adapters.reach import (
    AccountFigures,
    Collected,
    CollectRequest,
    Figures,
    ListedPost,
    RunningTotal,
    marker_in,
)
from adapters.weibo import (
    PLATFORM,
    TIMELINE,
    TIMELINE_PAGE_SIZE,
    WeiboAdapter,
    access_token,
    endpoint,
    failure,
    has_error,
    status_id,
    weibo_url,
)

CHINA = timezone(timedelta(hours=8))
COUNT = "/2/statuses/count.json"
USERS_SHOW = "/2/users/show.json"
GET_UID = "/2/account/get_uid.json"
COUNT_IDS = 100
MAX_PAGES = 10


class WeiboReach(WeiboAdapter):
    @staticmethod
    def latest_day(now: datetime) -> date:
        return now.astimezone(CHINA).date()

    async def collect(self, account: AccountRef, request: CollectRequest,
                      out: Collected) -> Collected:
        out.listed = await self._timeline(account, request.list_since, out)
        ids = list(dict.fromkeys([p.remote_id for p in request.posts]
                                 + [p.remote_id for p in out.listed]))
        for start in range(0, len(ids), COUNT_IDS):
            answer = await self._get(account, COUNT, {"ids": ",".join(ids[start:start
                                                                            + COUNT_IDS])}, out)
            for row in answer if isinstance(answer, list) else []:
                if isinstance(row, Mapping) and row.get("id") is not None:
                    out.totals.append(RunningTotal(str(row["id"]), Figures(
                        likes=_int(row.get("attitudes")), shares=_int(row.get("reposts")),
                        comments=_int(row.get("comments")))))
        uid = (account.credentials.get("uid") or "").strip()
        if not uid:
            found = await self._get(account, GET_UID, {}, out)
            uid = str(found.get("uid") or "") if isinstance(found, Mapping) else ""
        if uid:
            user = await self._get(account, USERS_SHOW, {"uid": uid}, out)
            if isinstance(user, Mapping) and user.get("followers_count") is not None:
                out.accounts.append(AccountFigures(day=request.today,
                                                   followers=_int(user["followers_count"]),
                                                   final=False))
        return out

    async def _timeline(self, account: AccountRef, since: datetime,
                        out: Collected) -> list[ListedPost]:
        found: list[ListedPost] = []
        for page in range(1, MAX_PAGES + 1):
            body = await self._get(account, TIMELINE,
                                   {"count": str(TIMELINE_PAGE_SIZE), "page": str(page)}, out)
            statuses = body.get("statuses") if isinstance(body, Mapping) else None
            if not isinstance(statuses, list):
                raise Retryable("微博返回无法解析 (unreadable answer to user_timeline.json)")
            for status in statuses:
                published = created_at(status)
                if published is None:
                    continue
                if published < since:
                    return found
                text = str(status.get("text") or "")
                found.append(ListedPost(status_id(status), text[:200], weibo_url(status),
                                        published, marker=marker_in(text)))
            if len(statuses) < TIMELINE_PAGE_SIZE:
                break
        return found

    async def _get(self, account: AccountRef, path: str, params: dict[str, str],
                   out: Collected) -> Any:
        await out.spend(path.removeprefix("/2/"))
        reply = await call(self.session, "GET", endpoint(account, path), platform=PLATFORM,
                           timeout=self.timeout,
                           params={"access_token": access_token(account), **params})
        if not reply.ok or has_error(reply):
            raise failure(reply)
        return reply.json


def created_at(status: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.strptime(str(status.get("created_at")), "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0

