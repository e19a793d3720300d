"""三审 (three-stage review): submit, then stage 1 → 2 → 3 by distinct reviewers, never an author.

A review round starts at submit and ends with approval (all three stages) or a reject (back to
draft). Only approvals of the current version given since the last reject count, so a rejected
item starts again at stage 1 and an edited item (new version) needs three fresh approvals.
Every submit and approval screens the current version against the negative list.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ApiError, conflict, invalid
from ..infra.ids import new_id
from ..messages import Message
from ..models import Item, ItemVersion, Review, User, utcnow
from ..screening import Hit
from ..security.auth import Principal
from ..validation import rfc3339
from . import independence, safety

STAGES = (1, 2, 3)
STAGE_NAMES = {1: "初审", 2: "复审", 3: "终审"}
MAX_COMMENT = 2000


def _current_text(session: Session, item: Item) -> ItemVersion:
    return session.execute(select(ItemVersion).where(
        ItemVersion.item_id == item.id, ItemVersion.version == item.version)).scalar_one()


def submit(session: Session, item: Item, principal: Principal) -> tuple[int, list[Hit]]:
    """Draft → in_review. 422 safety_blocked if the text hits a blocking term (it could never
    be approved); warn hits are returned for the reviewers. Returns (list version, hits)."""
    if item.status != "draft":
        raise conflict(Message("review.not_draft", terms=("status",), status=item.status),
                       code="not_draft", status=item.status)
    list_version, hits = safety.scan_version(session, _current_text(session, item))
    blocked = safety.blocking(hits)
    if blocked:
        raise safety.blocked_error(list_version, blocked)
    item.status = "in_review"
    item.updated_at = utcnow()
    return list_version, hits


def approvals(session: Session, item: Item) -> list[Review]:
    """The approvals that count for the current round of the current version, by stage."""
    last_reject = session.execute(select(Review.created_at).where(
        Review.item_id == item.id, Review.decision == "reject"
    ).order_by(Review.created_at.desc()).limit(1)).scalar_one_or_none()
    query = select(Review).where(Review.item_id == item.id, Review.version == item.version,
                                 Review.decision == "approve")
    if last_reject is not None:
        query = query.where(Review.created_at > last_reject)
    return list(session.execute(query.order_by(Review.stage)).scalars())


def authors(session: Session, item: Item) -> set[str]:
    """Whoever created the item or wrote any of its versions."""
    found = set(session.execute(select(ItemVersion.created_by).where(
        ItemVersion.item_id == item.id, ItemVersion.created_by.is_not(None))).scalars())
    if item.created_by:
        found.add(item.created_by)
    return found


def _text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name) or ""
    if not isinstance(value, str) or len(value) > MAX_COMMENT:
        raise invalid(name, f"{name} 必须是{MAX_COMMENT}字以内的文本 "
                            f"({name}: a string up to {MAX_COMMENT} characters)")
    return value.strip()


def decide(session: Session, item: Item, principal: Principal, body: dict[str, Any]) -> Review:
    decision = body.get("decision")
    if decision not in ("approve", "reject"):
        raise invalid("decision", Message("review.decision"))
    comment = _text_field(body, "comment")
    override_reason = _text_field(body, "override_reason")
    if decision == "reject" and not comment:
        raise invalid("comment", Message("review.reject_needs_comment"))
    version = body.get("version", item.version)
    if not isinstance(version, int) or isinstance(version, bool):
        raise invalid("version", Message("review.version_integer"))
    if item.status != "in_review":
        raise conflict(Message("review.not_in_review", sep="", terms=("status",),
                               status=item.status),
                       code="not_in_review", status=item.status)
    if version != item.version:
        raise conflict(Message("review.stale_version"),
                       code="stale_version", current_version=item.version)
    done = approvals(session, item)
    stage = len(done) + 1
    if principal.review_stage != stage:
        raise conflict(Message("review.wrong_stage", stage_name=STAGE_NAMES[stage], stage=stage,
                               own_stage=principal.review_stage),
                       code="wrong_stage", stage=stage)
    if principal.user_id in authors(session, item):
        raise conflict(Message("review.self_review"),
                       code="self_review")
    if any(r.reviewer_id == principal.user_id for r in done):
        raise conflict(Message("review.duplicate_reviewer"),
                       code="duplicate_reviewer")
    if decision == "approve":
        _check_safety(session, item, stage, override_reason)
        if stage == STAGES[-1]:
            _check_independence(session, item, [r.reviewer_id for r in done]
                                + [principal.user_id])
    review = Review(id=new_id("rev"), item_id=item.id, version=item.version, stage=stage,
                    reviewer_id=principal.user_id, decision=decision, comment=comment,
                    override_reason=override_reason or None)
    session.add(review)
    now = utcnow()
    if decision == "reject":
        item.status = "draft"
    elif stage == STAGES[-1]:
        item.status = "approved"
        item.approved_version = item.version
        item.approved_at = now
    item.updated_at = now
    session.flush()
    return review


def _check_independence(session: Session, item: Item, reviewers: list[str]) -> None:
    if independence.shared_controller(session, authors(session, item), reviewers) is not None:
        raise conflict(Message("review.not_independent"), code="review_not_independent")


def _check_safety(session: Session, item: Item, stage: int, override_reason: str) -> None:
    """Blocking hits stop every approval; warn hits need the stage-3 reviewer's reason."""
    list_version, hits = safety.scan_version(session, _current_text(session, item))
    blocked = safety.blocking(hits)
    if blocked:
        raise safety.blocked_error(list_version, blocked)
    warned = safety.warnings(hits)
    if warned and stage == STAGES[-1] and not override_reason:
        raise ApiError(422, Message("review.override_required"),
                       code="safety_override_required",
                       details={"list_version": list_version,
                                "hits": [h.to_json() for h in warned]})


def require_approved(item: Item, session: Session | None = None) -> None:
    """409 unless the item's current version passed all three stages (checked against the
    review rows too when a session is given)."""
    if item.status == "withdrawn":
        raise ApiError(409, Message("push.item_withdrawn"), code="item_withdrawn")
    if item.status != "approved" or item.approved_version != item.version:
        raise ApiError(409, Message("push.not_approved"),
                       code="not_approved", details={"status": item.status})
    if session is not None:
        stages = {r.stage: r.reviewer_id for r in approvals(session, item)}
        if set(stages) != set(STAGES) or len(set(stages.values())) != len(STAGES):
            raise ApiError(409, Message("push.not_approved"),
                           code="not_approved", details={"status": item.status})


def review_json(session: Session, item: Item, version: ItemVersion,
                reviews: list[Review]) -> dict[str, Any]:
    """The ``review`` part of an item: next stage, the full trail, the current safety screen."""
    names = dict(session.execute(select(User.id, User.name).where(
        User.id.in_({r.reviewer_id for r in reviews}))).all()) if reviews else {}
    stage = None
    if item.status == "in_review":
        stage = len(approvals(session, item)) + 1
    data: dict[str, Any] = {
        "stage": stage,
        "stage_name": STAGE_NAMES.get(stage) if stage else None,
        "trail": [{"stage": r.stage, "stage_name": STAGE_NAMES[r.stage],
                   "reviewer": r.reviewer_id, "reviewer_name": names.get(r.reviewer_id),
                   "decision": r.decision, "comment": r.comment,
                   "override_reason": r.override_reason, "version": r.version,
                   "at": rfc3339(r.created_at)} for r in reviews],
        "safety": None,
    }
    if item.status in ("draft", "in_review"):
        list_version, hits = safety.scan_version(session, version)
        data["safety"] = safety.summary_json(list_version, hits)
    return data
