"""Manual tasks owed by an org (e.g. a deletion a platform cannot do by API), each call with
its permission check, org scope and audit entry. The REST API and the admin UI call these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import conflict, invalid, not_found
from ..messages import Message
from ..models import Delivery, Org, Task, utcnow
from ..security.audit import record
from ..security.auth import Principal
from ..security.permissions import require
from ..validation import rfc3339
from .paging import decode_cursor, keyset_page
from .scoping import scope_path

STATES = ("open", "done")
STILL_LIVE = ("manual", "withdraw_queued", "withdraw_retry", "withdrawing")


def to_json(task: Task, org_slug: str) -> dict[str, Any]:
    return {"id": task.id, "kind": task.kind, "org": org_slug, "account": task.account_id,
            "item": task.item_id, "delivery": task.delivery_id, "state": task.state,
            "title": task.title, "detail": task.detail, "deadline": rfc3339(task.deadline),
            "overdue": bool(task.state == "open" and task.deadline and task.deadline < utcnow()),
            "note": task.note, "created_at": rfc3339(task.created_at),
            "done_at": rfc3339(task.done_at), "done_by": task.done_by}


def require_reader(principal: Principal) -> None:
    require(principal, "task.read")


def check_state(state: str | None) -> None:
    if state and state not in STATES:
        raise invalid("state", Message("tasks.state"))


def list_page(session: Session, principal: Principal, *, state: str | None, org: str | None,
              limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Manual tasks, by owner org (the caller's subtree, or ``org``'s) and state."""
    require_reader(principal)
    check_state(state)
    after = decode_cursor(cursor)
    query = select(Task, Org.slug).join(Org, Org.id == Task.org_id)
    path = scope_path(session, principal, "task.read", org)
    if path is not None:
        query = query.where(Org.path.startswith(path, autoescape=True))
    if state:
        query = query.where(Task.state == state)
    rows, next_cursor = keyset_page(session, query, Task.id, limit=limit, after=after)
    return [to_json(t, slug) for t, slug in rows], next_cursor


def check_note(note: Any) -> str:
    note = note or ""
    if not isinstance(note, str) or len(note) > 2000:
        raise invalid("note", Message("tasks.note"))
    return note


def mark_done(session: Session, principal: Principal, task_id: str, note: Any) -> dict[str, Any]:
    """Mark a manual task done; a manual withdrawal then counts as withdrawn."""
    note = check_note(note)
    task = session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise not_found("任务", task_id)
    org = session.get(Org, task.org_id)
    require(principal, "task.done", org_path=org.path)
    if task.state == "done":
        raise conflict(Message("tasks.done"), code="task_done")
    now = utcnow()
    task.state, task.note, task.done_at, task.done_by = "done", note, now, principal.user_id
    if task.delivery_id and task.kind == "manual_withdraw":
        delivery = session.get(Delivery, task.delivery_id)
        # Also while the hub is still retrying it (a task opened for a stuck withdrawal):
        # the person has removed the post, so the retries stop.
        if delivery is not None and delivery.state in STILL_LIVE:
            delivery.state, delivery.withdrawn_at, delivery.updated_at = "withdrawn", now, now
            delivery.lease_owner = delivery.lease_expires_at = delivery.next_attempt_at = None
            delivery.error = f"已人工删除 (removed by hand): {note}"[:1000]
    record(session, "task.done", target=task.id, item_id=task.item_id,
           details={"account": task.account_id})
    return to_json(task, org.slug)
