"""Polling posts the platform is still reviewing or publishing (WeChat, Douyin)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, String, bindparam, or_, select, update
from sqlalchemy.orm import Session

from adapters.base import AccountRef, AdapterError, Receipt

from ..models import Delivery, utcnow
from ..models.base import UTCDateTime
from .executor import Executor
from .parked import take

POLL_FIRST, POLL_CAP = timedelta(seconds=10), timedelta(minutes=10)
# Removals that wait for a worker (not yet claimed, so no call is using the row's remote id).
REMOVAL_WAITING = ("withdraw_queued", "withdraw_retry")


async def poll(executor: Executor, platform: str, ids: Sequence[str]) -> dict[str, Any]:
    rows = await asyncio.to_thread(_load, executor, ids)
    adapter = executor.adapters[platform]
    changes: list[dict[str, Any]] = []

    parked = await take(executor.redis, platform,
                        [(d, ref.id, r) for d, r, _, ref in rows])

    async def one(delivery_id: str, remote_id: str, ref: AccountRef) -> None:
        receipt = parked.get(delivery_id)
        if receipt is None:
            try:
                receipt = await adapter.status(ref, remote_id)
            except AdapterError:
                return
        change = change_of(delivery_id, remote_id, receipt)
        if change is not None:
            changes.append(change)

    await asyncio.gather(*(one(d, r, ref) for d, r, _, ref in rows))
    changed = {c["id"] for c in changes}
    now = utcnow()
    later = [{"b_id": d, "b_next": now + next_poll_in(now - (published or now))}
             for d, _, published, _ in rows if d not in changed]
    await asyncio.to_thread(_write, executor, changes, later)
    return {"polled": len(rows), "changed": len(changes)}


def next_poll_in(age: timedelta) -> timedelta:
    """Poll a post still in platform review again after as long as it has waited so far
    (10 s, 20 s, 40 s … at most 10 minutes): quick answers for quick reviews, and WeChat's
    100 freepublish/get calls a day are not spent on one slow review."""
    return min(max(age, POLL_FIRST), POLL_CAP)


def _load(executor: Executor,
          ids: Sequence[str]) -> list[tuple[str, str, datetime | None, AccountRef]]:
    from ..infra.idsets import among
    from .claims import accounts_of

    with executor.runtime.db.session() as session:
        rows = session.execute(select(Delivery.id, Delivery.remote_id, Delivery.account_id,
                                      Delivery.published_at).where(
            among(session, Delivery.id, ids), Delivery.state == "pending_review",
            Delivery.remote_id.is_not(None))).all()
        accounts = accounts_of(session, [r[2] for r in rows])
    result = []
    for delivery_id, remote_id, account_id, published_at in rows:
        ref = executor.ref_of(accounts[account_id])
        if ref is not None:  # unreadable credentials: nothing to ask with; polled again later
            result.append((delivery_id, remote_id, published_at, ref))
    return result


def _write(executor: Executor, changes: list[dict[str, Any]],
           later: list[dict[str, Any]]) -> None:
    if not changes and not later:
        return
    with executor.runtime.db.session() as session:
        if later:
            session.connection().execute(  # Core executemany, as claims.record does
                update(Delivery).where(Delivery.id == bindparam("b_id"),
                                       Delivery.state == "pending_review")
                .values(next_attempt_at=bindparam("b_next", type_=UTCDateTime())), later)
        apply_changes(session, changes)
        resolve_queued_removals(session, changes)


def change_of(delivery_id: str, remote_id: str, receipt: Receipt) -> dict[str, Any] | None:
    """What a platform's answer about a post in review changes (None: still in review).

    A failure reported by a pushed event (``extra["via"] == "event"``) rather than by the
    platform's own API keeps the publish id and sets ``needs_lookup``: an event can be forged
    or replayed, and "failed" must not let a withdrawal or a re-push skip a copy that may be
    live. Both then ask the platform first, as after any send whose outcome is unknown."""
    if receipt.state == "published":
        return {"id": delivery_id, "state": "published", "remote_id": receipt.remote_id,
                "remote_url": receipt.url, "error": None, "needs_lookup": False,
                "asked": remote_id}
    if receipt.state in ("rejected", "deleted"):
        return {"id": delivery_id, "state": "failed", "remote_id": remote_id, "remote_url": None,
                "error": f"平台审核未通过或已删除 (platform says {receipt.state}): "
                         f"{receipt.extra.get('reason', '')}"[:1000],
                "needs_lookup": receipt.extra.get("via") == "event"}
    return None


def resolve_queued_removals(session: Session, changes: list[dict[str, Any]]) -> int:
    """A post found published whose row a withdrawal queued while the poll was asking: give
    the waiting removal the post's own id (WeChat's article id), so it deletes with one call
    instead of asking about the publish again. Only a removal not yet claimed, still naming
    the publish the poll asked about and owing no lookup; its state is left alone."""
    found = [c for c in changes if c["state"] == "published"]
    if not found:
        return 0
    result = session.connection().execute(
        update(Delivery).where(Delivery.id == bindparam("b_id"),
                               # no IN (…): an expanding list cannot go in an executemany
                               or_(*(Delivery.state == state for state in REMOVAL_WAITING)),
                               Delivery.remote_id == bindparam("b_asked", type_=String),
                               Delivery.needs_lookup.is_(False))
        .values(remote_id=bindparam("b_remote_id", type_=String),
                remote_url=bindparam("b_remote_url", type_=String)),
        [{"b_id": c["id"], "b_asked": c["asked"], "b_remote_id": c["remote_id"],
          "b_remote_url": c["remote_url"]} for c in sorted(found, key=lambda c: c["id"])])
    return max(result.rowcount, 0)


def apply_changes(session: Session, changes: list[dict[str, Any]]) -> int:
    """Write ``change_of`` results; returns the rows changed."""
    if not changes:
        return 0
    now = utcnow()
    # Only while still pending: a withdrawal that started meanwhile keeps its state.
    # One executemany in id order (the global lock order), not a statement per row.
    result = session.connection().execute(
        update(Delivery).where(Delivery.id == bindparam("b_id"),
                               Delivery.state == "pending_review")
        .values(state=bindparam("b_state", type_=String),
                remote_id=bindparam("b_remote_id", type_=String),
                remote_url=bindparam("b_remote_url", type_=String),
                error=bindparam("b_error", type_=String),
                needs_lookup=bindparam("b_lookup", type_=Boolean), updated_at=now),
        [{"b_id": c["id"], "b_state": c["state"], "b_remote_id": c["remote_id"],
          "b_remote_url": c["remote_url"], "b_error": c["error"],
          "b_lookup": c["needs_lookup"]}
         for c in sorted(changes, key=lambda c: c["id"])])
    return max(result.rowcount, 0)
