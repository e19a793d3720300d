"""Who may do what: actions mapped to roles, always inside the caller's org subtree."""

from __future__ import annotations

from .auth import Principal
from .errors import ApiError

ACTIONS: dict[str, tuple[str, ...]] = {
    "org.read": ("admin", "editor", "reviewer", "operator", "auditor"),
    "org.manage": ("admin",),
    "account.read": ("admin", "editor", "reviewer", "operator", "auditor"),
    "account.manage": ("admin",),
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
    "user.manage": ("admin",),
    "audit.read": ("admin", "auditor"),
    "safety.read": ("admin", "editor", "reviewer", "auditor"),
    "safety.manage": ("admin",),
}


def may(principal: Principal, action: str) -> bool:
    return principal.has(*ACTIONS[action])


def require(principal: Principal, action: str, *, org_path: str | None = None) -> None:
    """403 unless the caller holds a role for ``action`` and ``org_path`` is in their subtree."""
    if not may(principal, action):
        raise ApiError(403, "当前角色无权执行此操作 (your role does not allow this)",
                       details={"action": action})
    if org_path is not None and not principal.covers_path(org_path):
        raise ApiError(403, "超出本机构管辖范围 (outside your organisation's scope)",
                       details={"action": action})
