"""claims.record on SQLite and PostgreSQL: what each kind of outcome writes, and that only
rows still claimed by the writer change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from hub.fanout import claims
from hub.fanout.claims import Outcome
from hub.fanout.vocabulary import Action, DeliveryState, ErrorKind, Lookup, Step
from hub.models import Delivery, DeliveryAttempt

from .support import ApiRig


def _claimed(rig: ApiRig, count: int, owner: str = "w1") -> list[str]:
    accounts = [rig.account("c1-k1") for _ in range(count)]
    item = rig.item("c1")
    rig.pushed(item, {"accounts": accounts})
    with rig.hub.runtime.db.session() as session:
        ids = sorted(session.execute(select(Delivery.id).where(Delivery.item_id == item))
                     .scalars())
        assert len(claims.claim(session, Action.PUBLISH, ids, owner, 60)) == count
    return ids


def _rows(rig: ApiRig, ids: list[str]) -> dict[str, dict[str, Any]]:
    with rig.hub.runtime.db.session() as session:
        rows = session.execute(select(Delivery).where(Delivery.id.in_(ids))).scalars()
        return {r.id: {"state": r.state, "error_kind": r.error_kind, "error": r.error,
                       "remote_id": r.remote_id, "remote_url": r.remote_url,
                       "retry": r.next_attempt_at is not None, "lookup": r.needs_lookup,
                       "published": r.published_at is not None, "owner": r.lease_owner,
                       "lease": r.lease_expires_at is not None} for r in rows}


def test_outcomes_are_written_alike_on_both_databases(rig):
    ids = _claimed(rig, 6)
    published, retry, failed, after_withdrawal, foreign, withdrawn_early = ids
    with rig.hub.runtime.db.session() as session:
        # One row was re-claimed by another worker meanwhile, one row's item was withdrawn.
        session.execute(update(Delivery).where(Delivery.id == foreign)
                        .values(lease_owner="w2"))
        session.execute(update(Delivery).where(Delivery.id == after_withdrawal)
                        .values(withdrawal_id="wdr_x"))
        session.execute(update(Delivery).where(Delivery.id == withdrawn_early)
                        .values(state="withdraw_queued", lease_owner=None))
        live = {"state": DeliveryState.PUBLISHED, "step": Step.PUBLISHED}
        flipped = claims.record(session, Action.PUBLISH, "w1", [
            Outcome(delivery_id=published, **live, remote_id="post-1",
                    remote_url="https://example.org/1", lookup=Lookup.SETTLED),
            Outcome(delivery_id=retry, state=DeliveryState.RETRY, step=ErrorKind.RETRYABLE,
                    error_kind=ErrorKind.RETRYABLE, error="超时 (timeout)", retry_in=30,
                    lookup=Lookup.NEEDED),
            Outcome(delivery_id=failed, state=DeliveryState.FAILED,
                    step=ErrorKind.CONTENT_REJECTED, error_kind=ErrorKind.CONTENT_REJECTED,
                    error="x" * 1500),
            Outcome(delivery_id=after_withdrawal, **live, remote_id="post-4"),
            Outcome(delivery_id=foreign, **live, remote_id="post-5"),
            Outcome(delivery_id=withdrawn_early, **live, remote_id="post-6"),
        ])
    # Both wait for removal now: the worker removes them at once, on its warm connection.
    assert set(flipped) == {after_withdrawal, withdrawn_early}
    rows = _rows(rig, ids)
    assert rows[published] == {
        "state": "published", "error_kind": None, "error": None, "remote_id": "post-1",
        "remote_url": "https://example.org/1", "retry": False, "lookup": False,
        "published": True, "owner": None, "lease": False}
    assert rows[retry] | {"error": None} == {
        "state": "retry", "error_kind": "retryable", "error": None, "remote_id": None,
        "remote_url": None, "retry": True, "lookup": True, "published": False, "owner": None,
        "lease": False}
    assert rows[retry]["error"] == "超时 (timeout)"
    assert (rows[failed]["state"], len(rows[failed]["error"])) == ("failed", 1000)
    assert rows[failed]["lookup"] is False  # kept: the outcome said nothing about it
    assert (rows[after_withdrawal]["state"], rows[after_withdrawal]["remote_id"]) == (
        "withdraw_queued", "post-4")
    assert (rows[foreign]["state"], rows[foreign]["owner"]) == ("sending", "w2")  # untouched
    assert (rows[withdrawn_early]["state"], rows[withdrawn_early]["remote_id"]) == (
        "withdraw_queued", None)
    with rig.hub.runtime.db.session() as session:
        history = session.execute(select(DeliveryAttempt.delivery_id, DeliveryAttempt.outcome)
                                   .where(DeliveryAttempt.delivery_id.in_(ids))).all()
    assert len(history) == 6  # every answer is history, written or not
