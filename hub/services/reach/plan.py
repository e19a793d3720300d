"""What one collection job asks each account for, from what the hub already holds."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.reach import CollectRequest, KnownPost

from ...infra.idsets import among
from ...models import Account, Delivery, Dispatch, ExternalPost
from ...models.reach import POST_WINDOW_DAYS, AccountDay, PostDay

CHINA = timezone(timedelta(hours=8))
ACCOUNT_DAYS_BACK = 7  # account figures missing or provisional this far back are asked again
RELIST = timedelta(days=3)  # an account collected before is listed this far back again


def china_day(at: datetime) -> date:
    return at.astimezone(CHINA).date()


@dataclass
class Post:
    """One post of the account in its collection window."""

    post_id: str
    remote_id: str
    url: str | None
    published_at: datetime
    delivery_id: str | None = None
    item_id: str | None = None
    external_post_id: str | None = None
    # China day after which nothing is booked (the withdrawal's), None while it is live.
    stop_day: date | None = None
    # The newest day the hub holds figures of, None when it holds none yet.
    collected_through: date | None = None

    @property
    def withdrawn(self) -> bool:
        return self.stop_day is not None


@dataclass
class AccountPlan:
    account: Account
    posts: list[Post]
    request: CollectRequest
    # Running totals booked before today, per post (to turn a running total into today's gain).
    booked: dict[str, tuple[int, ...]] = field(default_factory=dict)


def plan_batch(session: Session, accounts: list[Account], *, now: datetime, latest: date,
               running_totals: bool) -> list[AccountPlan]:
    ids = [a.id for a in accounts]
    since = now - timedelta(days=POST_WINDOW_DAYS)
    posts = _deliveries(session, ids, since)
    for external_id, account_id, remote_id, url, published_at in session.execute(select(
            ExternalPost.id, ExternalPost.account_id, ExternalPost.remote_id, ExternalPost.url,
            ExternalPost.published_at).where(
            ExternalPost.account_id.in_(ids), ExternalPost.published_at >= since)):
        posts[account_id].append(Post(
            post_id=external_id, remote_id=remote_id, url=url, published_at=published_at,
            external_post_id=external_id))
    post_ids = [p.post_id for group in posts.values() for p in group]
    first_day = china_day(since) - timedelta(days=1)
    collected, booked = _held(session, post_ids, first_day, china_day(now), running_totals)
    stored = _account_days(session, ids, latest - timedelta(days=ACCOUNT_DAYS_BACK - 1))
    plans = []
    for account in accounts:
        mine = posts.get(account.id, [])
        for post in mine:
            post.collected_through = collected.get(post.post_id)
        live = [p for p in mine if not p.withdrawn]
        days_back = [latest - timedelta(days=n) for n in range(ACCOUNT_DAYS_BACK - 1, -1, -1)]
        missing = tuple(d for d in days_back if not stored.get((account.id, d), False))
        seen_before = any((account.id, d) in stored for d in days_back)
        request = CollectRequest(
            now=now, today=china_day(now), latest=latest, account_days=missing,
            posts=tuple(KnownPost(p.post_id, p.remote_id, p.url, china_day(p.published_at))
                        for p in (live if running_totals else mine)),
            list_since=max(since, now - RELIST) if seen_before else since,
            uncollected_days=frozenset(china_day(p.published_at) for p in mine
                                       if p.post_id not in collected))
        plans.append(AccountPlan(account, mine, request,
                                 {p.post_id: booked[p.post_id] for p in mine
                                  if p.post_id in booked}))
    return plans


def _deliveries(session: Session, account_ids: list[str], since: datetime
                ) -> dict[str, list[Post]]:
    """Published deliveries of these accounts in the window. Deliveries have no index by
    account (the fan-out keeps their indexes few), so they are found by item: the items
    dispatched in the window, then the (item, account) unique key."""
    items = list(session.scalars(select(Dispatch.item_id).where(
        Dispatch.created_at >= since - timedelta(days=1)).distinct()))
    found: dict[str, list[Post]] = defaultdict(list)
    if not items:
        return found
    rows = session.execute(select(
        Delivery.id, Delivery.item_id, Delivery.account_id, Delivery.remote_id,
        Delivery.remote_url, Delivery.published_at, Delivery.withdrawal_id,
        Delivery.withdrawn_at, Delivery.updated_at).where(
        Delivery.item_id.in_(items), Delivery.account_id.in_(account_ids),
        Delivery.published_at.is_not(None), Delivery.published_at >= since,
        Delivery.remote_id.is_not(None)))
    for (delivery_id, item_id, account_id, remote_id, url, published_at, withdrawal_id,
         withdrawn_at, updated_at) in rows:
        stop = None
        if withdrawal_id is not None:
            stop = china_day(withdrawn_at or updated_at)
        found[account_id].append(Post(post_id=delivery_id, remote_id=remote_id, url=url,
                                      published_at=published_at, delivery_id=delivery_id,
                                      item_id=item_id, stop_day=stop))
    return found


def _held(session: Session, post_ids: list[str], first_day: date, today: date,
          running_totals: bool) -> tuple[dict[str, date], dict[str, tuple[int, ...]]]:
    """One query for what the hub holds of these posts: the newest day held per post (posts
    with none are left out) and, for running totals, the figures booked before today."""
    if not post_ids:
        return {}, {}
    before = PostDay.day < today
    figures = ((func.sum(PostDay.reads).filter(before), func.sum(PostDay.likes).filter(before),
                func.sum(PostDay.shares).filter(before),
                func.sum(PostDay.comments).filter(before),
                func.sum(PostDay.plays).filter(before)) if running_totals else ())
    rows = session.execute(select(PostDay.post_id, func.max(PostDay.day), *figures).where(
        among(session, PostDay.post_id, post_ids), PostDay.day >= first_day)
        .group_by(PostDay.post_id))
    collected: dict[str, date] = {}
    booked: dict[str, tuple[int, ...]] = {}
    for post_id, newest, *sums in rows:
        collected[post_id] = newest
        if running_totals:
            booked[post_id] = tuple(int(v or 0) for v in sums)
    return collected, booked


def _account_days(session: Session, account_ids: list[str], first: date
                  ) -> dict[tuple[str, date], bool]:
    """(account, day) -> final, for the stored account days from ``first`` on."""
    rows = session.execute(select(AccountDay.account_id, AccountDay.day, AccountDay.final)
                           .where(AccountDay.account_id.in_(account_ids),
                                  AccountDay.day >= first))
    return {(a, d): bool(final) for a, d, final in rows}
