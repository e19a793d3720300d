"""三审 (three-stage review): submit, then stage 1 → 2 → 3 by distinct reviewers, never the author."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth import Principal
from ..errors import ApiError, conflict, invalid
from ..ids import new_id
from ..models import Item, Review, utcnow

STAGES = (1, 2, 3)
STAGE_NAMES = {1: "初审", 2: "复审", 3: "终审"}


def submit(session: Session, item: Item, principal: Principal) -> None:
    if item.status != "draft":
        raise conflict(f"只有草稿可以送审，当前状态为 {item.status} (only a draft can be submitted)",
                       code="not_draft", status=item.status)
    item.status = "in_review"
    item.updated_at = utcnow()


def approvals(session: Session, item: Item) -> list[Review]:
    return list(session.execute(select(Review).where(
        Review.item_id == item.id, Review.version == item.version, Review.decision == "approve"
    ).order_by(Review.stage)).scalars())


def decide(session: Session, item: Item, principal: Principal, body: dict[str, Any]) -> Review:
    decision = body.get("decision")
    if decision not in ("approve", "reject"):
        raise invalid("decision", "decision 只能是 approve 或 reject (decision must be approve or "
                                  "reject)")
    comment = body.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > 2000:
        raise invalid("comment", "comment 必须是2000字以内的文本 (comment: a string up to 2000)")
    if decision == "reject" and not comment.strip():
        raise invalid("comment", "退回必须写明理由 (a rejection needs a comment)")
    if item.status != "in_review":
        raise conflict(f"稿件不在审核中（当前 {item.status}）(item is not in review)",
                       code="not_in_review", status=item.status)
    version = body.get("version", item.version)
    if version != item.version:
        raise conflict("审核的版本已过期，请刷新后重审 (this version is stale; review the current one)",
                       code="stale_version", current_version=item.version)
    done = approvals(session, item)
    stage = len(done) + 1
    if principal.review_stage != stage:
        raise conflict(f"当前需要{STAGE_NAMES[stage]}（第{stage}审），你的审级是第"
                       f"{principal.review_stage}审 (this item needs stage {stage})",
                       code="wrong_stage", stage=stage)
    if item.created_by == principal.user_id:
        raise conflict("作者不能审核自己的稿件 (authors cannot review their own items)",
                       code="self_review")
    if any(r.reviewer_id == principal.user_id for r in done):
        raise conflict("同一审核人不能审核两次 (a reviewer may approve only one stage)",
                       code="duplicate_reviewer")
    review = Review(id=new_id("rev"), item_id=item.id, version=item.version, stage=stage,
                    reviewer_id=principal.user_id, decision=decision, comment=comment.strip())
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


def require_approved(item: Item) -> None:
    if item.status == "withdrawn":
        raise ApiError(409, "稿件已撤回，不能推送 (item was withdrawn)", code="item_withdrawn")
    if item.status != "approved" or item.approved_version != item.version:
        raise ApiError(409, "稿件未通过三审，不能推送 (item has not passed the three reviews)",
                       code="not_approved", details={"status": item.status})
