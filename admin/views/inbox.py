"""The inbox (回应): conversations of the user's subtree with keyboard triage (static/inbox.js),
a conversation beside its post with 常用回复, and the review of replies. The same service calls
as the API's /inbox, /conversations and /replies (hub/services/interaction/)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from hub.errors import ApiError
from hub.security.permissions import may
from hub.services.interaction import inbox as inbox_service
from hub.services.interaction import replies as reply_service
from hub.services.interaction import templates as template_service
from hub.services.interaction.replies import rules_of

from .. import i18n
from ..blueprint import admin_blueprint
from ..errors import refused
from ..web import runtime

PAGE = 100
TABS = ("open", "new", "assigned", "replied", "closed", "ignored")
FILTERS = ("platform", "account", "item", "kind", "overdue", "flagged")


def _args() -> dict[str, Any]:
    state = request.args.get("state", "open")
    args: dict[str, Any] = {"state": state if state in TABS else "open"}
    for name in FILTERS:
        args[name] = request.args.get(name) or None
    args["assignee"] = g.principal.user_id if request.args.get("mine") else None
    args["mine"] = bool(request.args.get("mine"))
    return args


def _rows(args: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None, dict[str, Any]]:
    with runtime().db.session() as db:
        rows, next_cursor = inbox_service.list_page(db, g.principal, args=args, limit=PAGE,
                                                    cursor=request.args.get("cursor"))
        counts = inbox_service.summary(db, g.principal, org=None)
    return rows, next_cursor, counts


@admin_blueprint.get("/inbox")
def inbox() -> str:
    args = _args()
    rows, next_cursor, counts = _rows(args)
    return render_template("admin/inbox.html", rows=rows, args=args, tabs=TABS,
                           next_cursor=next_cursor, counts=counts)


@admin_blueprint.get("/inbox/rows")
def inbox_rows() -> str:
    """The list's rows alone: what the page polls for new arrivals."""
    args = _args()
    rows, _next, counts = _rows(args)
    return render_template("admin/_inbox_rows.html", rows=rows, counts=counts)


@admin_blueprint.get("/conversations/<conversation_id>")
def conversation(conversation_id: str) -> str:
    with runtime().db.session() as db:
        found = inbox_service.detail(db, g.principal, conversation_id)
        templates = template_service.list_templates(db, g.principal, org=found["org"])
    rules = rules_of(found["platform"])
    can_reply = (rules.can_reply_comment if found["kind"] == "comment"
                 else rules.can_send_message)
    return render_template("admin/conversation.html", c=found, templates=templates,
                           rules=rules, can_reply=can_reply,
                           can_review=may(g.principal, "reply.review"))


def _act(conversation_id: str, call: Any, *args: Any, done: str, **kwargs: Any) -> Response:
    try:
        with runtime().db.session() as db:
            call(db, g.principal, *args, **kwargs)
    except ApiError as err:
        if err.status in (401, 404):
            raise
        flash(refused(err), "error")
    else:
        flash(i18n.t(done), "ok")
    back = request.form.get("back")
    if back == "inbox":
        return redirect(url_for("admin.inbox", **_kept()), 303)  # type: ignore[return-value]
    return redirect(url_for("admin.conversation", conversation_id=conversation_id),
                    303)  # type: ignore[return-value]


def _kept() -> dict[str, str]:
    """The inbox filters a triage form carries back (``keep_<name>`` fields)."""
    return {name.removeprefix("keep_"): value for name, value in request.form.items()
            if name.startswith("keep_") and value}


@admin_blueprint.post("/conversations/<conversation_id>/assign")
def conversation_assign(conversation_id: str) -> Response:
    user = request.form.get("user") or None
    if user == "me":
        user = g.principal.user_id
    return _act(conversation_id, inbox_service.assign, conversation_id, {"user": user},
                done="done.assigned")


@admin_blueprint.post("/conversations/<conversation_id>/state")
def conversation_state(conversation_id: str) -> Response:
    return _act(conversation_id, inbox_service.set_state, conversation_id,
                {"state": request.form.get("state")}, done="done.conversation_state")


@admin_blueprint.post("/conversations/<conversation_id>/moderate")
def conversation_moderate(conversation_id: str) -> Response:
    action = request.form.get("action")
    if action not in reply_service.MODERATIONS:
        abort(400)
    return _act(conversation_id, reply_service.moderate, conversation_id, action,
                done="done.moderation", redis=runtime().redis)


@admin_blueprint.post("/conversations/<conversation_id>/reply")
def conversation_reply(conversation_id: str) -> Response:
    return _act(conversation_id, reply_service.create, conversation_id,
                {"text": request.form.get("text") or ""}, done="done.reply",
                redis=runtime().redis)


@admin_blueprint.post("/replies/<reply_id>/approve")
def reply_approve(reply_id: str) -> Response:
    conversation_id = request.form.get("conversation") or ""
    return _act(conversation_id, reply_service.approve, reply_id,
                {"note": request.form.get("note") or None}, done="done.reply_approved",
                redis=runtime().redis)


@admin_blueprint.post("/replies/<reply_id>/reject")
def reply_reject(reply_id: str) -> Response:
    conversation_id = request.form.get("conversation") or ""
    return _act(conversation_id, reply_service.reject, reply_id,
                {"note": request.form.get("note") or ""}, done="done.reply_rejected")


@admin_blueprint.post("/reply-templates")
def reply_template_create() -> Response:
    try:
        with runtime().db.session() as db:
            template_service.create_template(db, g.principal, {
                "org": request.form.get("org") or None, "title": request.form.get("title"),
                "text": request.form.get("text")})
    except ApiError as err:
        if err.status in (401, 404):
            raise
        flash(refused(err), "error")
    else:
        flash(i18n.t("done.template"), "ok")
    return redirect(url_for("admin.reply_templates"), 303)  # type: ignore[return-value]


@admin_blueprint.get("/reply-templates")
def reply_templates() -> str:
    with runtime().db.session() as db:
        rows = template_service.list_templates(db, g.principal, org=None)
    return render_template("admin/reply_templates.html", rows=rows)


@admin_blueprint.post("/reply-templates/<template_id>/delete")
def reply_template_delete(template_id: str) -> Response:
    try:
        with runtime().db.session() as db:
            template_service.delete_template(db, g.principal, template_id)
    except ApiError as err:
        if err.status in (401, 404):
            raise
        flash(refused(err), "error")
    else:
        flash(i18n.t("done.template_deleted"), "ok")
    return redirect(url_for("admin.reply_templates"), 303)  # type: ignore[return-value]


@admin_blueprint.get("/replies/pending")
def replies_pending() -> str:
    """Replies waiting for a reviewer, in the user's subtree."""
    with runtime().db.session() as db:
        rows, next_cursor = reply_service.list_page(db, g.principal, state="pending_approval",
                                                    org=None, limit=PAGE,
                                                    cursor=request.args.get("cursor"))
    return render_template("admin/replies_pending.html", rows=rows, next_cursor=next_cursor)
