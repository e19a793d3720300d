"""/api/v1/rankings: 传播力 rankings of a period in an org subtree (hub/services/reach)."""

from __future__ import annotations

from flask import Response, jsonify, request

from hub.errors import invalid
from hub.messages import Message
from hub.models import utcnow
from hub.services.reach import export, periods, rankings, rollup

from . import api
from .common import in_session, rt

FORMATS = {"json": None, "csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def stale(period: periods.Period) -> None:
    """A stale rollup is served while a worker rebuilds it (hub/services/reach/rollup.py)."""
    runtime = rt()
    rollup.enqueue_refresh(runtime.redis, period, runtime.settings.reach_rollup_max_age_s)


@api.get("/rankings")
def rankings_list():
    """Accounts (``level=account``) or orgs (``county``/``department``/``city``) ranked by
    传播力 index (估算) per platform for ``period`` (``2026-W48`` or ``2026-11``, default the
    current month), with the change against the previous period, hot articles, pushed items'
    reach by city and platform, and accounts with no reach; ``format=csv|xlsx`` exports."""
    fmt = request.args.get("format") or "json"
    if fmt not in FORMATS:
        raise invalid("format", Message("rankings.format"), allowed=list(FORMATS))
    period = periods.parse(request.args.get("period"), utcnow())
    level = rankings.check_level(request.args.get("level"))
    platform = request.args.get("platform") or None
    rankings.ranked_platforms(platform)
    answer = in_session(rankings.rankings, period=period, org=request.args.get("org") or None,
                        platform=platform, level=level, now=utcnow(),
                        max_age_s=rt().settings.reach_rollup_max_age_s, on_stale=stale)
    if fmt == "json":
        return jsonify(answer)
    body = export.to_csv(answer) if fmt == "csv" else export.to_xlsx(answer)
    name = f"rankings-{answer['org'] or 'province'}-{period.id}-{level}.{fmt}"
    return Response(body, mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
