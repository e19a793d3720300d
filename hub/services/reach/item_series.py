"""An item's reach per day and platform (the item reach chart), in the caller's subtree.
The caller's right to read the item is checked by ``stats.item_stats``, called first."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import Org, PostDay
from ...security.auth import Principal


def daily_views(session: Session, principal: Principal, item_id: str, *, start: date,
                end: date) -> dict[str, dict[str, int]]:
    """platform -> {day (ISO): reads + plays}; one query on the item's index."""
    query = (select(PostDay.platform, PostDay.day,
                    func.sum(PostDay.reads + PostDay.plays).label("views"))
             .where(PostDay.item_id == item_id, PostDay.day >= start, PostDay.day <= end)
             .group_by(PostDay.platform, PostDay.day))
    if principal.org_path is not None:
        query = query.where(PostDay.org_id.in_(select(Org.id).where(
            Org.path.startswith(principal.org_path, autoescape=True)).scalar_subquery()))
    series: dict[str, dict[str, int]] = {}
    for row in session.execute(query):
        series.setdefault(row.platform, {})[row.day.isoformat()] = int(row.views or 0)
    return series
