"""/api/v1/tasks: manual actions owed by an org (e.g. a deletion a platform cannot do by API).
The rules are hub/services/tasks.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify, request

from ..auth import current
from ..services import tasks as task_service
from ..validation import json_body, limit_arg
from . import api
from .common import rt


@api.get("/tasks")
def list_tasks():
    """Manual tasks, by owner org (subtree) and state."""
    principal = current()
    task_service.require_reader(principal)  # before the query is read, as always
    state = request.args.get("state") or None
    task_service.check_state(state)
    limit = limit_arg(default=100, maximum=1000)
    with rt().db.session() as session:
        items, next_cursor = task_service.list_page(
            session, principal, state=state, org=request.args.get("org"), limit=limit,
            cursor=request.args.get("cursor"))
    return jsonify({"items": items, "next_cursor": next_cursor})


@api.post("/tasks/<task_id>/done")
def task_done(task_id: str):
    """Mark a manual task done; a manual withdrawal then counts as withdrawn."""
    principal = current()
    body = json_body()
    with rt().db.session() as session:
        data = task_service.mark_done(session, principal, task_id, body.get("note"))
    return jsonify(data)
