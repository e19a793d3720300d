"""How far a caller's withdrawal reaches (the rule itself lives in hub.security.permissions)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import Item, Org
from ..security.auth import Principal
from ..security.permissions import withdraw_right


def withdrawal_scope(session: Session, principal: Principal, item: Item) -> str | None:
    """None = everywhere; a path = only accounts in that subtree; 403 when not allowed at all."""
    origin = session.get(Item, item.root_id) if item.root_id else item
    origin_org = session.get(Org, (origin or item).org_id)
    right = withdraw_right(principal, origin_org_path=origin_org.path)
    return None if right.everywhere else right.org_path
