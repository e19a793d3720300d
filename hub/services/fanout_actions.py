"""What a principal may do with pushes and withdrawals: push an approved item (or preview the
push), withdraw an item, and follow either's progress and deliveries, each with its permission
check in the item's org scope and its audit entry. Queueing happens after commit. The REST API
and the admin UI call these."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import invalid, not_found
from ..fanout import confirm, withdrawal_gate
from ..fanout import push as push_service
from ..fanout import withdraw as withdraw_service
from ..fanout.fence import FENCE_PREFIX, FENCE_TTL_S, HOLD_TTL_S, hold_keys
from ..fanout.progress import dispatch_progress, withdrawal_progress
from ..fanout.queueing import enqueue_batches
from ..fanout.render import public_base
from ..fanout.retry import retry_failed
from ..fanout.rights import withdrawal_scope
from ..fanout.targets import parse_targets, resolve
from ..fanout.withdraw import preview as preview_withdrawal
from ..infra.db import is_transient
from ..infra.runtime import Runtime
from ..messages import Message
from ..models import DELIVERY_STATES, Account, Delivery, Dispatch, Item, Org, Withdrawal
from ..platforms import names as platform_names
from ..security.audit import record
from ..security.auth import Principal
from ..security.permissions import require
from ..validation import rfc3339, timestamp
from . import items as item_service
from .paging import decode_cursor, keyset_page
from .safety import parse_push_override

log = logging.getLogger("yunchu.fanout")


def require_pusher(principal: Principal) -> None:
    """The role first: a caller who may not push learns no more."""
    require(principal, "item.push")


def push(runtime: Runtime, principal: Principal, item_id: str,
         body: dict[str, Any]) -> dict[str, Any]:
    """Push an approved item to accounts {targets, schedule_at?, override?, expected_total?}.
    With ``expected_total``, only if the push covers exactly that many accounts (else 409)."""
    require_pusher(principal)
    spec = parse_targets(body.get("targets"))
    schedule_at = timestamp(body, "schedule_at")
    override = parse_push_override(body)
    expected = confirm.expected_total(body)
    with runtime.db.session() as session:
        item = item_service.get(session, item_id, for_update=True)
        require(principal, "item.push", org_path=session.get(Org, item.org_id).path)
        targets = resolve(session, spec, principal)
        result = push_service.push(session, item, spec, targets, schedule_at, principal,
                                   public_base(runtime.settings), override)
        confirm.check(expected, result.total)
        details = {"total": result.total, "skipped": result.skipped,
                   "skip_codes": result.skip_codes, "schedule_at": rfc3339(schedule_at)}
        if result.safety_override:
            details["safety_override"] = result.safety_override
        record(session, "item.push", target=result.dispatch.id, item_id=item.id,
               details=details)
        dispatch_id = result.dispatch.id
    _enqueue(runtime, "publish", result.queued)
    return {"dispatch_id": dispatch_id, "total": result.total, "skipped": result.skipped,
            "skip_codes": result.skip_codes}


def preview(runtime: Runtime, principal: Principal, item_id: str,
            body: dict[str, Any]) -> dict[str, Any]:
    """What a push with these targets would do, without doing it (the same checks)."""
    require_pusher(principal)
    spec = parse_targets(body.get("targets"))
    override = parse_push_override(body)
    with runtime.db.session() as session:
        item = item_service.get(session, item_id)
        require(principal, "item.push", org_path=session.get(Org, item.org_id).path)
        return push_service.preview(session, item, resolve(session, spec, principal),
                                    public_base(runtime.settings), principal, override)


def _enqueue(runtime: Runtime, action: str, rows: list[tuple[str, str]]) -> None:
    """After commit. If Redis is unreachable the rows are safe: the reconciler re-drives them."""
    if not rows:
        return
    try:
        enqueue_batches(runtime.redis, action, rows, runtime.settings.batch_size)
    except Exception as err:  # noqa: BLE001
        log.warning("could not enqueue %d %s deliveries now (%s); the reconciler will",
                    len(rows), action, type(err).__name__)


def _require_item_scope(session: Session, principal: Principal, item_id: str,
                        action: str) -> None:
    item = session.get(Item, item_id)
    require(principal, action, org_path=session.get(Org, item.org_id).path)


RUNS = {"dispatch": (Delivery.dispatch_id, Dispatch, "推送任务"),
        "withdrawal": (Delivery.withdrawal_id, Withdrawal, "撤稿任务")}


def _run(session: Session, principal: Principal, kind: str, run_id: str) -> Any:
    """A push (``kind`` "dispatch") or withdrawal, when the caller may read its item."""
    _, model, label = RUNS[kind]
    found = session.get(model, run_id)
    if found is None:
        raise not_found(label, run_id)
    _require_item_scope(session, principal, found.item_id, "item.read")
    return found


def dispatch(session: Session, principal: Principal, dispatch_id: str) -> dict[str, Any]:
    """Progress of one push: counts by delivery state."""
    return dispatch_progress(session, _run(session, principal, "dispatch", dispatch_id))


def withdrawal(session: Session, principal: Principal, withdrawal_id: str) -> dict[str, Any]:
    """Progress of one withdrawal: remaining counts down to zero."""
    return withdrawal_progress(session, _run(session, principal, "withdrawal", withdrawal_id))


def check_filters(states: list[str], platform: str | None) -> None:
    if any(s not in DELIVERY_STATES for s in states):
        raise invalid("state", Message("fanout.unknown_state"),
                      allowed=list(DELIVERY_STATES))
    if platform and platform not in platform_names():
        raise invalid("platform", Message("fanout.unknown_platform"),
                      allowed=list(platform_names()))


def deliveries(session: Session, principal: Principal, kind: str, run_id: str, *,
               states: list[str], limit: int, cursor: str | None,
               error_kind: str | None = None,
               platform: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """The deliveries of one push (``kind`` "dispatch") or withdrawal, on the accounts of the
    caller's subtree, filterable by states (any of), error kind and platform; and the next
    cursor."""
    check_filters(states, platform)
    after = decode_cursor(cursor)
    _run(session, principal, kind, run_id)
    query = (select(Delivery, Account.name, Org.slug)
             .join(Account, Account.id == Delivery.account_id)
             .join(Org, Org.id == Account.org_id).where(RUNS[kind][0] == run_id))
    if states:
        query = query.where(Delivery.state.in_(states))
    if error_kind:
        query = query.where(Delivery.error_kind == error_kind)
    if platform:
        query = query.where(Delivery.platform == platform)
    if principal.org_path is not None:
        query = query.where(Org.path.startswith(principal.org_path, autoescape=True))
    rows, next_cursor = keyset_page(session, query, Delivery.id, limit=limit, after=after)
    return [_delivery_json(d, name, slug) for d, name, slug in rows], next_cursor


def _delivery_json(d: Delivery, account_name: str, org_slug: str) -> dict[str, Any]:
    return {"id": d.id, "item": d.item_id, "version": d.version, "account": d.account_id,
            "account_name": account_name, "org": org_slug, "platform": d.platform,
            "state": d.state, "remote_id": d.remote_id, "remote_url": d.remote_url,
            "attempts": d.attempts, "error": d.error, "error_kind": d.error_kind,
            "next_attempt_at": rfc3339(d.next_attempt_at),
            "published_at": rfc3339(d.published_at), "withdrawn_at": rfc3339(d.withdrawn_at),
            "dispatch": d.dispatch_id, "withdrawal": d.withdrawal_id,
            "updated_at": rfc3339(d.updated_at)}


def withdraw(runtime: Runtime, principal: Principal, item_id: str,
             body: dict[str, Any]) -> dict[str, Any]:
    """Withdraw an item (and every copy pulled from it) from every account and feed the
    caller's right reaches (hub.security.permissions.withdraw_right). With ``expected_total``, only
    if it covers exactly that many deliveries (else 409)."""
    reason = withdraw_service.parse_reason(body)
    expected = confirm.expected_total(body)
    _mark_withdrawing(runtime)
    held = _hold(runtime, principal, item_id)
    try:
        for attempt in range(3):
            try:
                withdrawal_id, result, scope_path = _withdraw_once(runtime, principal, item_id,
                                                                   reason, expected)
                break
            except Exception as err:
                if attempt == 2 or not is_transient(err):
                    raise
                log.warning("withdrawal of %s hit a transaction conflict; retrying", item_id)
        if scope_path is None:
            _fence(runtime, result.item_ids)
    finally:
        _release(runtime, held)
    _enqueue(runtime, "withdraw", result.queued)
    try:
        queue_in_slices(runtime, withdrawal_id, result.at_rest)
    except Exception as err:  # noqa: BLE001 - committed: the reconciler finishes the slicing
        log.warning("withdrawal %s: queueing its removals stopped (%s); the reconciler "
                    "finishes it", withdrawal_id, type(err).__name__)
    return {"withdrawal_id": withdrawal_id, "total": result.total}


def _mark_withdrawing(runtime: Runtime) -> None:
    """Background work (comment intake) pauses from now: the click's own queries and the
    first removals meet a quiet database."""
    try:
        withdrawal_gate.mark(runtime.redis)
    except Exception as err:  # noqa: BLE001 - a courtesy; the withdrawal never waits on it
        log.warning("withdrawal mark not set (%s)", type(err).__name__)


def queue_in_slices(runtime: Runtime, withdrawal_id: str, at_rest: list[str]) -> int:
    """Queue the removals of live posts at rest, a slice a transaction, each slice's jobs
    enqueued as soon as it commits, so workers start on the first while the rest is written.
    The first slice is small (two batches): that is how soon the first removals go out."""
    if not at_rest:
        return 0
    batch = runtime.settings.batch_size
    queued = 0
    start, size = 0, 2 * batch
    while start < len(at_rest):
        with runtime.db.session() as session:
            rows = withdraw_service.queue_removals(session, withdrawal_id,
                                                   at_rest[start:start + size])
        _enqueue(runtime, "withdraw", rows)
        queued += len(rows)
        start, size = start + size, SLICE_BATCHES * batch
    with runtime.db.session() as session:
        withdraw_service.finish_queueing(session, withdrawal_id)
    return queued


SLICE_BATCHES = 10  # batches per slice after the first


def _withdraw_once(runtime: Runtime, principal: Principal, item_id: str, reason: str,
                   expected: int | None) -> tuple[str, withdraw_service.WithdrawResult, str | None]:
    with runtime.db.session() as session:
        item = item_service.get(session, item_id, for_update=True)
        scope_path = withdrawal_scope(session, principal, item)
        result = withdraw_service.withdraw(session, item, reason, principal,
                                           scope_path=scope_path)
        confirm.check(expected, result.total)
        record(session, "item.withdraw", target=result.withdrawal.id, item_id=item.id,
               details={"total": result.total, "items": result.item_ids, "reason": reason,
                        "scope": "partial" if scope_path else "all"})
        return result.withdrawal.id, result, scope_path


def _hold(runtime: Runtime, principal: Principal, item_id: str) -> list[str]:
    """Hold the sends of the item and its pulled copies while the withdrawal is written
    (``fence``, layer 0), once the caller is known to have a withdrawal right on it."""
    with runtime.db.session() as session:
        item = item_service.get(session, item_id)
        withdrawal_scope(session, principal, item)  # 403 before anything is held
        item_ids = [item.id] + withdraw_service.pulled_copies(session, item.id)
    try:
        pipe = runtime.redis.pipeline(transaction=False)
        for key in hold_keys(item_ids):
            pipe.set(key, 1, ex=HOLD_TTL_S)
        pipe.execute()
    except Exception as err:  # noqa: BLE001 - only a head start: the other layers still hold
        log.warning("could not set the Redis withdrawal hold (%s)", type(err).__name__)
        return []
    return item_ids


def _release(runtime: Runtime, item_ids: list[str]) -> None:
    if not item_ids:
        return
    try:
        runtime.redis.delete(*hold_keys(item_ids))
    except Exception as err:  # noqa: BLE001 - the hold runs out by itself (HOLD_TTL_S)
        log.warning("could not drop the Redis withdrawal hold (%s)", type(err).__name__)


def _fence(runtime: Runtime, item_ids: list[str]) -> None:
    try:
        pipe = runtime.redis.pipeline(transaction=False)
        for item_id in item_ids:
            pipe.set(FENCE_PREFIX + item_id, 1, ex=FENCE_TTL_S)
        pipe.execute()
    except Exception as err:  # noqa: BLE001 - the database fence (item status) still holds
        log.warning("could not set the Redis withdrawal fence (%s)", type(err).__name__)


def retry(runtime: Runtime, principal: Principal, dispatch_id: str) -> dict[str, Any]:
    """Queue a push's failed deliveries again where the cause was passing (platform
    unreachable, rate limited); other failures need a fix first and are left as they are."""
    require_pusher(principal)
    with runtime.db.session() as session:
        dispatch = session.get(Dispatch, dispatch_id)
        if dispatch is None:
            raise not_found("推送任务", dispatch_id)
        item = item_service.get(session, dispatch.item_id, for_update=True)
        require(principal, "item.push", org_path=session.get(Org, item.org_id).path)
        result = retry_failed(session, dispatch, item, principal.org_path)
        record(session, "dispatch.retry", target=dispatch.id, item_id=item.id,
               details={"retried": result.retried})
    _enqueue(runtime, "publish", result.queued)
    return {"dispatch_id": dispatch_id, "retried": result.retried}


def withdraw_preview(runtime: Runtime, principal: Principal, item_id: str) -> dict[str, Any]:
    """What a withdrawal by this caller would do, without doing it: copies to remove by
    platform, sends to cancel, items covered; ``total`` is what ``expected_total`` confirms."""
    with runtime.db.session() as session:
        item = item_service.get(session, item_id)
        return preview_withdrawal(session, item, withdrawal_scope(session, principal, item))
