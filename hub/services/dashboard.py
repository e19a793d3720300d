"""The dashboard's counts: items by status, live and in-progress deliveries, accounts by
platform and status, the inspection summary, open tasks and recent pushes and withdrawals, each
shown only to a role that may read it and counted within the caller's org subtree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..fanout.progress import failed_counts
from ..models import (
    ITEM_STATUSES,
    LIVE,
    PUBLISH_OPEN,
    WITHDRAW_OPEN,
    Account,
    Delivery,
    Dispatch,
    Item,
    ItemVersion,
    Org,
    Task,
    Withdrawal,
    utcnow,
)
from ..security.auth import Principal
from ..security.permissions import may, require
from . import inspection
from .interaction.indicator import open_counts
from .item_overview import finished
from .scoping import in_scope

IN_PROGRESS = PUBLISH_OPEN + WITHDRAW_OPEN


@dataclass
class Dashboard:
    items: dict[str, int] = field(default_factory=dict)
    live: int = 0
    in_progress: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    open_tasks: int | None = None
    inbox: dict[str, int] | None = None  # conversations owed an answer, and overdue
    inspection: dict[str, Any] | None = None
    accounts: dict[str, dict[str, int]] = field(default_factory=dict)
    recent_dispatches: list[dict[str, Any]] = field(default_factory=list)
    recent_withdrawals: list[dict[str, Any]] = field(default_factory=list)


def build(db: Session, principal: Principal) -> Dashboard:
    require(principal, "item.read")
    board = Dashboard()
    counts = db.execute(in_scope(select(Item.status, func.count()).join(
        Org, Org.id == Item.org_id), principal).group_by(Item.status)).all()
    board.items = {status: 0 for status in ITEM_STATUSES} | dict(counts)
    if may(principal, "account.read"):
        deliveries = select(Delivery.state, func.count()).where(
            Delivery.state.in_(LIVE + IN_PROGRESS + ("failed",))).group_by(Delivery.state)
        if principal.org_path is not None:  # deliveries on the accounts of the caller's subtree
            deliveries = in_scope(deliveries.join(Account, Account.id == Delivery.account_id)
                                  .join(Org, Org.id == Account.org_id), principal)
        states = dict(db.execute(deliveries).all())
        board.live = sum(states.get(s, 0) for s in LIVE)
        board.in_progress = {s: states[s] for s in IN_PROGRESS if states.get(s)}
        board.failed = states.get("failed", 0)
        accounts = db.execute(in_scope(
            select(Account.platform, Account.status, func.count())
            .join(Org, Org.id == Account.org_id), principal)
            .group_by(Account.platform, Account.status)).all()
        for platform, status, n in accounts:
            board.accounts.setdefault(platform, {})[status] = n
        board.inspection = inspection.summary(db, org_path=principal.org_path, now=utcnow())
    if may(principal, "task.read"):
        board.open_tasks = db.execute(in_scope(
            select(func.count()).select_from(Task).join(Org, Org.id == Task.org_id), principal)
            .where(Task.state == "open")).scalar_one()
    if may(principal, "inbox.read"):
        board.inbox = open_counts(db, principal.org_path)
    board.recent_dispatches = _recent(db, principal, Dispatch)
    board.recent_withdrawals = _recent(db, principal, Withdrawal)
    return board


def _recent(db: Session, principal: Principal, model: Any, limit: int = 8) -> list[dict[str, Any]]:
    query = in_scope(
        select(model.id, model.item_id, model.total, model.created_at, ItemVersion.title)
        .join(Item, Item.id == model.item_id).join(Org, Org.id == Item.org_id)
        .join(ItemVersion, (ItemVersion.item_id == Item.id)
              & (ItemVersion.version == Item.version)), principal)
    rows = db.execute(query.order_by(model.created_at.desc(), model.id.desc()).limit(limit)).all()
    done = finished(db, model, [r[0] for r in rows])
    failed = failed_counts(db, _run_column(model), [r[0] for r in rows])
    return [{"id": r[0], "item": r[1], "total": r[2], "created_at": r[3], "title": r[4],
             "done": r[0] in done, "failed": failed.get(r[0], 0)} for r in rows]


def _run_column(model: Any) -> Any:
    return Delivery.dispatch_id if model is Dispatch else Delivery.withdrawal_id
