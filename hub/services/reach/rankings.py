"""Rankings of a period inside an org subtree: accounts (or orgs at one level) by 传播力
index per platform with the change against the previous period, the period's hot articles,
the pushed items' reach by city and platform, and the accounts with no reach at all.

Everything comes from ``reach_post_days`` (per-day increments per post), through the
period's rollups (hub/models/reach_rollup.py, built by ``rollup.ensure``): a post's figures
in the period are the sum of its days in the period, so an older post's late reads count
toward the period it was read in. An account's index inputs are the sums over its posts, the
best post's total (``*_max``) and ``posts`` = the posts that gained figures in the period
(WCI counts the articles published in the period; the hub counts what was read, which also
covers posts published just before the period). An org's index pools its accounts' figures
on the platform as if they were one account.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from ...errors import invalid
from ...messages import Message
from ...models import (
    Account,
    ExternalPost,
    Item,
    ItemVersion,
    Org,
    PeriodAccount,
    PeriodHot,
    PeriodItem,
    PeriodItemTotal,
    PostDay,
    utcnow,
)
from ...models.reach import FIGURES
from ...models.reach_rollup import HOT_PER_ORG
from ...security.auth import Principal
from ...security.permissions import require
from ..scoping import scope_path
from . import index as index_service
from . import rollup
from .index import IndexSet, Totals
from .periods import Period

LEVELS = ("account", "county", "department", "city")
TOP = 10  # hot articles and items shown
DEFAULT_ROLLUP_MAX_AGE_S = 900


def check_level(level: str | None) -> str:
    level = level or "account"
    if level not in LEVELS:
        raise invalid("level", Message("rankings.level"), allowed=list(LEVELS))
    return level


def ranked_platforms(platform: str | None, indices: IndexSet | None = None) -> list[str]:
    known = list((indices or index_service.current()).formulas)
    if platform is None:
        return known
    if platform not in known:
        raise invalid("platform", Message("fanout.unknown_platform"), allowed=known)
    return [platform]


@dataclass
class Scope:
    """The org subtree a ranking covers: its path (None: the province) and its orgs."""

    path: str | None
    orgs: dict[str, Any] = field(default_factory=dict)  # id -> row (id, slug, name, kind, path)
    _found: dict[tuple[str, str], Any] = field(default_factory=dict)

    def ancestor(self, org_id: str, kind: str) -> Any:
        """The nearest org of ``kind`` at or above ``org_id`` inside the loaded orgs."""
        key = (org_id, kind)
        if key not in self._found:
            self._found[key] = self._ancestor(org_id, kind)
        return self._found[key]

    def _ancestor(self, org_id: str, kind: str) -> Any:
        org = self.orgs.get(org_id)
        if org is None:
            return None
        for ancestor_id in reversed(org.path.strip("/").split("/")):
            ancestor = self.orgs.get(ancestor_id)
            if ancestor is not None and ancestor.kind == kind:
                return ancestor
        return None


def load_scope(session: Session, principal: Principal, org_slug: str | None) -> Scope:
    require(principal, "account.read")
    path = scope_path(session, principal, "account.read", org_slug)
    orgs = {org.id: org for org in session.execute(_scope_query(path))}
    return Scope(path, orgs)


def _scope_query(path: str | None) -> Select:
    """The subtree's orgs and its root's ancestors (so an account inside a county scope is
    still placed in its city)."""
    query = select(Org.id, Org.slug, Org.name, Org.kind, Org.path)
    if path is None:
        return query
    ancestor_ids = [part for part in path.strip("/").split("/") if part]
    return query.where(Org.path.startswith(path, autoescape=True) | Org.id.in_(ancestor_ids))


def _in_subtree(scope: Scope, column: Any = PostDay.org_id) -> Any:
    """Rows whose org lies in the scope's subtree."""
    if scope.path is None:
        return True
    # Never correlated: the outer query may have orgs in its FROM (the account ranking).
    return column.in_(select(Org.id).where(
        Org.path.startswith(scope.path, autoescape=True)).correlate(None).scalar_subquery())


def _of(model: Any, period: Period) -> list[Any]:
    return [model.kind == period.kind, model.start == period.start]


def org_totals(session: Session, period: Period, platform: str, scope: Scope
               ) -> dict[str, Totals]:
    """Each org's accounts pooled (by the account's current org) in the period, summed and
    maxed by PostgreSQL: a few hundred rows for the province instead of 10,000 accounts."""
    query = (select(Account.org_id, func.sum(PeriodAccount.posts),
                    *(func.sum(getattr(PeriodAccount, f)) for f in FIGURES),
                    *(func.max(getattr(PeriodAccount, f"max_{f}")) for f in FIGURES))
             .join(Account, Account.id == PeriodAccount.account_id)
             .where(*_of(PeriodAccount, period), PeriodAccount.platform == platform,
                    _in_subtree(scope, PeriodAccount.org_id))
             .group_by(Account.org_id))
    width = len(FIGURES)
    return {org_id: Totals(posts=int(posts or 0), days=period.days,
                           sums={f: int(v or 0) for f, v in zip(FIGURES, rest[:width],
                                                                 strict=True)},
                           best={f: int(v or 0) for f, v in zip(FIGURES, rest[width:],
                                                                 strict=True)})
            for org_id, posts, *rest in session.execute(query)}


def _org_ids(session: Session, platform: str, scope: Scope) -> list[str]:
    """The orgs holding an account on ``platform`` in the subtree."""
    query = select(Account.org_id).where(Account.platform == platform).distinct()
    if scope.path is not None:
        query = query.join(Org, Org.id == Account.org_id).where(
            Org.path.startswith(scope.path, autoescape=True))
    return list(session.scalars(query))


def org_entities(org_ids: list[str], totals: dict[str, Totals], scope: Scope, level: str,
                 days: int) -> list[Entity]:
    """The orgs of ``level`` pooling the orgs below them (``totals`` per org)."""
    empty = Totals(posts=0, days=days, sums={}, best={})
    grouped: dict[str, list[Totals]] = {}
    for org_id in org_ids:
        org = scope.ancestor(org_id, level)
        if org is not None:
            grouped.setdefault(org.id, []).append(totals.get(org_id, empty))
    return [Entity(org_id, scope.orgs[org_id].name, scope.orgs[org_id],
                   _pool(parts, days)) for org_id, parts in grouped.items()]


def _pool(parts: list[Totals], days: int) -> Totals:
    return Totals(posts=sum(p.posts for p in parts), days=days,
                  sums={f: sum(p.sums.get(f, 0) for p in parts) for f in FIGURES},
                  best={f: max((p.best.get(f, 0) for p in parts), default=0)
                        for f in FIGURES})


@dataclass
class Entity:
    """One ranked row: an account, or an org pooling its accounts."""

    key: str
    name: str
    org: Any  # the org row, None when unknown
    totals: Totals
    index: float = 0.0


def _views(totals: Totals) -> tuple[int, int]:
    sums = totals.sums
    return (sums.get("reads", 0) + sums.get("plays", 0),
            sums.get("likes", 0) + sums.get("shares", 0) + sums.get("comments", 0))


def _ranked(rows: list[Entity], indices: IndexSet, platform: str) -> list[Entity]:
    reached = [r for r in rows if r.totals.posts > 0]  # the others stay at 0 and unranked
    for row in reached:
        row.index = indices.compute(platform, row.totals)
    return sorted(reached, key=lambda r: (-r.index, *(-v for v in _views(r.totals)), r.name,
                                          r.key))


# The account ranking's columns of one period's rollup row, in this order (see ``_side``).
_SIDE = ("posts", *FIGURES, *(f"max_{f}" for f in FIGURES), "reach_index", "index_version",
         "index_formula")
_WIDTH = len(FIGURES)
# ``account_ranking`` and ``_side`` unpack the figures positionally in this order.
assert FIGURES == ("reads", "likes", "shares", "comments", "plays")


def _side_columns(period: Period, platform: str, scope: Scope) -> tuple[Any, list[Any]]:
    """A period's rollup rows of the platform in the subtree, as a LEFT JOIN of accounts."""
    side = aliased(PeriodAccount)
    on = and_(side.kind == period.kind, side.start == period.start,
              side.account_id == Account.id, side.platform == platform)
    if scope.path is not None:
        on = and_(on, _in_subtree(scope, side.org_id))
    return (side, on), [getattr(side, c) for c in _SIDE]


def _computed(indices: IndexSet, platform: str, side: tuple, days: int) -> float:
    """The index of a rollup row that has none stored for the current version and formula
    (a rollup built before 0016, or under another version): computed as it always was."""
    return indices.compute(platform, Totals(
        posts=side[0], days=days, sums=dict(zip(FIGURES, side[1:1 + _WIDTH], strict=True)),
        best=dict(zip(FIGURES, side[1 + _WIDTH:1 + 2 * _WIDTH], strict=True))))


def _stored_index(side: Any, version: str, formula_id: str) -> Any:
    """A rollup row's index when stored for the current version and formula, else NULL."""
    return case((and_(side.index_version == version, side.index_formula == formula_id),
                 side.reach_index))


def _needs_index(side: Any, version: str, formula_id: str) -> Any:
    """A rollup row with figures and no stored index of the current version and formula."""
    return and_(side.posts > 0, or_(side.reach_index.is_(None),
                                    side.index_version.is_distinct_from(version),
                                    side.index_formula.is_distinct_from(formula_id)))


def _rank(session: Session, side: Any, index: Any, name: Any, key: Any) -> Any:
    """row_number() over the accounts with figures in the period: index, then reads + plays,
    then likes + shares + comments, descending; then name and id in code point order (as
    Python's sort did: PostgreSQL's "C" collation, SQLite's default BINARY)."""
    if session.get_bind().dialect.name == "postgresql":
        name, key = name.collate("C"), key.collate("C")
    reached = func.coalesce(side.posts, 0) > 0
    return case((reached, func.row_number().over(partition_by=reached, order_by=(
        index.desc(), (side.reads + side.plays).desc(),
        (side.likes + side.shares + side.comments).desc(), name, key))))


def account_ranking(session: Session, period: Period, platform: str, scope: Scope,
                    indices: IndexSet) -> dict[str, Any]:
    """The account-level ranking as one query: the platform's accounts in the subtree, LEFT
    JOIN this period's and the previous period's rollup rows, each ranked by its stored index
    in SQL (window functions); Python only builds the answer's rows. A rollup row without
    the current version's index (built before 0016, or under another version) sends the
    whole ranking to ``account_ranking_computed``, which computes them."""
    previous = period.previous()
    version, formula_id = indices.version, indices.formula(platform).id
    (now_side, now_on), _ = _side_columns(period, platform, scope)
    (before_side, before_on), _ = _side_columns(previous, platform, scope)
    accounts: Any = Account.__table__
    if scope.path is not None:
        accounts = accounts.join(Org, Org.id == Account.org_id)
    now_index = _stored_index(now_side, version, formula_id)
    before_index = _stored_index(before_side, version, formula_id)
    query = (select(
        Account.id, Account.name, Account.org_id, Account.status,
        case((or_(_needs_index(now_side, version, formula_id),
                  _needs_index(before_side, version, formula_id)), 1), else_=0),
        _rank(session, now_side, now_index, Account.name, Account.id),
        _rank(session, before_side, before_index, Account.name, Account.id),
        before_index, now_index, now_side.posts,
        *(getattr(now_side, f) for f in FIGURES),
        *(getattr(now_side, f"max_{f}") for f in FIGURES))
        .select_from(accounts.outerjoin(now_side, now_on).outerjoin(before_side, before_on))
        .where(Account.platform == platform))
    if scope.path is not None:
        query = query.where(Org.path.startswith(scope.path, autoescape=True))
    rows = session.connection().execute(query).all()
    if any(row[4] for row in rows):
        return account_ranking_computed(session, period, platform, scope, indices)
    orgs = scope.orgs
    ranked: list[Any] = [None] * sum(1 for row in rows if row[5] is not None)
    no_reach = []
    # Positional and inline: this loop runs 10,000 times for the province (FIGURES' order).
    for (account_id, name, org_id, status, _, rank, previous_rank, previous_index, index,
         posts, reads, likes, shares, comments, plays, max_reads, max_likes, max_shares,
         max_comments, max_plays) in rows:
        org = orgs.get(org_id)
        if rank is None:
            no_reach.append({"id": account_id, "name": name, "org": org.slug,
                             "org_name": org.name, "status": status})
            continue
        ranked[rank - 1] = {
            "rank": rank, "previous_rank": previous_rank,
            "change": previous_rank - rank if previous_rank else None,
            "id": account_id, "name": name,
            "org": org.slug if org else None, "org_name": org.name if org else None,
            "index": index, "previous_index": previous_index if previous_rank else None,
            "posts": posts, "reads": reads, "likes": likes, "shares": shares,
            "comments": comments, "plays": plays, "max_reads": max_reads,
            "max_likes": max_likes, "max_shares": max_shares, "max_comments": max_comments,
            "max_plays": max_plays}
    # Unranked accounts by name and id in code point order, as the ranking's ties (not
    # sorted by the database: the rows are wide, and the list is short).
    no_reach.sort(key=lambda a: (a["name"], a["id"]))
    return {"platform": platform, "index": indices.describe(platform),
            "ranking": ranked, "no_reach": no_reach}


def account_ranking_computed(session: Session, period: Period, platform: str, scope: Scope,
                             indices: IndexSet) -> dict[str, Any]:
    """The account-level ranking with indices computed here where not stored: one query (the platform's accounts in the subtree, LEFT
    JOIN this period's and the previous period's rollup rows with their stored indices) and
    plain tuples from there; the same order, ranks and rows as ``_ranked`` gives
    (index, then reads + plays, then likes + shares + comments, descending; name, id)."""
    previous = period.previous()
    (now_side, now_on), now_columns = _side_columns(period, platform, scope)
    (before_side, before_on), before_columns = _side_columns(previous, platform, scope)
    accounts: Any = Account.__table__
    if scope.path is not None:
        accounts = accounts.join(Org, Org.id == Account.org_id)
    query = (select(Account.id, Account.name, Account.org_id, Account.status, *now_columns,
                    *before_columns)
             .select_from(accounts.outerjoin(now_side, now_on)
                          .outerjoin(before_side, before_on))
             .where(Account.platform == platform)
             .order_by(Account.name, Account.id))
    if scope.path is not None:
        query = query.where(Org.path.startswith(scope.path, autoescape=True))
    version, formula_id = indices.version, indices.formula(platform).id
    days_now, days_before = period.days, previous.days
    width = len(_SIDE)
    orgs = scope.orgs
    now, before, no_reach = [], [], []
    # Positional and inline: this loop runs 10,000 times for the province (FIGURES' order:
    # reads, likes, shares, comments, plays; then the max_ columns; then index, version,
    # formula).
    for row in session.connection().execute(query).all():
        account_id, name, org_id, status = row[:4]
        r = row[4:4 + width]
        if r[0]:
            index = r[11] if r[12] == version and r[13] == formula_id and r[11] is not None \
                else _computed(indices, platform, r, days_now)
            now.append((-index, -r[1] - r[5], -r[2] - r[3] - r[4], name, account_id, index,
                        org_id, r))
        else:
            org = orgs[org_id]
            no_reach.append({"id": account_id, "name": name, "org": org.slug,
                             "org_name": org.name, "status": status})
        p = row[4 + width:]
        if p[0]:
            index = p[11] if p[12] == version and p[13] == formula_id and p[11] is not None \
                else _computed(indices, platform, p, days_before)
            before.append((-index, -p[1] - p[5], -p[2] - p[3] - p[4], name, account_id, index))
    now.sort()  # the account id (unique) decides before the tuple's tail is reached
    before.sort()
    before_at = {key[4]: (rank, key[5]) for rank, key in enumerate(before, 1)}
    ranking = []
    for rank, (*_, name, account_id, index, org_id, r) in enumerate(now, 1):
        previous_rank, previous_index = before_at.get(account_id, (None, None))
        org = orgs.get(org_id)
        # A literal, not zips: 10,000 of these per province answer.
        ranking.append({
            "rank": rank, "previous_rank": previous_rank,
            "change": previous_rank - rank if previous_rank else None,
            "id": account_id, "name": name,
            "org": org.slug if org else None, "org_name": org.name if org else None,
            "index": index, "previous_index": previous_index, "posts": r[0],
            "reads": r[1], "likes": r[2], "shares": r[3], "comments": r[4], "plays": r[5],
            "max_reads": r[6], "max_likes": r[7], "max_shares": r[8], "max_comments": r[9],
            "max_plays": r[10]})
    return {"platform": platform, "index": indices.describe(platform),
            "ranking": ranking, "no_reach": no_reach}


def platform_ranking(session: Session, period: Period, platform: str, scope: Scope,
                     level: str, indices: IndexSet) -> dict[str, Any]:
    if level == "account":
        return account_ranking(session, period, platform, scope, indices)
    org_ids = _org_ids(session, platform, scope)
    previous = period.previous()
    now = _ranked(org_entities(org_ids, org_totals(session, period, platform, scope), scope,
                               level, period.days), indices, platform)
    before = _ranked(org_entities(org_ids, org_totals(session, previous, platform, scope),
                                  scope, level, previous.days), indices, platform)
    before_at = {row.key: (rank, row) for rank, row in enumerate(before, 1)}
    ranking = []
    for rank, row in enumerate(now, 1):
        previous_rank, previous_row = before_at.get(row.key, (None, None))
        ranking.append({
            "rank": rank, "previous_rank": previous_rank,
            "change": previous_rank - rank if previous_rank else None,
            "id": row.key, "name": row.name,
            "org": row.org.slug if row.org else None,
            "org_name": row.org.name if row.org else None,
            "index": row.index,
            "previous_index": previous_row.index if previous_row else None,
            "posts": row.totals.posts, **row.totals.sums,
            **{f"max_{f}": v for f, v in row.totals.best.items()}})
    reached = {row.key for row in now}
    no_reach = [{"id": e.key, "name": e.name, "org": e.org.slug if e.org else None}
                for e in sorted(org_entities(org_ids, {}, scope, level, period.days),
                                key=lambda e: (e.name, e.key))
                if e.key not in reached]
    return {"platform": platform, "index": indices.describe(platform),
            "ranking": ranking, "no_reach": no_reach}


def hot_posts(session: Session, period: Period, platforms: list[str], scope: Scope,
              limit: int = TOP) -> list[dict[str, Any]]:
    """The period's most read (or played) posts, yunchu's and outside ones alike: the top
    ``limit`` of the subtree is inside its orgs' rolled-up top ``HOT_PER_ORG``."""
    assert limit <= HOT_PER_ORG
    hot = PeriodHot
    query = (select(*hot.__table__.c).where(*_of(hot, period), hot.platform.in_(platforms),
                               _in_subtree(scope, hot.org_id))
             .order_by((hot.reads + hot.plays).desc(),
                       (hot.likes + hot.shares + hot.comments).desc(), hot.post_id)
             .limit(limit))
    rows = list(session.execute(query))
    titles = _titles(session, rows)
    names = _account_names(session, {r.account_id for r in rows})
    return [{"post": r.post_id, "item": r.item_id, "delivery": r.delivery_id,
             "outside": r.external_post_id is not None,
             "title": titles.get(r.item_id or r.external_post_id),
             "account": r.account_id, "account_name": names.get(r.account_id),
             "org": _slug(scope, r.org_id), "platform": r.platform,
             **{f: getattr(r, f) for f in FIGURES}} for r in rows]


def item_reach(session: Session, period: Period, platforms: list[str], scope: Scope,
               limit: int = TOP) -> list[dict[str, Any]]:
    """The period's most read pushed items, each broken down by city and by platform."""
    items = PeriodItem
    base = [*_of(items, period), items.platform.in_(platforms),
            _in_subtree(scope, items.org_id)]
    def top_of(ranked: Any) -> list[str]:
        return list(session.scalars(
            select(ranked.item_id)
            .where(*_of(ranked, period), ranked.platform.in_(platforms),
                   *(base if ranked is items else ()))
            .group_by(ranked.item_id)
            .order_by(func.sum(ranked.reads + ranked.plays).desc(), ranked.item_id)
            .limit(limit)))

    # The province's top items from the per-item totals (a few rows per item; none in a
    # rollup built before 0016), a subtree's from its orgs' item rows.
    top = top_of(PeriodItemTotal) if scope.path is None else []
    if not top:
        top = top_of(items)
    if not top:
        return []
    sums = (func.sum(items.accounts), *(func.sum(getattr(items, f)) for f in FIGURES))
    if session.get_bind().dialect.name == "postgresql":
        # Both breakdowns in one pass over the top items' rows (platform and org are never
        # NULL in the table: the NULL one says which grouping a row belongs to).
        rows = session.connection().execute(
            select(items.item_id, items.platform, items.org_id, *sums)
            .where(*base, items.item_id.in_(top))
            .group_by(func.grouping_sets(tuple_(items.item_id, items.platform),
                                         tuple_(items.item_id, items.org_id)))).all()
        by_platform = [(r[0], r[1], *r[3:]) for r in rows if r[2] is None]
        by_org = [(r[0], r[2], *r[3:]) for r in rows if r[1] is None]
    else:
        def summed(key: Any) -> list[Any]:
            return session.connection().execute(
                select(items.item_id, key, *sums).where(*base, items.item_id.in_(top))
                .group_by(items.item_id, key)).all()

        by_platform, by_org = summed(items.platform), summed(items.org_id)

    titles = item_titles(session, set(top))
    out = {item_id: {"item": item_id, "title": titles.get(item_id), "accounts": 0,
                     "totals": dict.fromkeys(FIGURES, 0), "by_platform": [], "by_city": {}}
           for item_id in top}
    for item_id, platform, accounts, *numbers in by_platform:
        entry = out[item_id]
        entry["accounts"] += int(accounts)
        figures = dict(zip(FIGURES, map(int, numbers), strict=True))
        entry["by_platform"].append({"platform": platform, **figures})
        for f in FIGURES:
            entry["totals"][f] += figures[f]
    # Positional rows summed per city column-wise (an item's rows are one per org).
    per_city: dict[tuple[str, str | None], list[Any]] = {}
    for item_id, org_id, _count, *numbers in by_org:
        city = scope.ancestor(org_id, "city")
        per_city.setdefault((item_id, city.id if city else None), []).append(numbers)
    for (item_id, city_id), rows in per_city.items():
        city = scope.orgs[city_id] if city_id is not None else None
        key = city.slug if city else None
        out[item_id]["by_city"][key] = {
            "city": key, "name": city.name if city else None,
            **dict(zip(FIGURES, (int(sum(c)) for c in zip(*rows, strict=True)), strict=True))}
    for entry in out.values():
        entry["by_platform"].sort(key=lambda r: r["platform"])
        entry["by_city"] = sorted(entry["by_city"].values(),
                                  key=lambda r: (-r["reads"] - r["plays"], r["city"] or ""))
    return [out[item_id] for item_id in top]


def _slug(scope: Scope, org_id: str) -> str | None:
    org = scope.orgs.get(org_id)
    return org.slug if org else None


def _titles(session: Session, rows: list[Any]) -> dict[str, str | None]:
    items = {r.item_id for r in rows if r.item_id}
    outside = {r.external_post_id for r in rows if r.external_post_id}
    titles: dict[str, str | None] = {}
    titles.update(item_titles(session, items))
    if outside:
        titles.update(session.execute(select(ExternalPost.id, ExternalPost.title)
                                      .where(ExternalPost.id.in_(outside))).all())
    return titles


def item_titles(session: Session, ids: set[str]) -> dict[str, str]:
    """Each item's title as pushed (the approved version, else the latest)."""
    if not ids:
        return {}
    shown = func.coalesce(Item.approved_version, Item.version)
    return dict(session.execute(
        select(Item.id, ItemVersion.title)
        .join(ItemVersion, (ItemVersion.item_id == Item.id) & (ItemVersion.version == shown))
        .where(Item.id.in_(ids))).all())


def _account_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Account.id, Account.name)
                                .where(Account.id.in_(ids))).all())


def rankings(session: Session, principal: Principal, *, period: Period,
             org: str | None = None, platform: str | None = None, level: str = "account",
             now: datetime | None = None, max_age_s: int = DEFAULT_ROLLUP_MAX_AGE_S,
             on_stale: Callable[[Period], None] | None = None) -> dict[str, Any]:
    """The whole answer of ``GET /api/v1/rankings``."""
    indices = index_service.current()
    platforms = ranked_platforms(platform, indices)
    scope = load_scope(session, principal, org)
    for each in (period, period.previous()):
        rollup.ensure(session, each, now or utcnow(), max_age_s, on_stale)
    root = next((o for o in scope.orgs.values() if o.path == scope.path), None)
    return {
        "period": {**period.as_dict(), "previous": period.previous().as_dict()},
        "org": root.slug if root else None, "org_name": root.name if root else None,
        "level": level, "label": index_service.ESTIMATE_LABEL,
        "platforms": [platform_ranking(session, period, p, scope, level, indices)
                      for p in platforms],
        "hot": hot_posts(session, period, platforms, scope),
        "items": item_reach(session, period, platforms, scope),
    }


def daily_views(session: Session, period: Period, platform: str, scope: Scope, level: str,
                keys: list[str]) -> dict[str, list[int]]:
    """Each ranked row's reads + plays per day of the period (the rankings' sparklines)."""
    if not keys:
        return {}
    column = PostDay.account_id if level == "account" else PostDay.org_id
    query = (select(column.label("key"), PostDay.day,
                    func.sum(PostDay.reads + PostDay.plays).label("views"))
             .where(PostDay.day >= period.start, PostDay.day <= period.end,
                    PostDay.platform == platform, _in_subtree(scope))
             .group_by(column, PostDay.day))
    if level == "account":
        query = query.where(PostDay.account_id.in_(keys))
    series = {key: [0] * period.days for key in keys}
    for row in session.execute(query):
        key = row.key
        if level != "account":
            org = scope.ancestor(row.key, level)
            key = org.id if org else None
        if key in series:
            series[key][(row.day - period.start).days] += int(row.views or 0)
    return series
