"""The hub's data model (SQLAlchemy 2 typed ORM). PostgreSQL in production, SQLite embedded."""

from .account import (
    ACCOUNT_STATUSES,
    AUTH_MODES,
    AUTH_STATES,
    AUTHORIZATION_STATUSES,
    Account,
    Authorization,
    PlatformSecret,
)
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
from .reach import FIGURES, AccountDay, ExternalPost, PostDay
from .reach_rollup import PeriodAccount, PeriodHot, PeriodItem, RollupPeriod

__all__ = [
    "ACCOUNT_STATUSES", "FIGURES", "AUTHORIZATION_STATUSES", "AUTH_MODES", "AUTH_STATES", "DELIVERY_STATES", "ITEM_KINDS", "ITEM_STATUSES", "LIVE", "ORG_KINDS",
    "PUBLISH_DONE", "PUBLISH_OPEN", "ROLES", "WITHDRAW_DONE", "WITHDRAW_OPEN",
    "Account", "AccountDay", "ApiToken", "Authorization", "Asset", "AuditEntry", "AuditHead", "Base", "Delivery", "DeliveryAttempt",
    "Dispatch", "ExternalPost", "Item", "ItemVersion", "Matrix", "MatrixAccount", "Org", "PlatformSecret", "PeriodAccount", "PeriodHot", "PeriodItem", "PostDay", "Review", "RollupPeriod",
    "SafetyList",
    "Task", "User", "Withdrawal", "utcnow",
]
