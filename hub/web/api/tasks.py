"""/api/v1/tasks: manual actions owed by an org (e.g. a deletion a platform cannot do by API).
The rules are hub/services/tasks.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify, request

from hub.security.auth import current
from hub.services import tasks as task_service
from hub.validation import json_body, limit_arg

from . import api
from .common import in_session, listing


@api.get("/tasks")
def list_tasks():
    """Manual tasks, by owner org (subtree) and state."""
    task_service.require_reader(current())  # before the query is read, as always
    state = request.args.get("state") or None
    task_service.check_state(state)
    return listing(task_service.list_page, state=state, org=request.args.get("org"),
                   limit=limit_arg(default=100, maximum=1000))


@api.post("/tasks/<task_id>/done")
def task_done(task_id: str):
    """Mark a manual task done; a manual withdrawal then counts as withdrawn."""
    return jsonify(in_session(task_service.mark_done, task_id, json_body().get("note")))
