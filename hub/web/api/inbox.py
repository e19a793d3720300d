"""/api/v1/inbox, /conversations, /replies, /reply-templates, /interaction-settings: the
interaction inbox (回应). The rules are hub/services/interaction/'s; these routes parse and
answer."""

from __future__ import annotations

from flask import jsonify, request

from hub.errors import invalid
from hub.messages import Message
from hub.security.auth import current
from hub.security.permissions import require
from hub.services.interaction import inbox, indicator, replies, templates
from hub.validation import json_body, limit_arg

from . import api
from .common import in_session, listing, rt

FILTERS = ("org", "state", "account", "platform", "item", "delivery", "assignee", "kind",
           "older_than_h", "newer_than_h", "overdue", "flagged")


@api.get("/inbox")
def list_inbox():
    """Conversations of the caller's subtree (or ?org=), newest activity first, filtered."""
    require(current(), "inbox.read")
    args = {name: request.args.get(name) for name in FILTERS}
    return listing(inbox.list_page, args=args, limit=limit_arg(default=50, maximum=500))


@api.get("/inbox/summary")
def inbox_summary():
    """Counts by state, open and overdue conversations of the subtree."""
    return jsonify(in_session(inbox.summary, org=request.args.get("org")))


@api.get("/inbox/indicator")
def inbox_indicator():
    """Per account: time to first reply, share answered in time, messages left 3 months."""
    raw = request.args.get("days") or str(indicator.WINDOW_DAYS)
    if not raw.isdigit() or not 1 <= int(raw) <= indicator.MAX_WINDOW_DAYS:
        raise invalid("days", Message("inbox.days", max=indicator.MAX_WINDOW_DAYS))
    return jsonify(in_session(indicator.per_account, org=request.args.get("org"),
                              days=int(raw)))


@api.get("/conversations/<conversation_id>")
def get_conversation(conversation_id: str):
    """One conversation: its messages, replies and the post it is under."""
    return jsonify(in_session(inbox.detail, conversation_id))


@api.post("/conversations/<conversation_id>/assign")
def assign_conversation(conversation_id: str):
    """Give the conversation to a person (``{user}``; null takes it back)."""
    return jsonify(in_session(inbox.assign, conversation_id, json_body()))


@api.post("/conversations/<conversation_id>/state")
def conversation_state(conversation_id: str):
    """Close it, ignore it as spam, or open it again (``{state}``)."""
    return jsonify(in_session(inbox.set_state, conversation_id, json_body()))


@api.post("/conversations/<conversation_id>/moderate")
def moderate_conversation(conversation_id: str):
    """精选 on/off or hide the comment on the platform (``{action}``), queued."""
    body = json_body()
    action = body.get("action")
    if action not in replies.MODERATIONS:
        raise invalid("action", Message("inbox.moderation"), allowed=list(replies.MODERATIONS))
    result = in_session(replies.moderate, conversation_id, action, redis=rt().redis)
    return jsonify(result), 202


@api.post("/conversations/<conversation_id>/replies")
def create_reply(conversation_id: str):
    """Write a reply: screened, then to a reviewer or queued for sending."""
    reply = in_session(replies.create, conversation_id, json_body(), redis=rt().redis)
    return jsonify(reply), 201


@api.get("/replies")
def list_replies():
    """Replies of the subtree by state (e.g. ?state=pending_approval)."""
    return listing(replies.list_page, state=request.args.get("state") or None,
                   org=request.args.get("org"), limit=limit_arg(default=50, maximum=500))


@api.post("/replies/<reply_id>/approve")
def approve_reply(reply_id: str):
    """Approve a reply (not one's own): it is queued for sending."""
    return jsonify(in_session(replies.approve, reply_id, json_body(), redis=rt().redis))


@api.post("/replies/<reply_id>/reject")
def reject_reply(reply_id: str):
    """Send a reply back with a note (``{note}``)."""
    return jsonify(in_session(replies.reject, reply_id, json_body()))


@api.get("/reply-templates")
def list_reply_templates():
    """常用回复 an org may use: its own and its ancestors' (?org=)."""
    return jsonify({"items": in_session(templates.list_templates, org=request.args.get("org"))})


@api.post("/reply-templates")
def create_reply_template():
    """A new 常用回复 for an org (``{org?, title, text}``)."""
    return jsonify(in_session(templates.create_template, json_body())), 201


@api.delete("/reply-templates/<template_id>")
def delete_reply_template(template_id: str):
    """Remove a 常用回复."""
    in_session(templates.delete_template, template_id)
    return "", 204


@api.get("/interaction-settings/<org_slug>")
def get_interaction_settings(org_slug: str):
    """The rules in force for an org (its own or inherited)."""
    return jsonify(in_session(templates.get_settings, org_slug))


@api.put("/interaction-settings/<org_slug>")
def put_interaction_settings(org_slug: str):
    """Set an org's rules: ``{replies_need_approval, deadline_working_days}``."""
    return jsonify(in_session(templates.put_settings, org_slug, json_body()))

