"""Who may do what: actions mapped to roles, always inside the caller's org subtree."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ApiError
from ..messages import Message
from .auth import Principal

ACTIONS: dict[str, tuple[str, ...]] = {
    "org.read": ("admin", "editor", "reviewer", "operator", "auditor"),
    "org.manage": ("admin",),
    "account.read": ("admin", "editor", "reviewer", "operator", "auditor"),
    "account.manage": ("admin",),
    "account.authorize": ("admin", "operator"),
    "asset.create": ("admin", "editor", "operator"),
    "item.read": ("admin", "editor", "reviewer", "operator", "auditor"),
    "item.write": ("admin", "editor", "operator"),
    "item.submit": ("admin", "editor", "operator"),
    "item.review": ("reviewer",),
    "item.push": ("admin", "editor", "operator"),
    "item.withdraw": ("admin", "reviewer", "operator"),
    "library.read": ("admin", "editor", "reviewer", "operator", "auditor"),
    "library.pull": ("admin", "editor", "operator"),
    "matrix.read": ("admin", "editor", "operator", "auditor"),
    "matrix.manage": ("admin",),
    "task.read": ("admin", "editor", "operator", "auditor", "reviewer"),
    "task.done": ("admin", "operator"),
    "user.read": ("admin", "auditor"),
    "user.manage": ("admin",),
    "audit.read": ("admin", "auditor"),
    "safety.read": ("admin", "editor", "reviewer", "auditor"),
    "safety.manage": ("admin",),
    "safety.rescan": ("admin", "auditor"),
    # Interaction (回应): the inbox, triage, replies and their review.
    "inbox.read": ("admin", "editor", "reviewer", "operator", "auditor"),
    "inbox.triage": ("admin", "editor", "operator"),
    "inbox.manage": ("admin",),
    "reply.write": ("admin", "editor", "operator"),
    "reply.review": ("admin", "reviewer"),
}


def may(principal: Principal, action: str) -> bool:
    return principal.has(*ACTIONS[action])


def require(principal: Principal, action: str, *, org_path: str | None = None) -> None:
    """403 unless the caller holds a role for ``action`` and ``org_path`` is in their subtree."""
    if not may(principal, action):
        raise ApiError(403, Message("access.role"),
                       details={"action": action})
    if org_path is not None and not principal.covers_path(org_path):
        raise ApiError(403, Message("access.scope"),
                       details={"action": action})


def may_grant_review(principal: Principal, user_org_path: str | None) -> bool:
    """Reviewer roles and review stages come from above: a province-wide admin, or an admin
    of an org strictly above the user's org. An admin never grants them in their own org (nor
    to themselves): else one county admin could name three reviewers and pass 三审 alone."""
    if not principal.has("admin"):
        return False
    if principal.province_wide:
        return True
    assert principal.org_path is not None
    return (user_org_path is not None and user_org_path != principal.org_path
            and user_org_path.startswith(principal.org_path))


def require_review_grant(principal: Principal, user_org_path: str | None) -> None:
    if not may_grant_review(principal, user_org_path):
        raise ApiError(403, "审核人角色和审级须由上级机构的管理员授予，本机构管理员不能授予 "
                            "(reviewer roles and review stages are granted by an admin of an org "
                            "above the user's, never within the same org)",
                       code="review_grant_forbidden", details={"action": "user.grant_review"})


@dataclass(frozen=True)
class WithdrawRight:
    """How far a caller's withdrawal of one item reaches."""

    everywhere: bool  # every delivery of the item and of every copy pulled from it
    org_path: str | None  # when not everywhere: only deliveries on accounts under this path


def withdraw_right(principal: Principal, *, origin_org_path: str) -> WithdrawRight:
    """Province-wide withdrawal: a province admin, or a stage-3 reviewer (终审) whose scope covers
    the item's origin org (the org of the root of its pull chain). An admin below the province
    or an operator withdraws only the deliveries on their own subtree's accounts. Else 403."""
    require(principal, "item.withdraw")
    if principal.has("admin") and principal.province_wide:
        return WithdrawRight(everywhere=True, org_path=None)
    if (principal.has("reviewer") and principal.review_stage == 3
            and principal.covers_path(origin_org_path)):
        return WithdrawRight(everywhere=True, org_path=None)
    if principal.has("admin", "operator") and principal.org_path is not None:
        # Their own accounts only, whoever owns the item (a province story on county accounts).
        return WithdrawRight(everywhere=False, org_path=principal.org_path)
    raise ApiError(403, "只有省级管理员或来源机构的终审可全网撤稿；县级只能撤本机构的发布 "
                        "(only a province admin or the origin's final reviewer withdraws "
                        "everywhere; others only their own org's deliveries)",
                   details={"action": "item.withdraw"})
