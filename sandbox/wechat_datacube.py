"""WeChat 数据统计 (datacube) of the emulated official accounts, mounted at ``/wechat/datacube/``.

Interfaces (``POST …?access_token=``, body ``{"begin_date", "end_date"}``):

- ``getarticletotaldetail`` (span 1 day): every article *published* on that day, outside yunchu
  too, with ``detail_list`` holding its running totals per ``stat_date`` for up to 30 days:
  ``read_user``, ``share_user``, ``zaikan_user``, ``like_user``, ``comment_count``. Each entry
  also carries ``title`` and ``url`` (a sandbox choice: WeChat's field list is unconfirmed).
  Only the first article of a multi-article publish (``msgid`` ``…_1``) has figures.
- ``getbizsummary`` (span 1): the account's day: ``detail.{read_user, share_user,
  zaikan_user, like_user, comment_count}``.
- ``getusersummary`` / ``getusercumulate`` (span 7): ``new_user``/``cancel_user`` and
  ``cumulate_user`` per day.

Rules: ``end_date`` at most yesterday (China), ``begin_date ≤ end_date`` and the span within the
interface's maximum, else ``61501 date range error``; a malformed date ``61500``. A day's data
exists from ``data_ready_hour`` (default 08:00) the next morning: before that yesterday answers an
empty ``list``; until ``data_final_hour`` (default 10:00) it answers provisional figures (90 %)
with ``is_delay: true``. Accounts registered ``{"verified": false}`` answer ``48001``. Through a
第三方平台 token the 图文 interfaces need func set 7 and the user ones func set 2 (``61007``).
Figures come from ``sandbox.reach``. WeChat documents no daily quota for these: the sandbox
allows 5000 calls per interface per app and day (``45009`` beyond).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.reach import ReachModel, china_day, day_start

if TYPE_CHECKING:
    from sandbox.wechat import Publish, WeChatSandbox

SPANS = {"getarticletotaldetail": 1, "getbizsummary": 1, "getusersummary": 7,
         "getusercumulate": 7}
QUOTA_PER_DAY = 5000
WINDOW_DAYS = 30
PROVISIONAL = 0.9


class Datacube:
    def __init__(self, wechat: WeChatSandbox) -> None:
        self.wechat = wechat
        self.reach = ReachModel(wechat.state)

    def routes(self) -> list[web.RouteDef]:
        handlers: dict[str, Callable[[str, web.Request], Awaitable[dict[str, Any]]]] = {
            "getarticletotaldetail": self.article_total_detail,
            "getbizsummary": self.biz_summary,
            "getusersummary": self.user_summary,
            "getusercumulate": self.user_cumulate,
        }
        return [web.post(f"/datacube/{name}", self.wechat.wrap(f"datacube/{name}", handler))
                for name, handler in handlers.items()]

    # ------------------------------------------------------------ checks

    async def days(self, appid: str, request: web.Request, name: str) -> list[date]:
        from sandbox.wechat import WeChatError, json_body

        if self.wechat.world.settings(appid).get("verified", True) is False:
            raise WeChatError(48001)
        body = await json_body(request)
        try:
            begin = date.fromisoformat(str(body.get("begin_date")))
            end = date.fromisoformat(str(body.get("end_date")))
        except ValueError:
            raise WeChatError(61500) from None
        today = china_day(self.wechat.state.clock.now())
        if end >= today or begin > end or (end - begin).days + 1 > SPANS[name]:
            raise WeChatError(61501)
        return [begin + timedelta(days=n) for n in range((end - begin).days + 1)]

    def readiness(self, appid: str, day: date) -> tuple[bool, bool]:
        """(any data yet, final) for ``day``'s figures at the sandbox clock's now."""
        settings = self.wechat.world.settings(appid)
        ready_at = day_start(day + timedelta(days=1))
        now = self.wechat.state.clock.now()
        ready = now >= ready_at + float(settings.get("data_ready_hour", 8)) * 3600
        final = now >= ready_at + float(settings.get("data_final_hour", 10)) * 3600
        return ready, final

    def envelope(self, appid: str, days: list[date], rows: Callable[[date, float], list]
                 ) -> dict[str, Any]:
        found: list[dict[str, Any]] = []
        delayed = False
        for day in days:
            ready, final = self.readiness(appid, day)
            if not ready:
                delayed = True
                continue
            delayed = delayed or not final
            found.extend(rows(day, 1.0 if final else PROVISIONAL))
        return {"list": found, "is_delay": delayed}

    # ------------------------------------------------------------ interfaces

    async def article_total_detail(self, appid: str, request: web.Request) -> dict[str, Any]:
        days = await self.days(appid, request, "getarticletotaldetail")
        return self.envelope(appid, days, lambda day, scale: [
            entry for job in self.published_on(appid, day)
            if (entry := self.article_entry(job, day, scale)) is not None])

    def published_on(self, appid: str, day: date) -> list[Publish]:
        return [job for job in self.wechat.world.app(appid).published
                if china_day(job.published_at) == day]

    def article_entry(self, job: Publish, published: date, scale: float) -> dict[str, Any] | None:
        post = self.wechat.state.ledger.get("wechat", job.article_id or "")
        if post is None:
            return None
        last = min(published + timedelta(days=WINDOW_DAYS - 1),
                   china_day(self.wechat.state.clock.now()) - timedelta(days=1))
        details = []
        stats = [published + timedelta(days=n) for n in range((last - published).days + 1)]
        end_of_first = day_start(published + timedelta(days=1))  # China days: 86,400 s each
        totals = self.reach.totals(post, [end_of_first + 86400 * n for n in range(len(stats))])
        for stat, total in zip(stats, totals, strict=True):
            if stat == last and scale != 1.0:
                total = type(total)(*(math.floor(v * scale) for v in total.as_dict().values()))
            zaikan = total.likes // 2
            details.append({"stat_date": stat.isoformat(), "read_user": total.reads,
                            "share_user": total.shares, "zaikan_user": zaikan,
                            "like_user": total.likes - zaikan,
                            "comment_count": total.comments})
        return {"ref_date": published.isoformat(),
                "msgid": f"{job.publish_id + 1_000_000_000}_1",
                "title": job.articles[0]["title"], "url": job.articles[0].get("url"),
                "publish_type": 1, "detail_list": details}

    async def biz_summary(self, appid: str, request: web.Request) -> dict[str, Any]:
        days = await self.days(appid, request, "getbizsummary")

        def rows(day: date, scale: float) -> list[dict[str, Any]]:
            figures = self.reach.account_day("wechat", appid, day)
            likes = math.floor(figures["likes"] * scale)
            detail = {"read_user": math.floor(figures["reads"] * scale),
                      "share_user": math.floor(figures["shares"] * scale),
                      "zaikan_user": likes // 2, "like_user": likes - likes // 2,
                      "comment_count": math.floor(figures["comments"] * scale)}
            return [{"ref_date": day.isoformat(), "detail": detail}]

        return self.envelope(appid, days, rows)

    async def user_summary(self, appid: str, request: web.Request) -> dict[str, Any]:
        days = await self.days(appid, request, "getusersummary")

        def rows(day: date, scale: float) -> list[dict[str, Any]]:
            figures = self.reach.follower_day("wechat", appid, day)
            return [{"ref_date": day.isoformat(), "user_source": 0,
                     "new_user": figures["followers_gained"],
                     "cancel_user": figures["followers_lost"]}]

        return self.envelope(appid, days, rows)

    async def user_cumulate(self, appid: str, request: web.Request) -> dict[str, Any]:
        days = await self.days(appid, request, "getusercumulate")
        return self.envelope(appid, days, lambda day, scale: [
            {"ref_date": day.isoformat(),
             "cumulate_user": self.reach.followers("wechat", appid, day)}])
