"""The hub's data model (SQLAlchemy 2 typed ORM). PostgreSQL in production, SQLite embedded."""

from .account import ACCOUNT_STATUSES, Account
from .audit import AuditEntry, SafetyList
from .audit_head import AuditHead
from .base import Base, utcnow
from .content import ITEM_KINDS, ITEM_STATUSES, Asset, Item, ItemVersion
from .fanout import (
    DELIVERY_STATES,
    LIVE,
    PUBLISH_DONE,
    PUBLISH_OPEN,
    WITHDRAW_DONE,
    WITHDRAW_OPEN,
    Delivery,
    DeliveryAttempt,
    Dispatch,
    Matrix,
    MatrixAccount,
    Task,
    Withdrawal,
)
from .org import ORG_KINDS, Org
from .people import ROLES, ApiToken, Review, User

__all__ = [
    "ACCOUNT_STATUSES", "DELIVERY_STATES", "ITEM_KINDS", "ITEM_STATUSES", "LIVE", "ORG_KINDS",
    "PUBLISH_DONE", "PUBLISH_OPEN", "ROLES", "WITHDRAW_DONE", "WITHDRAW_OPEN",
    "Account", "ApiToken", "Asset", "AuditEntry", "AuditHead", "Base", "Delivery", "DeliveryAttempt",
    "Dispatch", "Item", "ItemVersion", "Matrix", "MatrixAccount", "Org", "Review", "SafetyList",
    "Task", "User", "Withdrawal", "utcnow",
]
