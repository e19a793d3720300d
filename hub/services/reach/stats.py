"""What the API answers about reach: an item's figures across the accounts that carried it,
and an account's figures, always within the caller's subtree."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...errors import invalid
from ...messages import Message
from ...models import Account, AccountDay, Delivery, Org, PostDay
from ...models.reach import FIGURES
from ...platforms import names as platform_names
from ...security.auth import Principal
from ...security.permissions import require
from .. import accounts as account_service
from .. import items as item_service
from .plan import china_day

DEFAULT_DAYS = 30
MAX_DAYS = 400


def period(raw_from: str | None, raw_to: str | None, now: datetime) -> tuple[date, date]:
    """``from``/``to`` (YYYY-MM-DD, China days, both included); default the last 30 days."""
    to = _day("to", raw_to) if raw_to else china_day(now)
    start = _day("from", raw_from) if raw_from else to - timedelta(days=DEFAULT_DAYS - 1)
    if start > to or (to - start).days >= MAX_DAYS:
        raise invalid("from", Message("stats.period", days=MAX_DAYS))
    return start, to


def _day(field: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid(field, Message("stats.day")) from None


def check_platform(platform: str | None) -> None:
    if platform and platform not in platform_names():
        raise invalid("platform", Message("fanout.unknown_platform"),
                      allowed=list(platform_names()))


def _sums(model: type) -> list[Any]:
    return [func.coalesce(func.sum(getattr(model, n)), 0).label(n) for n in FIGURES]


def _figures(row: Any) -> dict[str, int]:
    return {n: int(getattr(row, n) or 0) for n in FIGURES}


def item_stats(session: Session, principal: Principal, item_id: str, *, start: date, end: date,
               platform: str | None = None) -> dict[str, Any]:
    item = item_service.get(session, item_id)
    require(principal, "item.read", org_path=session.get(Org, item.org_id).path)
    where = [PostDay.item_id == item.id, PostDay.day >= start, PostDay.day <= end]
    if platform:
        where.append(PostDay.platform == platform)
    if principal.org_path is not None:
        where.append(Org.path.startswith(principal.org_path, autoescape=True))

    def grouped(*columns: Any) -> list[Any]:
        query = (select(*columns, *_sums(PostDay)).select_from(PostDay)
                 .join(Org, Org.id == PostDay.org_id).where(*where))
        if columns:
            query = query.group_by(*columns).order_by(*columns)
        return list(session.execute(query))

    [total] = grouped()
    accounts = grouped(PostDay.delivery_id, PostDay.account_id, PostDay.platform, Org.slug)
    names = dict(session.execute(select(Account.id, Account.name).where(
        Account.id.in_([r.account_id for r in accounts]))).all()) if accounts else {}
    withdrawn = dict(session.execute(select(Delivery.id, Delivery.withdrawn_at).where(
        Delivery.id.in_([r.delivery_id for r in accounts]))).all()) if accounts else {}
    by_account = sorted(({
        "delivery": r.delivery_id, "account": r.account_id,
        "account_name": names.get(r.account_id), "org": r.slug, "platform": r.platform,
        "withdrawn": withdrawn.get(r.delivery_id) is not None, **_figures(r)}
        for r in accounts), key=lambda a: (-a["reads"] - a["plays"], a["account"]))
    return {
        "item": item.id, "from": start.isoformat(), "to": end.isoformat(),
        "totals": {**_figures(total), "accounts": len(accounts)},
        "by_platform": [{"platform": r.platform, **_figures(r)}
                        for r in grouped(PostDay.platform)],
        "by_org": [{"org": r.slug, "name": r.name, **_figures(r)}
                   for r in grouped(Org.slug, Org.name)],
        "by_account": by_account,
        "daily": [{"day": r.day.isoformat(), **_figures(r)} for r in grouped(PostDay.day)],
    }


def account_stats(session: Session, principal: Principal, account_id: str, *, start: date,
                  end: date) -> dict[str, Any]:
    account = account_service.get(session, account_id)
    org = session.get(Org, account.org_id)
    require(principal, "account.read", org_path=org.path)
    rows = list(session.scalars(select(AccountDay).where(
        AccountDay.account_id == account.id, AccountDay.day >= start, AccountDay.day <= end)
        .order_by(AccountDay.day)))
    followers = next((r.followers for r in reversed(rows) if r.followers is not None), None)
    totals = {n: sum(getattr(r, n) for r in rows) for n in FIGURES}
    return {
        "account": account.id, "account_name": account.name, "org": org.slug,
        "platform": account.platform, "from": start.isoformat(), "to": end.isoformat(),
        "followers": followers,
        "totals": {**totals, "posts": sum(r.posts for r in rows),
                   "followers_gained": sum(r.followers_gained for r in rows),
                   "followers_lost": sum(r.followers_lost for r in rows)},
        "daily": [{"day": r.day.isoformat(), "followers": r.followers,
                   "followers_gained": r.followers_gained, "followers_lost": r.followers_lost,
                   "posts": r.posts, **{n: getattr(r, n) for n in FIGURES}, "final": r.final}
                  for r in rows],
    }
