"""The delivery rows' side of a batch: claim with a lease, renew it, record outcomes.

A claim names its worker (``lease_owner``) and lasts ``YUNCHU_LEASE_S`` unless the worker's
heartbeat renews it. The reconciler takes a claim back when its lease ran out or, sooner,
when its worker is dead (its Redis alive key is gone: see ``liveness``). Every write after
the claim is conditional on ``lease_owner`` and the in-flight state: a worker whose claim was
taken back (it froze, the reconciler moved on) writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    Integer,
    Row,
    String,
    Table,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from ..infra.ids import new_id
from ..infra.idsets import among, on_postgres
from ..models import Account, Delivery, DeliveryAttempt, Task, utcnow
from ..models.base import UTCDateTime
from .fence import after_withdrawal
from .vocabulary import Action, DeliveryState, ErrorKind, Lookup, Step

MANUAL_DEADLINE = timedelta(hours=2)
S = DeliveryState
IN_FLIGHT = tuple(action.in_flight for action in Action)


@dataclass(frozen=True)
class Claimed:
    id: str
    item_id: str
    version: int
    account_id: str
    # Claims that got as far as an answer, this one included: what the retry budget counts.
    # (``deliveries.attempts`` counts every claim: ``tries + interrupted``.)
    tries: int
    needs_lookup: bool
    remote_id: str | None
    withdrawing: bool  # withdrawal_id set: the item was withdrawn
    interrupted: int = 0  # earlier claims lost with their worker
    transient: int = 0  # earlier tries that failed on a transient error (vocabulary.Cause)
    transient_since: datetime | None = None  # the first of them, since the last success


@dataclass(kw_only=True)
class Outcome:
    """What happened to one claimed delivery (see ``policy``); one conditional UPDATE."""

    delivery_id: str
    state: DeliveryState
    step: Step | ErrorKind  # what the attempt history records (``delivery_attempts.outcome``)
    error_kind: ErrorKind | None = None
    error: str | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    retry_in: float | None = None
    lookup: Lookup = Lookup.KEEP
    flag_account: str | None = None  # account id to flag (credentials rejected)
    flag_reason: str | None = None
    # Set with flag_account when the platform said the authorisation itself no longer stands
    # (revoked, insufficient): recorded as the account's auth_state instead of a flag.
    flag_auth_state: str | None = None
    # The account's own access token was fetched anew on the way (a delegated or OAuth
    # account): recorded as its auth_token_expires_at and auth_refreshed_at.
    token_refreshed: tuple[str, datetime] | None = None  # (account id, token expires at)
    task: dict[str, Any] | None = None  # manual task to open
    closes_task: bool = False  # withdrawn after a manual task was opened for it: close it
    # A retry for a transient error: counted in ``deliveries.transient`` (not against the
    # attempt limit) and, if the first, starting the time budget (``transient_since``).
    transient: bool = False


def claim(session: Session, action: Action, ids: Sequence[str], owner: str,
          lease_s: int) -> list[Claimed]:
    action = Action(action)  # also a job's plain string
    now = utcnow()
    states = action.claimable
    # Lock in id order and skip rows someone else holds (a withdrawal in progress): one lock
    # order everywhere means no deadlocks, and a skipped row is simply not claimed now.
    mine = [row.id for row in _lock(session, ids, Delivery.state, Delivery.next_attempt_at)
            if row.state in states and (row.next_attempt_at is None or row.next_attempt_at <= now)]
    if not mine:
        return []
    statement = (update(Delivery).where(among(session, Delivery.id, mine))
                 .values(state=action.in_flight, lease_owner=owner,
                         lease_expires_at=now + timedelta(seconds=lease_s),
                         attempts=Delivery.attempts + 1, updated_at=now)
                 .returning(Delivery.id, Delivery.item_id, Delivery.version, Delivery.account_id,
                            Delivery.attempts, Delivery.needs_lookup, Delivery.remote_id,
                            Delivery.withdrawal_id, Delivery.interrupted, Delivery.transient,
                            Delivery.transient_since)
                 .execution_options(synchronize_session=False))
    if not on_postgres(session):
        statement = statement.where(Delivery.state.in_(states))  # the check is the lock
    rows = session.connection().execute(statement).all()  # Core: no ORM layer per statement
    return [Claimed(id=r[0], item_id=r[1], version=r[2], account_id=r[3], tries=r[4] - r[8],
                    needs_lookup=bool(r[5]), remote_id=r[6], withdrawing=r[7] is not None,
                    interrupted=r[8], transient=r[9], transient_since=r[10])
            for r in rows]


def _lock(session: Session, ids: Sequence[str], *columns: Any) -> list[Row]:
    """Lock the delivery rows ``ids`` that nobody else holds, in id order, and read ``columns``.

    Only the primary key is in the WHERE clause, on purpose: within a run the planner's idea
    of how many rows are in a state is stale (10,000 rows move from state to state faster than
    autovacuum analyzes), and with a state condition it chose the state index, reading every
    row in that state to find 200: 30-80 ms per claim at 10,000 rows instead of 2 ms."""
    return session.connection().execute(
        select(Delivery.id, *columns).where(among(session, Delivery.id, ids))
        .order_by(Delivery.id).with_for_update(skip_locked=True)).all()


def renew(session: Session, owner: str, ids: Sequence[str], lease_s: int) -> None:
    if not ids:
        return
    mine = [row.id for row in _lock(session, ids, Delivery.lease_owner, Delivery.state)
            if row.lease_owner == owner and row.state in IN_FLIGHT]
    if not mine:
        return
    statement = (update(Delivery).where(among(session, Delivery.id, mine))
                 .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
                 .execution_options(synchronize_session=False))
    if not on_postgres(session):
        statement = statement.where(Delivery.lease_owner == owner, Delivery.state.in_(IN_FLIGHT))
    session.execute(statement)


def record(session: Session, action: Action, owner: str,
           outcomes: Sequence[Outcome]) -> list[str]:
    """Write outcomes; returns ids that became ``withdraw_queued`` (published after withdrawal).

    A publish outcome is written through ``fence.after_withdrawal`` when the row carries a
    withdrawal id by now (layer 4 of "withdraw wins"), decided under the row lock."""
    if not outcomes:
        return []
    action = Action(action)
    now = utcnow()
    in_flight = action.in_flight
    params = []
    for o in sorted(outcomes, key=lambda o: o.delivery_id):  # id order: the global lock order
        retry_at = now + timedelta(seconds=o.retry_in) if o.retry_in is not None else None
        params.append({
            "b_id": o.delivery_id, "b_state": o.state,
            "b_wstate": _if_withdrawn(action, o),
            "b_kind": o.error_kind, "b_error": (o.error or "")[:1000] or None,
            "b_remote_id": o.remote_id, "b_remote_url": o.remote_url, "b_retry": retry_at,
            "b_lookup": o.lookup.value, "b_published": now if o.state.is_live else None,
            "b_withdrawn": now if o.state is S.WITHDRAWN else None,
            "b_transient": int(o.transient), "b_clock": _clock(o.state, o.transient),
            "b_wclock": _clock(_if_withdrawn(action, o), o.transient),
        })
    if on_postgres(session):
        _write_outcomes_as_set(session, owner, in_flight, now, params)
    else:
        _write_outcomes_row_by_row(session, owner, in_flight, now, params)
    add_attempts(session, [(o.delivery_id, action, owner, o.step, (o.error or "")[:1000] or None,
                            now) for o in outcomes])
    _side_effects(session, outcomes, now)
    if action is not Action.PUBLISH:
        return []
    published = [o.delivery_id for o in outcomes
                 if _if_withdrawn(action, o) is S.WITHDRAW_QUEUED]
    if not published:
        return []
    return list(session.execute(select(Delivery.id).where(
        among(session, Delivery.id, published), Delivery.state == S.WITHDRAW_QUEUED)).scalars())


CLOCK_START, CLOCK_KEEP, CLOCK_STOP = "start", "keep", "stop"


# The outcome columns and their PostgreSQL types, as ``json_to_recordset`` reads them.
_OUTCOME_COLUMNS = (
    ("b_id", "text"), ("b_state", "text"), ("b_wstate", "text"), ("b_kind", "text"),
    ("b_error", "text"), ("b_remote_id", "text"), ("b_remote_url", "text"),
    ("b_retry", "timestamptz"), ("b_lookup", "boolean"), ("b_published", "timestamptz"),
    ("b_withdrawn", "timestamptz"), ("b_transient", "integer"), ("b_clock", "text"),
    ("b_wclock", "text"),
)
_SET_UPDATE = text(
    "WITH v AS MATERIALIZED (SELECT * FROM json_to_recordset(CAST(:rows AS json)) AS v("
    + ", ".join(f"{name} {kind}" for name, kind in _OUTCOME_COLUMNS) + "))"
    " UPDATE deliveries AS d SET"
    " state = CASE WHEN d.withdrawal_id IS NULL THEN v.b_state ELSE v.b_wstate END,"
    " error_kind = v.b_kind, error = v.b_error,"
    " remote_id = coalesce(v.b_remote_id, d.remote_id),"
    " remote_url = coalesce(v.b_remote_url, d.remote_url),"
    " next_attempt_at = v.b_retry,"
    " needs_lookup = coalesce(v.b_lookup, d.needs_lookup),"
    " published_at = coalesce(v.b_published, d.published_at),"
    " withdrawn_at = coalesce(v.b_withdrawn, d.withdrawn_at),"
    " transient = d.transient + v.b_transient,"
    " transient_since = CASE"
    "   CASE WHEN d.withdrawal_id IS NULL THEN v.b_clock ELSE v.b_wclock END"
    "   WHEN 'start' THEN coalesce(d.transient_since, CAST(:now AS timestamptz))"
    "   WHEN 'keep' THEN d.transient_since ELSE NULL END,"
    " lease_owner = NULL, lease_expires_at = NULL, updated_at = CAST(:now AS timestamptz)"
    # The rows by primary key (``id = ANY``, an index scan of this flush's ids): joined to
    # the JSON alone, the planner hashed it against a scan of every delivery row, so each
    # flush cost as much as the table was large (0.1 ms a row at 10,000 deliveries).
    " FROM v WHERE d.id = ANY(ARRAY(SELECT b_id FROM v)) AND d.id = v.b_id"
    " AND d.lease_owner = :owner AND d.state = :in_flight")


def _write_outcomes_as_set(session: Session, owner: str, in_flight: str, now: datetime,
                           params: list[dict[str, Any]]) -> None:
    """PostgreSQL: every outcome in one UPDATE from one JSON parameter, with the same
    conditions as the row-by-row form (lease owner, in-flight state). Two hundred single-row
    UPDATEs cost the worker 8 % of its CPU in parameter handling alone; fourteen arrays
    still cost a third of the write in psycopg's per-element array dumping; orjson writes
    the rows in one C call (enums as their values, times in RFC 3339).

    The rows are locked first, in id order, by one SELECT: the UPDATE's join visits them in
    whatever order its plan likes, and every other writer (claims, the withdrawal click)
    takes delivery locks in id order, so no deadlock can form."""
    _lock_owned(session, [p["b_id"] for p in params])
    session.connection().execute(_SET_UPDATE, {"rows": orjson.dumps(params).decode(), "now": now,
                                               "owner": owner, "in_flight": str(in_flight)})


def _lock_owned(session: Session, ids: Sequence[str]) -> None:
    session.connection().execute(select(Delivery.id).where(among(session, Delivery.id, ids))
                                 .order_by(Delivery.id).with_for_update()).all()


def _clock(state: DeliveryState, transient: bool) -> str:
    """What an outcome does to ``transient_since``: a transient failure starts the clock (if
    it is not running), any other retry leaves it, anything else stops it."""
    if state not in (S.RETRY, S.WITHDRAW_RETRY):
        return CLOCK_STOP
    return CLOCK_START if transient else CLOCK_KEEP


def _if_withdrawn(action: Action, o: Outcome) -> DeliveryState:
    """The state ``o`` writes when the row's item was withdrawn meanwhile."""
    return after_withdrawal(o.state, o.lookup) if action is Action.PUBLISH else o.state


def _write_outcomes_row_by_row(session: Session, owner: str, in_flight: str, now: datetime,
                               params: list[dict[str, Any]]) -> None:
    """SQLite: one conditional UPDATE per outcome (executemany)."""
    clock = case((Delivery.withdrawal_id.is_(None), bindparam("b_clock", type_=String)),
                 else_=bindparam("b_wclock", type_=String))
    statement = (
        update(Delivery)
        .where(Delivery.id == bindparam("b_id"), Delivery.lease_owner == owner,
               Delivery.state == in_flight)
        .values(
            state=case((Delivery.withdrawal_id.is_(None), bindparam("b_state", type_=String)),
                       else_=bindparam("b_wstate", type_=String)),
            error_kind=bindparam("b_kind", type_=String), error=bindparam("b_error", type_=String),
            remote_id=func.coalesce(bindparam("b_remote_id", type_=String), Delivery.remote_id),
            remote_url=func.coalesce(bindparam("b_remote_url", type_=String),
                                     Delivery.remote_url),
            next_attempt_at=bindparam("b_retry", type_=UTCDateTime()),
            needs_lookup=func.coalesce(bindparam("b_lookup", type_=Boolean),
                                       Delivery.needs_lookup),
            published_at=func.coalesce(bindparam("b_published", type_=UTCDateTime()),
                                       Delivery.published_at),
            withdrawn_at=func.coalesce(bindparam("b_withdrawn", type_=UTCDateTime()),
                                       Delivery.withdrawn_at),
            transient=Delivery.transient + bindparam("b_transient", type_=Integer),
            transient_since=case(
                (clock == CLOCK_START, func.coalesce(Delivery.transient_since,
                                                     literal(now, UTCDateTime()))),
                (clock == CLOCK_KEEP, Delivery.transient_since), else_=None),
            lease_owner=None, lease_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.connection().execute(statement, params)


ATTEMPT_COLUMNS = ("delivery_id", "action", "worker", "outcome", "error", "at")


def add_attempts(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """Append history rows (``ATTEMPT_COLUMNS`` each). On PostgreSQL through COPY, in the
    session's transaction: one command instead of an INSERT per row, which was the largest
    share of the database's time per outcome after the update itself."""
    append_rows(session, DeliveryAttempt.__table__, ATTEMPT_COLUMNS, rows)


def append_rows(session: Session, table: Table, columns: Sequence[str],
                rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) in the session's transaction; on
    PostgreSQL with COPY. Columns left out take their server defaults. A duplicate key fails
    the transaction either way."""
    if not rows:
        return
    connection = session.connection()
    if not on_postgres(session):
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _side_effects(session: Session, outcomes: Sequence[Outcome], now: datetime) -> None:
    auth = {o.flag_account: (o.flag_auth_state, o.flag_reason) for o in outcomes
            if o.flag_account and o.flag_auth_state}
    for account_id, (auth_state, reason) in auth.items():
        session.execute(update(Account).where(Account.id == account_id,
                                              Account.auth_state == "authorized")
                        .values(auth_state=auth_state, auth_error=(reason or "")[:500],
                                auth_changed_at=now))
    _record_refreshes(session, outcomes, now)
    flags = {o.flag_account: o.flag_reason for o in outcomes
             if o.flag_account and not o.flag_auth_state}
    for account_id, reason in flags.items():
        session.execute(update(Account).where(Account.id == account_id,
                                              Account.flagged_reason.is_(None))
                        .values(flagged_reason=(reason or "")[:500], flagged_at=now))
    tasks = [o for o in outcomes if o.task]
    if tasks:
        existing = set(session.execute(select(Task.delivery_id).where(
            Task.delivery_id.in_([o.delivery_id for o in tasks]),
            Task.kind == "manual_withdraw")).scalars())
        rows = [{"id": new_id("tsk"), "kind": "manual_withdraw", "state": "open",
                 "delivery_id": o.delivery_id, "created_at": now, **o.task}
                for o in tasks if o.delivery_id not in existing]
        if rows:
            session.execute(insert(Task), rows)
    settled = [o.delivery_id for o in outcomes if o.closes_task and o.state is S.WITHDRAWN]
    if settled:
        session.execute(update(Task).where(
            among(session, Task.delivery_id, settled), Task.kind == "manual_withdraw",
            Task.state == "open").values(
            state="done", done_at=now, note="系统已自动撤回 (withdrawn automatically)")
            .execution_options(synchronize_session=False))


def _record_refreshes(session: Session, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Only outcomes whose call refreshed a token carry one: most writes add nothing here."""
    latest: dict[str, datetime] = {}
    for o in outcomes:
        if o.token_refreshed is not None:
            account_id, expires_at = o.token_refreshed
            if account_id not in latest or expires_at > latest[account_id]:
                latest[account_id] = expires_at
    if not latest:
        return
    session.connection().execute(
        update(Account).where(Account.id == bindparam("b_account"))
        .values(auth_token_expires_at=bindparam("b_expires", type_=UTCDateTime()),
                auth_refreshed_at=now)
        .execution_options(synchronize_session=False),
        [{"b_account": a, "b_expires": e} for a, e in sorted(latest.items())])


def mark_published_accounts(session: Session, account_ids: Sequence[str]) -> None:
    if account_ids:
        # Best effort (an inspection hint): skip accounts another transaction holds.
        # Two statements, each by primary key only (see ``_lock``).
        free = list(session.execute(select(Account.id).where(among(session, Account.id,
                                                                   account_ids))
                                    .order_by(Account.id).with_for_update(skip_locked=True))
                    .scalars())
        if free:
            session.execute(update(Account).where(among(session, Account.id, free))
                            .values(last_published_at=utcnow())
                            .execution_options(synchronize_session=False))


# What a call needs of its account, read as plain rows: building ORM objects for every
# delivery of a 10,000-account run cost more than the query.
ACCOUNT_FIELDS = (Account.id, Account.org_id, Account.name, Account.platform, Account.status,
                  Account.flagged_reason, Account.api_base, Account.credentials_sealed,
                  Account.auth_state)


def accounts_of(session: Session, account_ids: Sequence[str]) -> dict[str, Row]:
    return {row.id: row for row in session.connection().execute(select(*ACCOUNT_FIELDS).where(
        among(session, Account.id, set(account_ids))))}


INTERRUPTED = {
    S.SENDING: "发送中断，将先核实平台上是否已发布 (interrupted while sending; checking the platform)",
    S.WITHDRAWING: "撤稿中断，将重试 (interrupted while withdrawing; retrying)",
}


def stale_leases(session: Session, *, interrupted_max: int | None = None,
                 dead_owners: Sequence[str] = (), expired: bool = True
                 ) -> dict[str, list[tuple[str, str]]]:
    """In-flight rows whose worker died: a send may have happened, so look before resending.

    A row is taken back when its lease ran out (unless ``expired`` is False: the reconciler
    looks for those every third of a lease, not at every sweep), or at once when its owner is
    among ``dead_owners`` (workers whose alive key is gone).

    Each lost claim is counted in ``interrupted`` and written to the history with the worker
    that held it. A withdrawal never gives up, but one that has lost ``interrupted_max``
    workers also gets a manual task, so people start on it while the retries go on. Returns
    the released rows by the action that takes them next, (id, platform) each: no job holds
    them any more (the dead worker had consumed it), so they are owed one now."""
    now = utcnow()
    reasons = [Delivery.lease_expires_at < now] if expired else []
    if dead_owners:
        reasons.append(Delivery.lease_owner.in_(list(dead_owners)))
    if not reasons:
        return {action: [] for action in Action}
    gone = or_(*reasons)
    lost = session.execute(
        select(Delivery.id, Delivery.state, Delivery.lease_owner)
        .where(Delivery.state.in_(tuple(INTERRUPTED)), gone)
        .order_by(Delivery.id).with_for_update(skip_locked=True)).all()
    released: dict[Action, list[tuple[str, str]]] = {action: [] for action in Action}
    history = []
    for action in Action:
        state = action.in_flight
        owners = {row.id: row.lease_owner for row in lost if row.state == state}
        if not owners:
            continue
        # A send that may have gone out: look before sending again (needs_lookup), and
        # withdraw wins (layer 5: see ``fence``).
        after = (case((Delivery.withdrawal_id.is_(None), S.RETRY),
                      else_=after_withdrawal(S.RETRY, Lookup.NEEDED))
                 if action is Action.PUBLISH else S.WITHDRAW_RETRY)
        rows = session.execute(
            update(Delivery)
            .where(among(session, Delivery.id, owners), Delivery.state == state)
            .values(state=after, lease_owner=None, lease_expires_at=None, next_attempt_at=now,
                    interrupted=Delivery.interrupted + 1, updated_at=now,
                    **({"needs_lookup": Lookup.NEEDED.value, "error_kind": ErrorKind.UNKNOWN,
                        "error": INTERRUPTED[state]} if action is Action.PUBLISH else {}))
            .returning(Delivery.id, Delivery.platform, Delivery.state, Delivery.interrupted)
            .execution_options(synchronize_session=False)).all()
        for delivery_id, platform, new_state, _ in rows:
            released[Action.PUBLISH if new_state == S.RETRY else Action.WITHDRAW].append(
                (delivery_id, platform))
            history.append((delivery_id, action, owners[delivery_id], Step.INTERRUPTED,
                            INTERRUPTED[state], now))
        if action is Action.WITHDRAW and interrupted_max:
            _open_stuck_withdrawal_tasks(session, {d: n for d, _, _, n in rows
                                                   if n >= interrupted_max}, now)
    add_attempts(session, history)
    return released


def _open_stuck_withdrawal_tasks(session: Session, stuck: dict[str, int], now: datetime) -> None:
    if not stuck:
        return
    rows = session.execute(
        select(Delivery.id, Delivery.item_id, Account.id, Account.org_id, Account.name)
        .join(Account, Account.id == Delivery.account_id)
        .where(among(session, Delivery.id, stuck))).all()
    _side_effects(session, [Outcome(
        delivery_id=delivery_id, state=S.WITHDRAW_RETRY, step=Step.INTERRUPTED, task={
        "org_id": org_id, "account_id": account_id, "item_id": item_id,
        "title": f"请在{name}上手动删除稿件 (delete the post by hand)",
        "detail": f"撤稿时工作进程已中断{stuck[delivery_id]}次，系统仍在重试；人工删除后请标记完成 "
                  f"(the worker died {stuck[delivery_id]} times while withdrawing; retries go on)",
        "deadline": now + MANUAL_DEADLINE}) for delivery_id, item_id, account_id, org_id, name
        in rows], now)
