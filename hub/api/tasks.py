"""/api/v1/tasks: manual actions owed by an org (e.g. a deletion a platform cannot do by API)."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select

from ..audit import record
from ..auth import current
from ..errors import conflict, invalid, not_found
from ..messages import Message
from ..models import Delivery, Org, Task, utcnow
from ..permissions import require
from ..validation import json_body, limit_arg, rfc3339
from . import api
from .common import cursor_arg, page, rt, scope_arg


def _json(task: Task, org_slug: str) -> dict:
    return {"id": task.id, "kind": task.kind, "org": org_slug, "account": task.account_id,
            "item": task.item_id, "delivery": task.delivery_id, "state": task.state,
            "title": task.title, "detail": task.detail, "deadline": rfc3339(task.deadline),
            "overdue": bool(task.state == "open" and task.deadline and task.deadline < utcnow()),
            "note": task.note, "created_at": rfc3339(task.created_at),
            "done_at": rfc3339(task.done_at), "done_by": task.done_by}


@api.get("/tasks")
def list_tasks():
    """Manual tasks, by owner org (subtree) and state."""
    principal = current()
    require(principal, "task.read")
    state = request.args.get("state") or None
    if state and state not in ("open", "done"):
        raise invalid("state", Message("tasks.state"))
    limit = limit_arg(default=100, maximum=1000)
    after = cursor_arg()
    with rt().db.session() as session:
        query = select(Task, Org.slug).join(Org, Org.id == Task.org_id)
        path = scope_arg(session, principal, "task.read")
        if path is not None:
            query = query.where(Org.path.startswith(path, autoescape=True))
        if state:
            query = query.where(Task.state == state)
        if after:
            query = query.where(Task.id > after)
        rows = session.execute(query.order_by(Task.id).limit(limit + 1)).all()
        rows, next_cursor = page(rows, limit, lambda r: r[0].id)
        items = [_json(t, slug) for t, slug in rows]
    return jsonify({"items": items, "next_cursor": next_cursor})


STILL_LIVE = ("manual", "withdraw_queued", "withdraw_retry", "withdrawing")


@api.post("/tasks/<task_id>/done")
def task_done(task_id: str):
    """Mark a manual task done; a manual withdrawal then counts as withdrawn."""
    principal = current()
    body = json_body()
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 2000:
        raise invalid("note", Message("tasks.note"))
    with rt().db.session() as session:
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
        data = _json(task, org.slug)
    return jsonify(data)

