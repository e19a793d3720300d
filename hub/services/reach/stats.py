"""What the API answers about reach: an item's figures across the accounts that carried it,
and an account's figures, always within the caller's subtree."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...errors import ApiError, invalid
from ...messages import Message
from ...models import Account, AccountDay, Delivery, Org, PostDay
from ...models.reach import FIGURES
from ...platforms import names as platform_names
from ...security.auth import Principal
from ...security.permissions import may, require
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


def item_scope(session: Session, principal: Principal, item: Any) -> str | None:
    """The org path whose accounts' figures of ``item`` the caller sees (None: all).

    ``item.read`` on the item's org shows the item's reach in the caller's subtree. An item of
    an org above or beside the caller (a province story pushed to county accounts) shows its
    reach on the caller's own subtree's accounts when at least one of them carried it (a
    delivery), never other orgs' figures — as a withdrawal below the province reaches only
    the caller's own accounts. Else 403, as before."""
    org = session.get(Org, item.org_id)
    try:
        require(principal, "item.read", org_path=org.path)
    except ApiError:
        if principal.org_path is None or not may(principal, "item.read"):
            raise
        carried = session.execute(
            select(Delivery.id).join(Account, Account.id == Delivery.account_id)
            .join(Org, Org.id == Account.org_id)
            .where(Delivery.item_id == item.id,
                   Org.path.startswith(principal.org_path, autoescape=True))
            .limit(1)).first()
        if carried is None:
            raise
    return principal.org_path


def item_stats(session: Session, principal: Principal, item_id: str, *, start: date, end: date,
               platform: str | None = None) -> dict[str, Any]:
    """Two aggregate queries on the item's index (per delivery, per day): totals, platforms
    and orgs are summed from the per-delivery rows (≤ one per account) in Python, and names
    and withdrawals come joined, not as IN lists of 10,000 ids."""
    item = item_service.get(session, item_id)
    path = item_scope(session, principal, item)
    where = [PostDay.item_id == item.id, PostDay.day >= start, PostDay.day <= end]
    if platform:
        where.append(PostDay.platform == platform)
    if path is not None:
        where.append(PostDay.org_id.in_(select(Org.id).where(
            Org.path.startswith(path, autoescape=True)).scalar_subquery()))
    keys = (PostDay.delivery_id, PostDay.account_id, PostDay.platform, PostDay.org_id)
    per = select(*keys, *_sums(PostDay)).where(*where).group_by(*keys).subquery()
    accounts = session.connection().execute(
        select(per.c.delivery_id, per.c.account_id, per.c.platform, Org.slug,
               Org.name.label("org_name"), Account.name.label("account_name"),
               Delivery.withdrawn_at, *(per.c[n] for n in FIGURES))
        .select_from(per).join(Org, Org.id == per.c.org_id)
        .outerjoin(Account, Account.id == per.c.account_id)
        .outerjoin(Delivery, Delivery.id == per.c.delivery_id)).all()
    # Positional rows, figures summed column-wise: 10,000 rows is where per-row Python shows.
    platforms: dict[str, list[tuple[int, ...]]] = {}
    orgs: dict[tuple[str, str], list[tuple[int, ...]]] = {}
    by_account = []
    for delivery, account, platform_name, slug, org_name, name, withdrawn_at, *figures in (
            accounts):
        platforms.setdefault(platform_name, []).append(figures)
        orgs.setdefault((slug, org_name), []).append(figures)
        by_account.append({
            "delivery": delivery, "account": account, "account_name": name, "org": slug,
            "platform": platform_name, "withdrawn": withdrawn_at is not None,
            **dict(zip(FIGURES, figures, strict=True))})
    by_account.sort(key=lambda a: (-a["reads"] - a["plays"], a["account"]))

    def summed(rows: list[Any]) -> dict[str, int]:
        if not rows:
            return dict.fromkeys(FIGURES, 0)
        return dict(zip(FIGURES, (int(sum(c)) for c in zip(*rows, strict=True)), strict=True))

    totals = summed([f for rows in platforms.values() for f in rows])
    daily = session.execute(select(PostDay.day, *_sums(PostDay)).where(*where)
                            .group_by(PostDay.day).order_by(PostDay.day))
    return {
        "item": item.id, "from": start.isoformat(), "to": end.isoformat(),
        "totals": {**totals, "accounts": len(accounts)},
        "by_platform": [{"platform": p, **summed(platforms[p])} for p in sorted(platforms)],
        "by_org": [{"org": slug, "name": name, **summed(orgs[slug, name])}
                   for slug, name in sorted(orgs)],
        "by_account": by_account,
        "daily": [{"day": r.day.isoformat(), **_figures(r)} for r in daily],
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
