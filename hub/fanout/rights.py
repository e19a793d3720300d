"""Who may withdraw, and how far (issue: withdrawal rights).

- An admin withdraws everywhere an item they cover (their org is the item's org or above it);
  for anyone else's item they withdraw only the copies on accounts in their own subtree.
- The stage-3 reviewer (chief editor) of the item's own org withdraws it everywhere.
- An operator withdraws only their own org subtree's deliveries.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..auth import Principal
from ..errors import ApiError
from ..models import Item, Org


def withdrawal_scope(session: Session, principal: Principal, item: Item) -> str | None:
    """None = everywhere; a path = only accounts in that subtree; 403 when not allowed at all."""
    item_org = session.get(Org, item.org_id)
    if principal.has("admin"):
        return None if principal.covers_path(item_org.path) else principal.org_path
    if principal.has("reviewer") and principal.review_stage == 3 \
            and principal.org_id == item.org_id:
        return None
    if principal.has("operator") and principal.org_path is not None:
        return principal.org_path
    raise ApiError(403, "无权撤回该稿件：全网撤稿限省级管理员或本单位终审 (only the province admin or "
                        "the item's chief editor may withdraw everywhere)",
                   details={"action": "item.withdraw"})
