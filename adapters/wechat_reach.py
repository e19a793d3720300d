"""WeChat reach: 数据统计 (datacube) and the published-article listing, per account.

Per collection of one account:

- ``freepublish/batchget`` (newest first, 20 a page, ``no_content``) lists what the account
  published since ``list_since``, outside yunchu too (its quota is 100 calls a day).
- ``datacube/getarticletotaldetail`` per publish day (span 1): every article published that
  day with its running totals per ``stat_date`` for 30 days; differenced into per-day gains.
  A publish day is asked when its posts were never collected and then at ages 1, 2, 3, 7, 14
  and 30 days: each answer carries the whole series, so nothing between is lost.
- ``datacube/getbizsummary`` per account day (span 1): reads, shares, 在看 + likes, comments.
- ``datacube/getusersummary`` and ``getusercumulate`` (span 7): followers gained, lost, total.

Availability: a day's data exists after 08:00 (China) the next morning, so ``latest_day`` is
yesterday from 08:00 and the day before until then; ``is_delay: true`` marks the answer
provisional (``final`` False) and the collector asks again. Articles are matched to posts by
their URL (the delivery's ``remote_url``, the listing's ``url``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from adapters.base import AccountRef
from adapters.reach import (
    AccountFigures,
    Collected,
    CollectRequest,
    DayFigures,
    Figures,
    ListedPost,
)
from adapters.wechat import ARTICLE_PREFIX, WeChatAdapter, app_of, marker_of

CHINA = timezone(timedelta(hours=8))
READY_HOUR = 8
PAGE = 20
WINDOW_DAYS = 30
# Ages (days between the publish day and the newest day with data) at which a publish day is
# asked again.
DUE_AGES = frozenset({0, 1, 2, 6, 13, 29})
USER_SPAN = 7


class WeChatReach(WeChatAdapter):
    @staticmethod
    def latest_day(now: datetime) -> date:
        china = now.astimezone(CHINA)
        back = 1 if china.hour >= READY_HOUR else 2
        return china.date() - timedelta(days=back)

    async def collect(self, account: AccountRef, request: CollectRequest,
                      out: Collected) -> Collected:
        app = app_of(account)
        out.listed = await self._listed(app, request.list_since, out)
        by_url = {p.url: p.remote_id for p in request.posts if p.url}
        by_url.update({p.url: p.remote_id for p in out.listed if p.url})
        for day in self._due_days(request, out.listed):
            body = await self._cube(app, "getarticletotaldetail", day, day, out)
            out.days.extend(article_days(body, by_url))
        for day in request.account_days:
            if day > request.latest:
                continue
            body = await self._cube(app, "getbizsummary", day, day, out)
            out.accounts.extend(biz_days(body))
        for begin, end in spans([d for d in request.account_days if d <= request.latest],
                                USER_SPAN):
            summary = await self._cube(app, "getusersummary", begin, end, out)
            cumulate = await self._cube(app, "getusercumulate", begin, end, out)
            out.accounts.extend(user_days(summary, cumulate))
        return out

    def _due_days(self, request: CollectRequest, listed: Sequence[ListedPost]) -> list[date]:
        first = request.latest - timedelta(days=WINDOW_DAYS - 1)
        known = {p.remote_id for p in request.posts}
        new = {p.published_at.astimezone(CHINA).date() for p in listed
               if p.remote_id not in known}  # posts never collected: their days are due
        days = {p.published_day for p in request.posts} | new
        due = {d for d in days if first <= d <= request.latest
               and ((request.latest - d).days in DUE_AGES or d in request.uncollected_days
                    or d in new)}
        return sorted(due)

    async def _listed(self, app: Any, since: datetime, out: Collected) -> list[ListedPost]:
        found: list[ListedPost] = []
        offset = 0
        while True:
            body = await self._call(app, "freepublish/batchget",
                                    json={"offset": offset, "count": PAGE, "no_content": 1})
            await out.spend("freepublish/batchget")
            items = body.get("item") if isinstance(body.get("item"), list) else []
            older = False
            for item in items:
                published = datetime.fromtimestamp(int(item.get("update_time") or 0), UTC)
                if published < since:
                    older = True
                    break
                news = (item.get("content") or {}).get("news_item") or [{}]
                first = news[0] if isinstance(news[0], dict) else {}
                if first.get("is_deleted"):
                    continue
                found.append(ListedPost(remote_id=ARTICLE_PREFIX + str(item.get("article_id")),
                                        title=first.get("title"), url=first.get("url"),
                                        published_at=published,
                                        marker=marker_of(first.get("content_source_url") or "")))
            if older or len(items) < PAGE:
                return found
            offset += PAGE

    async def _cube(self, app: Any, name: str, begin: date, end: date,
                    out: Collected) -> dict[str, Any]:
        await out.spend(f"datacube/{name}")
        return await self._call(app, f"/datacube/{name}",
                                json={"begin_date": begin.isoformat(),
                                      "end_date": end.isoformat()})


def spans(days: Iterable[date], longest: int) -> list[tuple[date, date]]:
    """Consecutive runs of ``days``, none longer than ``longest`` days."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and (day - runs[-1][1]).days == 1 and (day - runs[-1][0]).days < longest:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def article_days(body: dict[str, Any], by_url: dict[str, str]) -> list[DayFigures]:
    delayed = bool(body.get("is_delay"))
    found: list[DayFigures] = []
    for entry in body.get("list") or []:
        remote_id = by_url.get(entry.get("url") or "")
        if remote_id is None:
            continue
        details = sorted(entry.get("detail_list") or [], key=lambda d: str(d.get("stat_date")))
        last = len(details) - 1
        reads0 = likes0 = shares0 = comments0 = 0  # the running totals of the day before
        for n, detail in enumerate(details):
            reads = _int(detail.get("read_user"))
            likes = _int(detail.get("zaikan_user")) + _int(detail.get("like_user"))
            shares = _int(detail.get("share_user"))
            comments = _int(detail.get("comment_count"))
            gained = Figures(reads - reads0, likes - likes0, shares - shares0,
                             comments - comments0)
            reads0, likes0, shares0, comments0 = reads, likes, shares, comments
            found.append(DayFigures(remote_id, date.fromisoformat(detail["stat_date"]),
                                    gained, not (delayed and n == last)))
    return found


def biz_days(body: dict[str, Any]) -> list[AccountFigures]:
    final = not body.get("is_delay")
    found = []
    for row in body.get("list") or []:
        detail = row.get("detail") or {}
        figures = Figures(reads=_int(detail.get("read_user")),
                          likes=_int(detail.get("zaikan_user")) + _int(detail.get("like_user")),
                          shares=_int(detail.get("share_user")),
                          comments=_int(detail.get("comment_count")))
        found.append(AccountFigures(day=date.fromisoformat(row["ref_date"]), figures=figures,
                                    final=final))
    return found


def user_days(summary: dict[str, Any], cumulate: dict[str, Any]) -> list[AccountFigures]:
    final = not (summary.get("is_delay") or cumulate.get("is_delay"))
    gained: dict[str, int] = {}
    lost: dict[str, int] = {}
    for row in summary.get("list") or []:
        day = str(row.get("ref_date"))
        gained[day] = gained.get(day, 0) + _int(row.get("new_user"))
        lost[day] = lost.get(day, 0) + _int(row.get("cancel_user"))
    totals = {str(row.get("ref_date")): _int(row.get("cumulate_user"))
              for row in cumulate.get("list") or []}
    return [AccountFigures(day=date.fromisoformat(day), followers=totals.get(day),
                           followers_gained=gained.get(day, 0), followers_lost=lost.get(day, 0),
                           final=final)
            for day in sorted(set(gained) | set(totals))]

