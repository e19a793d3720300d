"""Withdraw wins: one transaction makes the item (and every pulled copy) withdrawn, cancels
what has not started, and queues a removal for everything that is or may be live. (The first
of the rule's layers: see ``fence``.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from ..errors import ApiError, invalid
from ..infra.ids import new_id
from ..messages import Message
from ..models import Account, Delivery, Item, Org, Withdrawal, utcnow
from ..security.auth import Principal
from .fence import CANCELLED_IF_WAITING, MAYBE_LIVE
from .policy import CANCELLED_BY_WITHDRAWAL
from .vocabulary import DeliveryState

S = DeliveryState


@dataclass(frozen=True)
class WithdrawResult:
    withdrawal: Withdrawal
    total: int
    queued: list[tuple[str, str]]
    item_ids: list[str]


def parse_reason(body: dict) -> str:
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise invalid("reason", Message("withdraw.reason_required"))
    if len(reason) > 1000:
        raise invalid("reason", Message("withdraw.reason_too_long"))
    return reason.strip()


def pulled_copies(session: Session, item_id: str) -> list[str]:
    """Every item pulled from ``item_id``, transitively."""
    found: list[str] = []
    frontier = [item_id]
    while frontier:
        frontier = list(session.execute(select(Item.id).where(Item.origin_id.in_(frontier))
                                        ).scalars())
        found += frontier
    return found


def _scoped(item_ids: list[str], scope_path: str | None) -> list[Any]:
    """The deliveries of these items, on accounts in ``scope_path``'s subtree when given."""
    scoped: list[Any] = [Delivery.item_id.in_(item_ids)]
    if scope_path is not None:
        scoped.append(Delivery.account_id.in_(
            select(Account.id).join(Org, Org.id == Account.org_id)
            .where(Org.path.startswith(scope_path, autoescape=True))))
    return scoped


def _to_cancel() -> Any:
    """Rows not yet sent, with no earlier send that may have gone out: cancelled, nothing to
    remove."""
    return and_(Delivery.state.in_(CANCELLED_IF_WAITING + (S.RETRY,)),
                Delivery.needs_lookup.is_(False))


def _to_remove() -> Any:
    """Rows that are, or may be, live: a removal is queued for each. A row still owing a
    lookup (an earlier send went unanswered) may be live whatever its state says, even when a
    re-push has queued it again; its removal looks the copy up first."""
    return or_(Delivery.state.in_(MAYBE_LIVE),
               and_(Delivery.state.in_(CANCELLED_IF_WAITING + (S.RETRY, S.FAILED)),
                    Delivery.needs_lookup.is_(True)))


def preview(session: Session, item: Item, scope_path: str | None) -> dict[str, Any]:
    """What ``withdraw`` would do, writing nothing: copies to remove (by platform), sends to
    cancel, sends in flight, and the items it covers (the item and every pulled copy).
    ``total`` is the withdrawal's total, the number ``expected_total`` confirms."""
    item_ids = [item.id] + pulled_copies(session, item.id)
    scoped = _scoped(item_ids, scope_path)

    def by_platform(condition: Any) -> dict[str, int]:
        return dict(session.execute(select(Delivery.platform, func.count())
                                    .where(*scoped, condition)
                                    .group_by(Delivery.platform)).all())

    remove = by_platform(_to_remove())
    cancel = by_platform(_to_cancel())
    in_flight = by_platform(Delivery.state == S.SENDING)
    counts = [sum(remove.values()), sum(cancel.values()), sum(in_flight.values())]
    return {"total": sum(counts), "remove": counts[0], "remove_by_platform": remove,
            "cancel": counts[1], "in_flight": counts[2], "items": len(item_ids),
            "copies": len(item_ids) - 1, "scope": "partial" if scope_path else "all"}


def withdraw(session: Session, item: Item, reason: str, principal: Principal,
             *, scope_path: str | None = None) -> WithdrawResult:
    """Withdraw ``item`` everywhere, or (``scope_path``) only from accounts in that subtree."""
    if item.status == "withdrawn" and scope_path is None:
        existing = session.execute(select(Withdrawal.id).where(Withdrawal.item_id == item.id)
                                   .order_by(Withdrawal.created_at.desc())).scalar()
        raise ApiError(409, Message("withdraw.already"), code="already_withdrawn",
                       details={"withdrawal_id": existing})
    now = utcnow()
    item_ids = [item.id] + pulled_copies(session, item.id)
    has_deliveries = session.execute(select(func.count()).where(
        Delivery.item_id.in_(item_ids))).scalar_one()
    if item.status not in ("approved", "withdrawn") and not has_deliveries:
        raise ApiError(409, Message("withdraw.not_published"),
                       code="not_published", details={"status": item.status})
    withdrawal = Withdrawal(id=new_id("wdr"), item_id=item.id, reason=reason, item_ids=item_ids,
                            created_by=principal.user_id)
    session.add(withdrawal)
    if scope_path is None:
        session.execute(update(Item).where(Item.id.in_(item_ids)).values(
            status="withdrawn", withdrawn_at=now, withdraw_reason=reason, updated_at=now))
    # Take every row lock up front, in id order (the order workers use too): no deadlocks.
    session.execute(select(Delivery.id).where(Delivery.item_id.in_(item_ids))
                    .order_by(Delivery.id).with_for_update()).all()
    scoped = _scoped(item_ids, scope_path)
    session.execute(
        update(Delivery)
        .where(*scoped, _to_cancel())
        .values(state=S.CANCELLED, withdrawal_id=withdrawal.id, updated_at=now,
                error=CANCELLED_BY_WITHDRAWAL)
        .execution_options(synchronize_session=False))
    queued = session.execute(
        update(Delivery)
        .where(*scoped, _to_remove())
        .values(state=S.WITHDRAW_QUEUED, withdrawal_id=withdrawal.id, next_attempt_at=None,
                updated_at=now, error=None, error_kind=None, transient_since=None)
        .returning(Delivery.id, Delivery.platform)
        .execution_options(synchronize_session=False)).all()
    # In flight: the worker that holds the lease turns it into a removal when publish returns.
    session.execute(update(Delivery).where(*scoped, Delivery.state == S.SENDING)
                    .values(withdrawal_id=withdrawal.id)
                    .execution_options(synchronize_session=False))
    withdrawal.total = session.execute(select(func.count()).where(
        Delivery.withdrawal_id == withdrawal.id)).scalar_one()
    if withdrawal.total == 0:
        withdrawal.finished_at = now
    return WithdrawResult(withdrawal=withdrawal, total=withdrawal.total,
                          queued=[(r[0], r[1]) for r in queued], item_ids=item_ids)
