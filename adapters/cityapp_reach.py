"""City-app reach: ``GET <webhook_url>/stats?day=YYYY-MM-DD``, signed like the story listing
(an extension of the webhook contract, docs/platforms/cityapp.md).

The answer: ``{"day", "final", "stories": [{"article_id", "revision", "reads", "likes",
"shares", "comments", "plays"}], "account": {"followers", "followers_gained",
"followers_lost"}}``, each story's figures being what it gained that day. The app is ours to
ask at any time, so ``latest_day`` is today (``final`` false until the day is over). A receiver
without the extension (404/405/501) has no figures: ``Unsupported``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from adapters.base import AccountRef, Retryable, Unsupported
from adapters.cityapp import (
    EXTENSION_MISSING,
    CityAppAdapter,
    Endpoint,
    check_query_reply,
    error_code,
    parse_remote_id,
)
from adapters.reach import AccountFigures, Collected, CollectRequest, DayFigures, Figures

CHINA = timezone(timedelta(hours=8))


class CityAppReach(CityAppAdapter):
    @staticmethod
    def latest_day(now: datetime) -> date:
        return now.astimezone(CHINA).date()

    async def collect(self, account: AccountRef, request: CollectRequest,
                      out: Collected) -> Collected:
        endpoint = Endpoint.of(account)
        by_article: dict[str, str] = {}
        for post in request.posts:
            try:
                by_article[parse_remote_id(post.remote_id)[0]] = post.remote_id
            except ValueError:
                continue
        days = sorted(set(request.account_days) | {request.latest})
        for day in days:
            await out.spend("stats")
            reply = await self._query(endpoint, f"{endpoint.url}/stats?day="
                                      + quote(day.isoformat()))
            if reply.status in EXTENSION_MISSING and error_code(reply) != "unknown_app":
                raise Unsupported("该城市客户端不提供统计接口 (this city app reports no figures)",
                                  code=reply.status)
            check_query_reply(reply)
            body = reply.json if isinstance(reply.json, dict) else None
            if body is None:
                raise Retryable("城市客户端返回无法解析 (unreadable figures from the city app)")
            final = bool(body.get("final"))
            for story in body.get("stories") or []:
                remote_id = by_article.get(str(story.get("article_id")))
                if remote_id is not None:
                    out.days.append(DayFigures(remote_id, day, Figures(
                        *(_int(story.get(n)) for n in ("reads", "likes", "shares", "comments",
                                                       "plays"))), final))
            app = body.get("account") or {}
            out.accounts.append(AccountFigures(
                day=day, followers=app.get("followers"),
                followers_gained=app.get("followers_gained"),
                followers_lost=app.get("followers_lost"), final=final))
        return out


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
