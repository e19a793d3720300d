"""/api/v1/items/<id>/push (and its preview), /dispatches, /items/<id>/withdraw, /withdrawals"""

from __future__ import annotations

import logging

from flask import jsonify, request
from sqlalchemy import select

from ..audit import record
from ..auth import current
from ..db import is_transient
from ..errors import invalid, not_found
from ..fanout import confirm
from ..fanout import push as push_service
from ..fanout import withdraw as withdraw_service
from ..fanout.executor import FENCE_PREFIX, FENCE_TTL_S
from ..fanout.progress import dispatch_progress, withdrawal_progress
from ..fanout.queueing import enqueue_batches
from ..fanout.render import public_base
from ..fanout.rights import withdrawal_scope
from ..fanout.targets import parse_targets, resolve
from ..models import DELIVERY_STATES, PLATFORMS, Account, Delivery, Dispatch, Org, Withdrawal
from ..permissions import require
from ..request_limits import bulk_json
from ..services import items as item_service
from ..services.safety import parse_push_override
from ..validation import json_body, limit_arg, rfc3339, timestamp
from . import api
from .common import cursor_arg, page, rt

log = logging.getLogger("yunchu.fanout")


@api.post("/items/<item_id>/push")
@bulk_json
def push_item(item_id: str):
    """Push an approved item to accounts (orgs, platforms, matrices, explicit ids).
    With ``expected_total``, only if the push covers exactly that many accounts (else 409)."""
    principal = current()
    require(principal, "item.push")  # the role first: a caller who may not push learns no more
    body = json_body()
    spec = parse_targets(body.get("targets"))
    schedule_at = timestamp(body, "schedule_at")
    override = parse_push_override(body)
    expected = confirm.expected_total(body)
    runtime = rt()
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
    return jsonify({"dispatch_id": dispatch_id, "total": result.total,
                    "skipped": result.skipped, "skip_codes": result.skip_codes}), 202


@api.post("/items/<item_id>/push/preview")
@bulk_json
def preview_push(item_id: str):
    """What a push with these targets would do, without doing it: how many accounts, by
    platform, skipped (and why: accounts that cannot take the item, or already carry another
    item of its lineage), and already holding the item. The same checks as a push."""
    principal = current()
    require(principal, "item.push")
    body = json_body()
    spec = parse_targets(body.get("targets"))
    override = parse_push_override(body)
    runtime = rt()
    with runtime.db.session() as session:
        item = item_service.get(session, item_id)
        require(principal, "item.push", org_path=session.get(Org, item.org_id).path)
        data = push_service.preview(session, item, resolve(session, spec, principal),
                                    public_base(runtime.settings), principal, override)
    return jsonify(data)


def _enqueue(runtime, action: str, rows: list[tuple[str, str]]) -> None:
    """After commit. If Redis is unreachable the rows are safe: the reconciler re-drives them."""
    if not rows:
        return
    try:
        enqueue_batches(runtime.redis, action, rows, runtime.settings.batch_size)
    except Exception as err:  # noqa: BLE001
        log.warning("could not enqueue %d %s deliveries now (%s); the reconciler will",
                    len(rows), action, type(err).__name__)


@api.get("/dispatches/<dispatch_id>")
def get_dispatch(dispatch_id: str):
    """Progress of one push: counts by delivery state."""
    principal = current()
    with rt().db.session() as session:
        dispatch = session.get(Dispatch, dispatch_id)
        if dispatch is None:
            raise not_found("推送任务", dispatch_id)
        _require_item_scope(session, principal, dispatch.item_id, "item.read")
        data = dispatch_progress(session, dispatch)
    return jsonify(data)


@api.get("/dispatches/<dispatch_id>/deliveries")
def list_dispatch_deliveries(dispatch_id: str):
    """The deliveries of one push, filterable by state, error kind and platform."""
    return _deliveries(Delivery.dispatch_id, dispatch_id, Dispatch, "推送任务")


@api.get("/withdrawals/<withdrawal_id>/deliveries")
def list_withdrawal_deliveries(withdrawal_id: str):
    """The deliveries one withdrawal covers, filterable by state, error kind and platform."""
    return _deliveries(Delivery.withdrawal_id, withdrawal_id, Withdrawal, "撤稿任务")


def _deliveries(column, key: str, model, label: str):
    principal = current()
    # One state, or several separated by commas (a failure list covers failed, retry, unknown).
    states = [s for s in (request.args.get("state") or "").split(",") if s]
    if any(s not in DELIVERY_STATES for s in states):
        raise invalid("state", "未知的投递状态 (unknown delivery state)",
                      allowed=list(DELIVERY_STATES))
    error_kind = (request.args.get("error_kind") or "")[:32] or None
    platform = request.args.get("platform") or None
    if platform and platform not in PLATFORMS:
        raise invalid("platform", "未知的平台 (unknown platform)", allowed=list(PLATFORMS))
    limit = limit_arg(default=100, maximum=1000)
    after = cursor_arg()
    with rt().db.session() as session:
        parent = session.get(model, key)
        if parent is None:
            raise not_found(label, key)
        _require_item_scope(session, principal, parent.item_id, "item.read")
        query = (select(Delivery, Account.name, Org.slug)
                 .join(Account, Account.id == Delivery.account_id)
                 .join(Org, Org.id == Account.org_id).where(column == key))
        if states:
            query = query.where(Delivery.state.in_(states))
        if error_kind:
            query = query.where(Delivery.error_kind == error_kind)
        if platform:
            query = query.where(Delivery.platform == platform)
        if principal.org_path is not None:
            query = query.where(Org.path.startswith(principal.org_path, autoescape=True))
        if after:
            query = query.where(Delivery.id > after)
        rows = session.execute(query.order_by(Delivery.id).limit(limit + 1)).all()
        rows, next_cursor = page(rows, limit, lambda r: r[0].id)
        items = [_delivery_json(d, name, slug) for d, name, slug in rows]
    return jsonify({"items": items, "next_cursor": next_cursor})


def _delivery_json(d: Delivery, account_name: str, org_slug: str) -> dict:
    return {"id": d.id, "item": d.item_id, "version": d.version, "account": d.account_id,
            "account_name": account_name, "org": org_slug, "platform": d.platform,
            "state": d.state, "remote_id": d.remote_id, "remote_url": d.remote_url,
            "attempts": d.attempts, "error": d.error, "error_kind": d.error_kind,
            "next_attempt_at": rfc3339(d.next_attempt_at),
            "published_at": rfc3339(d.published_at), "withdrawn_at": rfc3339(d.withdrawn_at),
            "dispatch": d.dispatch_id, "withdrawal": d.withdrawal_id,
            "updated_at": rfc3339(d.updated_at)}


def _require_item_scope(session, principal, item_id: str, action: str) -> None:
    from ..models import Item

    item = session.get(Item, item_id)
    require(principal, action, org_path=session.get(Org, item.org_id).path)


@api.post("/items/<item_id>/withdraw")
def withdraw_item(item_id: str):
    """Withdraw an item (and every copy pulled from it) from every account and feed.
    With ``expected_total``, only if it covers exactly that many deliveries (else 409)."""
    principal = current()
    body = json_body()
    reason = withdraw_service.parse_reason(body)
    expected = confirm.expected_total(body)
    runtime = rt()
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
    _enqueue(runtime, "withdraw", result.queued)
    return jsonify({"withdrawal_id": withdrawal_id, "total": result.total}), 202


def _withdraw_once(runtime, principal, item_id: str, reason: str, expected: int | None):
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


def _fence(runtime, item_ids: list[str]) -> None:
    try:
        pipe = runtime.redis.pipeline(transaction=False)
        for item_id in item_ids:
            pipe.set(FENCE_PREFIX + item_id, 1, ex=FENCE_TTL_S)
        pipe.execute()
    except Exception as err:  # noqa: BLE001 - the database fence (item status) still holds
        log.warning("could not set the Redis withdrawal fence (%s)", type(err).__name__)


@api.get("/withdrawals/<withdrawal_id>")
def get_withdrawal(withdrawal_id: str):
    """Progress of one withdrawal: remaining counts down to zero."""
    principal = current()
    with rt().db.session() as session:
        withdrawal = session.get(Withdrawal, withdrawal_id)
        if withdrawal is None:
            raise not_found("撤稿任务", withdrawal_id)
        _require_item_scope(session, principal, withdrawal.item_id, "item.read")
        data = withdrawal_progress(session, withdrawal)
    return jsonify(data)
