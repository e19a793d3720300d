"""Counts by state for a dispatch or a withdrawal: one grouped, index-only query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..models import (
    DELIVERY_STATES,
    PUBLISH_OPEN,
    WITHDRAW_OPEN,
    Delivery,
    Dispatch,
    Task,
    Withdrawal,
    utcnow,
)
from ..validation import rfc3339
from .retry import retryable_failures

WITHDRAW_REMAINING = PUBLISH_OPEN[2:] + WITHDRAW_OPEN  # sending, retry, withdraw_queued, …
# Deliveries that need someone's attention, per kind of run: what the failure list shows and
# the ``problems`` block of the progress counts.
PROBLEM_STATES = {"dispatch": ("failed", "retry"),
                  "withdrawal": ("manual", "withdraw_retry", "failed")}


def _counts(session: Session, column: Any, key: str) -> dict[str, int]:
    counts = dict.fromkeys(DELIVERY_STATES, 0)
    for state, n in session.execute(select(Delivery.state, func.count()).where(column == key)
                                    .group_by(Delivery.state)):
        counts[state] = n
    return counts


def problems(session: Session, column: Any, key: str, states: tuple[str, ...]
             ) -> dict[str, Any]:
    """The run's deliveries in ``states``: how many, by error kind and by platform, and (for a
    push) how many of its failures a retry would send again."""
    by_kind: dict[str, int] = {}
    by_platform: dict[str, int] = {}
    total = 0
    for kind, platform, n in session.execute(
            select(Delivery.error_kind, Delivery.platform, func.count())
            .where(column == key, Delivery.state.in_(states))
            .group_by(Delivery.error_kind, Delivery.platform)):
        total += n
        by_kind[kind or "none"] = by_kind.get(kind or "none", 0) + n
        by_platform[platform] = by_platform.get(platform, 0) + n
    return {"total": total, "by_kind": by_kind, "by_platform": by_platform}


def failed_counts(session: Session, column: Any, ids: list[str]) -> dict[str, int]:
    """Failed deliveries per run among ``ids`` (runs without any are left out)."""
    if not ids:
        return {}
    return dict(session.execute(select(column, func.count()).where(
        column.in_(ids), Delivery.state == "failed").group_by(column)).all())


def dispatch_progress(session: Session, dispatch: Dispatch) -> dict[str, Any]:
    counts = _counts(session, Delivery.dispatch_id, dispatch.id)
    open_count = sum(counts[s] for s in PUBLISH_OPEN)
    # The contract's states are running|done (docs/contract.md); a dispatch still waiting for its schedule_at is
    # running (its counts say "scheduled" and "waiting" says so in one flag).
    state = "done" if open_count == 0 else "running"
    waiting = open_count > 0 and counts["scheduled"] == open_count
    if state == "done" and dispatch.finished_at is None:
        dispatch.finished_at = utcnow()
        session.execute(update(Dispatch).where(Dispatch.id == dispatch.id)
                        .values(finished_at=dispatch.finished_at))
    return {"id": dispatch.id, "item": dispatch.item_id, "version": dispatch.version,
            "state": state, "waiting_for_schedule": waiting, "total": dispatch.total,
            "remaining": open_count,
            "counts": counts, "repushed": dispatch.repushed,
            "problems": _dispatch_problems(session, dispatch),
            "schedule_at": rfc3339(dispatch.schedule_at),
            "created_at": rfc3339(dispatch.created_at),
            "finished_at": rfc3339(dispatch.finished_at)}


def _dispatch_problems(session: Session, dispatch: Dispatch) -> dict[str, Any]:
    found = problems(session, Delivery.dispatch_id, dispatch.id, PROBLEM_STATES["dispatch"])
    found["retryable"] = session.execute(select(func.count()).select_from(
        retryable_failures(dispatch.id).subquery())).scalar_one() if found["total"] else 0
    return found


def _open_tasks(session: Session, withdrawal: Withdrawal) -> int:
    """Removals people still owe: posts no API can delete, and withdrawals that keep losing
    their worker (retried meanwhile)."""
    return session.execute(select(func.count()).select_from(Task).where(
        Task.item_id.in_(withdrawal.item_ids or [withdrawal.item_id]),
        Task.kind == "manual_withdraw", Task.state == "open")).scalar_one()


def withdrawal_progress(session: Session, withdrawal: Withdrawal) -> dict[str, Any]:
    counts = _counts(session, Delivery.withdrawal_id, withdrawal.id)
    if withdrawal.queued_at is None:
        # Posts whose removal the click is still queueing (``withdraw.queue_removals``) carry
        # no withdrawal id yet: they count as queued, which they are about to be.
        counts["withdraw_queued"] += max(0, withdrawal.total - sum(counts.values()))
    remaining = sum(counts[s] for s in WITHDRAW_REMAINING)
    if remaining == 0 and withdrawal.finished_at is None:
        withdrawal.finished_at = utcnow()
        session.execute(update(Withdrawal).where(Withdrawal.id == withdrawal.id)
                        .values(finished_at=withdrawal.finished_at))
    return {"id": withdrawal.id, "item": withdrawal.item_id, "items": withdrawal.item_ids,
            "reason": withdrawal.reason, "state": "done" if remaining == 0 else "running",
            "total": withdrawal.total, "remaining": remaining, "counts": counts,
            "problems": problems(session, Delivery.withdrawal_id, withdrawal.id,
                                 PROBLEM_STATES["withdrawal"]),
            "manual_tasks": _open_tasks(session, withdrawal),
            "created_at": rfc3339(withdrawal.created_at),
            "finished_at": rfc3339(withdrawal.finished_at)}
