"""Reach pages: the 传播力 rankings (with sparklines and charts), the printable monthly report
(《新媒体阅评》-style) and an item's reach over time and by platform. Charts are ECharts
(admin/static/vendor/echarts) drawn from options built here (admin/reach_charts.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, g, render_template, request

from hub.models import utcnow
from hub.security.permissions import require
from hub.services import org_actions
from hub.services.reach import export, item_series, periods, rankings, stats
from hub.services.reach.plan import china_day
from hub.web.api.rankings import stale

from .. import reach_charts
from ..blueprint import admin_blueprint
from ..web import runtime

SHOWN = 50  # ranking rows per platform on the page (the export has them all)
REPORT_ROWS = 20


def _query() -> dict[str, Any]:
    platform = request.args.get("platform") or None
    rankings.ranked_platforms(platform)
    return {"period": periods.parse(request.args.get("period"), utcnow()),
            "org": request.args.get("org") or None, "platform": platform,
            "level": rankings.check_level(request.args.get("level"))}


def _ranked(db, query: dict[str, Any]) -> dict[str, Any]:
    return rankings.rankings(db, g.principal, **query, now=utcnow(),
                             max_age_s=runtime().settings.reach_rollup_max_age_s,
                             on_stale=stale)


def _answer(db, query: dict[str, Any], rows: int) -> dict[str, Any]:
    answer = _ranked(db, query)
    scope = rankings.load_scope(db, g.principal, query["org"])
    for section in answer["platforms"]:
        section["more"] = max(len(section["ranking"]) - rows, 0)
        section["ranking"] = section["ranking"][:rows]
        series = rankings.daily_views(db, query["period"], section["platform"], scope,
                                      query["level"], [r["id"] for r in section["ranking"]])
        for row in section["ranking"]:
            row["spark"] = reach_charts.sparkline(series.get(row["id"], []))
        section["chart"] = reach_charts.ranking_bars(section)
    answer["item_charts"] = [reach_charts.item_cities(item) for item in answer["items"][:3]]
    return answer


@admin_blueprint.get("/rankings")
def rankings_page() -> str:
    query = _query()
    with runtime().db.session() as db:
        answer = _answer(db, query, SHOWN)
        orgs = org_actions.choices(db, g.principal)
    return render_template("admin/rankings.html", answer=answer, query=query, orgs=orgs,
                           levels=rankings.LEVELS, platforms=rankings.ranked_platforms(None),
                           periods=_recent_periods())


@admin_blueprint.get("/rankings/export")
def rankings_export() -> Response:
    fmt = request.args.get("format") or "xlsx"
    query = _query()
    with runtime().db.session() as db:
        answer = _ranked(db, query)
    body = export.to_csv(answer) if fmt == "csv" else export.to_xlsx(answer)
    fmt = "csv" if fmt == "csv" else "xlsx"
    name = f"rankings-{answer['org'] or 'province'}-{query['period'].id}.{fmt}"
    mimetype = "text/csv" if fmt == "csv" else (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@admin_blueprint.get("/rankings/report")
def rankings_report() -> str:
    """The month's printable report; by default the last complete month."""
    raw = request.args.get("period")
    period = (periods.parse(raw, utcnow()) if raw
              else periods.month_of(china_day(utcnow())).previous())
    if period.kind != "month":
        period = periods.month_of(period.start)
    query = {"period": period, "org": request.args.get("org") or None, "platform": None,
             "level": rankings.check_level(request.args.get("level"))}
    with runtime().db.session() as db:
        answer = _answer(db, query, REPORT_ROWS)
    return render_template("admin/reach_report.html", answer=answer, query=query,
                           generated=utcnow())


@admin_blueprint.get("/items/<item_id>/reach")
def item_reach(item_id: str) -> str:
    to = china_day(utcnow())
    start, end = stats.period(request.args.get("from"),
                              request.args.get("to") or to.isoformat(), utcnow())
    with runtime().db.session() as db:
        require(g.principal, "item.read")
        data = stats.item_stats(db, g.principal, item_id, start=start, end=end)
        per_platform = item_series.daily_views(db, g.principal, item_id, start=start,
                                               end=end)
        title = rankings.item_titles(db, {item_id}).get(item_id) or item_id
    days = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
    return render_template("admin/item_reach.html", data=data, title=title,
                           over_time=reach_charts.item_over_time(days, per_platform),
                           by_platform=reach_charts.item_platforms(data["by_platform"]),
                           by_org=reach_charts.item_orgs(data["by_org"]))


def _recent_periods() -> list[str]:
    """The period picker: the last six months and the last six ISO weeks."""
    month = periods.month_of(china_day(utcnow()))
    week = periods.week_of(china_day(utcnow()))
    months, weeks = [], []
    for _ in range(6):
        months.append(month.id)
        weeks.append(week.id)
        month, week = month.previous(), week.previous()
    return months + weeks
