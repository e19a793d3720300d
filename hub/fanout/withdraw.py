"""Withdraw wins: one transaction makes the item (and every pulled copy) withdrawn, cancels
what has not started, and queues a removal for everything being sent or owing a lookup. (The
first of the rule's layers: see ``fence``.)

The posts at rest (published, in platform review) are queued for removal after that
transaction, in slices of their own (``queue_removals``), each enqueued as soon as it commits:
at 10,000 posts one UPDATE of them all took ~0.2 s, during which no worker could start. Nothing
can send them meanwhile (they are not sending, and the items are withdrawn), and a slice takes
only rows still live, so a slice run twice queues nothing twice. The withdrawal's
``queued_at`` is set when the last slice is written; until then the reconciler finishes what a
click that died on its way left (``unqueued``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from ..errors import ApiError, invalid
from ..infra.ids import new_id
from ..infra.idsets import among
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
    queued: list[tuple[str, str]]  # (delivery id, platform) queued by the click's transaction
    item_ids: list[str]
    at_rest: list[str]  # live posts whose removal ``queue_removals`` queues after it, id order


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
    return or_(Delivery.state.in_(MAYBE_LIVE), _owes_lookup())


def _owes_lookup() -> Any:
    return and_(Delivery.state.in_(CANCELLED_IF_WAITING + (S.RETRY, S.FAILED)),
                Delivery.needs_lookup.is_(True))


# What the click's own transaction changes: rows being sent or about to be, and rows owing a
# lookup. It locks them (in id order, as workers do) before it writes.
_MOVING = CANCELLED_IF_WAITING + (S.SENDING, S.RETRY)


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
                            created_by=principal.user_id, scope_path=scope_path)
    session.add(withdrawal)
    if scope_path is None:
        session.execute(update(Item).where(Item.id.in_(item_ids)).values(
            status="withdrawn", withdrawn_at=now, withdraw_reason=reason, updated_at=now))
    scoped = _scoped(item_ids, scope_path)
    # Take the locks of the rows written here up front, in id order (the order workers use
    # too): no deadlocks.
    session.execute(select(Delivery.id).where(
        *scoped, or_(Delivery.state.in_(_MOVING), Delivery.needs_lookup.is_(True)))
        .order_by(Delivery.id).with_for_update()).all()
    session.execute(
        update(Delivery)
        .where(*scoped, _to_cancel())
        .values(state=S.CANCELLED, withdrawal_id=withdrawal.id, updated_at=now,
                error=CANCELLED_BY_WITHDRAWAL)
        .execution_options(synchronize_session=False))
    queued = session.execute(
        update(Delivery)
        .where(*scoped, _owes_lookup())
        .values(**_queued_values(withdrawal.id, now))
        .returning(Delivery.id, Delivery.platform)
        .execution_options(synchronize_session=False)).all()
    # In flight: the worker that holds the lease turns it into a removal when publish returns.
    session.execute(update(Delivery).where(*scoped, Delivery.state == S.SENDING)
                    .values(withdrawal_id=withdrawal.id)
                    .execution_options(synchronize_session=False))
    at_rest = list(session.execute(select(Delivery.id).where(
        *scoped, Delivery.state.in_(MAYBE_LIVE)).order_by(Delivery.id)).scalars())
    withdrawal.total = session.execute(select(func.count()).where(
        Delivery.withdrawal_id == withdrawal.id)).scalar_one() + len(at_rest)
    if not at_rest:
        withdrawal.queued_at = now
    if withdrawal.total == 0:
        withdrawal.finished_at = now
    return WithdrawResult(withdrawal=withdrawal, total=withdrawal.total,
                          queued=[(r[0], r[1]) for r in queued], item_ids=item_ids,
                          at_rest=at_rest)


def _queued_values(withdrawal_id: str, now: Any) -> dict[str, Any]:
    return {"state": S.WITHDRAW_QUEUED, "withdrawal_id": withdrawal_id, "next_attempt_at": None,
            "updated_at": now, "error": None, "error_kind": None, "transient_since": None}


def queue_removals(session: Session, withdrawal_id: str,
                   ids: Sequence[str]) -> list[tuple[str, str]]:
    """Queue the removal of those of ``ids`` still live; (id, platform) of the rows queued."""
    if not ids:
        return []
    session.execute(select(Delivery.id).where(among(session, Delivery.id, ids))
                    .order_by(Delivery.id).with_for_update()).all()
    rows = session.execute(
        update(Delivery)
        .where(among(session, Delivery.id, ids), Delivery.state.in_(MAYBE_LIVE))
        .values(**_queued_values(withdrawal_id, utcnow()))
        .returning(Delivery.id, Delivery.platform)
        .execution_options(synchronize_session=False)).all()
    return [(r[0], r[1]) for r in rows]


def finish_queueing(session: Session, withdrawal_id: str) -> None:
    """Every removal is queued: the total is what the rows say (a post in review that the
    platform refused meanwhile was not live any more, and is not counted)."""
    total = session.execute(select(func.count()).where(
        Delivery.withdrawal_id == withdrawal_id)).scalar_one()
    session.execute(update(Withdrawal).where(Withdrawal.id == withdrawal_id)
                    .values(total=total, queued_at=utcnow()))


def unqueued(session: Session, older_than: Any) -> list[Withdrawal]:
    """Withdrawals whose click stopped before it queued every removal (its process died)."""
    return list(session.execute(select(Withdrawal).where(
        Withdrawal.queued_at.is_(None), Withdrawal.created_at < older_than)).scalars())


def at_rest_of(session: Session, withdrawal: Withdrawal) -> list[str]:
    """The live posts a withdrawal covers that still wait for their removal to be queued."""
    scoped = _scoped(list(withdrawal.item_ids or [withdrawal.item_id]), withdrawal.scope_path)
    return list(session.execute(select(Delivery.id).where(
        *scoped, Delivery.state.in_(MAYBE_LIVE)).order_by(Delivery.id)).scalars())
