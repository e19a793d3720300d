"""Issue 20 end to end, on PostgreSQL, Redis, the sandbox and a real worker (burst): sandbox
comments under pushed posts and WeChat users' messages reach the inbox (one per org subtree);
a reply is written, screened, approved and shows on the sandbox platform; a second reply to
the same WeChat comment is refused before any call; a message left unanswered past its
deadline turns the account's inspection verdict to failing."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug.serving import make_server

from hub.models import AuditEntry, Conversation, InteractionMessage, utcnow
from hub.services.interaction.replies import RATE_KEY
from sandbox.chatter import ABUSIVE_TERMS
from tests.fanout.support import ApiRig, error_of

from .conftest import chatter
from .test_intake import _due_again, _intake, _published

TOKEN = "Callback0Token"


@pytest.fixture
def live_hub(rig: ApiRig) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, rig.hub.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def book(sandbox) -> dict:
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/replies") as answer:
        return json.load(answer)


def inbox(rig: ApiRig, token: str, **query: str) -> list[dict]:
    path = "/api/v1/inbox?limit=500&" + "&".join(f"{k}={v}" for k, v in query.items())
    r = rig.hub.get(path, token=token)
    assert r.status_code == 200, r.json
    return r.json["items"]


def wait_for_messages(rig: ApiRig, account: str, at_least: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with rig.hub.runtime.db.session() as session:
            count = len(session.scalars(select(Conversation.id).where(
                Conversation.account_id == account, Conversation.kind == "message")).all())
        if count >= at_least:
            return
        time.sleep(0.3)
    raise AssertionError("no user messages reached the hub")


def test_inbox_replies_review_and_the_inspection_verdict(rig, live_hub):
    wechat = rig.account("c1-k1", "wechat", callback=(live_hub, TOKEN))
    weibo = rig.account("c1-k1", "weibo")
    rig.account("c2-k1", "weibo")
    r = rig.hub.put("/api/v1/interaction-settings/c1", {"replies_need_approval": True,
                                                        "deadline_working_days": 2})
    assert r.status_code == 200 and r.json["replies_need_approval"], r.json
    item = rig.item("c1-k1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    _published(rig, item)
    chatter(rig.sandbox, comments_per_day=3000, messages_per_day=3000, abusive_share=0.2,
            question_share=0.5, seed=20)
    time.sleep(1.0)  # the message pusher starts counting from its first look at the account
    rig.sandbox.advance_clock(900)
    _due_again(rig)
    _intake(rig)
    wait_for_messages(rig, wechat, 3)

    # One inbox per subtree: the county's editor sees its conversations, another city's none.
    editor = rig.token("c1-k1", "editor")
    seen = inbox(rig, editor)
    kinds = {(c["platform"], c["kind"]) for c in seen}
    assert {("wechat", "comment"), ("weibo", "comment"), ("wechat", "message")} <= kinds
    assert inbox(rig, rig.token("c2-k1", "editor")) == []
    assert inbox(rig, rig.token("c1", "editor"), platform="weibo", state="new")
    assert all(c["account"] == weibo for c in inbox(rig, editor, account=weibo))
    # (Messages keep arriving while the test runs: comments are the settled part.)
    comments = [c for c in seen if c["kind"] == "comment"]
    assert all(c["deadline"] and c["post_title"] for c in comments)
    r = rig.hub.get("/api/v1/inbox?state=bogus", token=editor)
    assert r.status_code == 422 and error_of(r)["details"]["field"] == "state"
    outsider = rig.hub.get(f"/api/v1/conversations/{seen[0]['id']}",
                           token=rig.token("c2-k1", "editor"))
    assert outsider.status_code == 403

    # A WeChat comment: assigned, answered from a template, screened, approved, sent.
    comment = next(c for c in seen if c["platform"] == "wechat" and c["kind"] == "comment"
                   and not c["flagged"])
    r = rig.hub.post("/api/v1/reply-templates", {"org": "c1", "title": "已转办",
                                                 "text": "感谢您的留言，已转相关部门办理。"},
                     token=rig.token("c1", "admin"))
    assert r.status_code == 201, r.json
    [template] = rig.hub.get("/api/v1/reply-templates?org=c1-k1", token=editor).json["items"]
    editor_id = _user_id(rig, "editor-c1-k1")
    r = rig.hub.post(f"/api/v1/conversations/{comment['id']}/assign", {"user": editor_id},
                     token=editor)
    assert r.status_code == 200 and r.json["state"] == "assigned", r.json
    blocked = rig.hub.post(f"/api/v1/conversations/{comment['id']}/replies",
                           {"text": f"{ABUSIVE_TERMS[0]}"}, token=editor)
    assert blocked.status_code == 422 and error_of(blocked)["code"] == "reply_blocked"
    r = rig.hub.post(f"/api/v1/conversations/{comment['id']}/replies",
                     {"text": template["text"]}, token=editor)
    assert r.status_code == 201 and r.json["state"] == "pending_approval", r.json
    reply = r.json["id"]
    rig.drain()
    assert book(rig.sandbox)["entries"] == []  # nothing leaves before the review
    own = rig.hub.post(f"/api/v1/replies/{reply}/approve", {}, token=editor)
    assert own.status_code == 403  # an editor does not review, least of all their own reply
    pending = rig.hub.get("/api/v1/replies?state=pending_approval", token=rig.reviewers[0])
    assert [p["id"] for p in pending.json["items"]] == [reply]
    r = rig.hub.post(f"/api/v1/replies/{reply}/approve", {"note": "可以"},
                     token=rig.reviewers[0])
    assert r.status_code == 200 and r.json["state"] == "approved", r.json
    rig.drain()
    sent = book(rig.sandbox)["entries"]
    assert [(e["platform"], e["action"], e["text"]) for e in sent] == [
        ("wechat", "reply", template["text"])]
    r = rig.hub.get(f"/api/v1/conversations/{comment['id']}", token=editor)
    assert r.json["state"] == "replied" and r.json["replies"][0]["state"] == "sent"
    assert [m["direction"] for m in r.json["messages"]] == ["in", "out"]
    assert r.json["post"]["title"] and r.json["first_reply_at"]
    assert rig.audited("reply.sent") == 1
    with rig.hub.runtime.db.session() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "reply.sent"))
        assert entry.actor_id == editor_id and entry.details["reviewer"]

    # A second reply to the same WeChat comment: refused before any call.
    calls = book(rig.sandbox)["calls"]
    again = rig.hub.post(f"/api/v1/conversations/{comment['id']}/replies",
                         {"text": "补充说明"}, token=editor)
    assert again.status_code == 409 and error_of(again)["code"] == "already_replied"
    rig.drain()
    assert book(rig.sandbox)["calls"] == calls

    # Reading the comments again stores the reply once (intake sees it on the platform).
    _due_again(rig, forget_cursor=True)
    _intake(rig)
    r = rig.hub.get(f"/api/v1/conversations/{comment['id']}", token=editor)
    assert [m["direction"] for m in r.json["messages"]] == ["in", "out"]

    # Weibo: over 140 characters, and over the hourly budget, refused before any call.
    weibo_comment = next(c for c in seen if c["platform"] == "weibo")
    long = rig.hub.post(f"/api/v1/conversations/{weibo_comment['id']}/replies",
                        {"text": "长" * 141}, token=editor)
    assert long.status_code == 422 and error_of(long)["code"] == "reply_too_long"
    r = rig.hub.post(f"/api/v1/conversations/{weibo_comment['id']}/replies",
                     {"text": "感谢关注"}, token=editor)
    assert r.status_code == 201, r.json
    hour = int(utcnow().timestamp() // 3600)
    rig.hub.runtime.redis.set(RATE_KEY.format(account=weibo, hour=hour), 60)
    limited = rig.hub.post(f"/api/v1/replies/{r.json['id']}/approve", {},
                           token=rig.reviewers[0])
    assert limited.status_code == 429 and error_of(limited)["code"] == "reply_rate_limited"
    rig.hub.runtime.redis.delete(RATE_KEY.format(account=weibo, hour=hour))
    assert rig.hub.post(f"/api/v1/replies/{r.json['id']}/approve", {},
                        token=rig.reviewers[0]).status_code == 200
    rig.drain()
    assert [e["platform"] for e in book(rig.sandbox)["entries"]] == ["wechat", "weibo"]

    # A user's message answered by customer-service message, within the window (which runs
    # from what was pushed, also once the sandbox's users stop writing).
    chatter(rig.sandbox, messages_per_day=0)
    message = next(c for c in inbox(rig, editor, kind="message") if not c["flagged"])
    r = rig.hub.post(f"/api/v1/conversations/{message['id']}/replies",
                     {"text": "您好，已收到您的消息。"}, token=editor)
    assert r.status_code == 201, r.json
    assert rig.hub.post(f"/api/v1/replies/{r.json['id']}/approve", {},
                        token=rig.reviewers[0]).status_code == 200
    rig.drain()
    assert book(rig.sandbox)["entries"][-1]["action"] == "custom_send"

    # Spam is ignored; the inspection verdict stays passing while nothing is 3 months old.
    spam = next(c for c in seen if c["flagged"])
    r = rig.hub.post(f"/api/v1/conversations/{spam['id']}/state", {"state": "ignored"},
                     token=editor)
    assert r.status_code == 200 and r.json["state"] == "ignored"
    verdict = rig.hub.get(f"/api/v1/accounts/{wechat}").json["inspection"]
    assert "messages_unanswered" not in verdict["problems"]

    # An unanswered message past its deadline: overdue, then after 3 months a failing verdict.
    waiting = next(c for c in inbox(rig, editor, account=wechat, kind="message", state="new"))
    _age(rig, waiting["id"], timedelta(days=5))
    summary = rig.hub.get("/api/v1/inbox/summary", token=editor).json
    assert summary["overdue"] >= 1
    assert waiting["id"] in {c["id"] for c in inbox(rig, editor, overdue="true")}
    _age(rig, waiting["id"], timedelta(days=95))
    verdict = rig.hub.get(f"/api/v1/accounts/{wechat}").json["inspection"]
    assert verdict["passes"] is False and "messages_unanswered" in verdict["problems"]
    board = rig.hub.get("/api/v1/inspection?org=c1").json
    assert board["problems"]["messages_unanswered"] == 1
    assert rig.hub.get("/api/v1/inspection?org=c2").json["problems"]["messages_unanswered"] == 0
    indicator = rig.hub.get("/api/v1/inbox/indicator?org=c1-k1", token=editor).json
    row = next(a for a in indicator["accounts"] if a["account"] == wechat)
    assert row["unanswered_3_months"] and row["answered"] >= 2
    assert 0 < row["answered_in_time_share"] < 1


def _age(rig: ApiRig, conversation_id: str, age: timedelta) -> None:
    """Make a conversation's unanswered messages ``age`` old (and its deadline due again)."""
    then = utcnow() - age
    with rig.hub.runtime.db.session() as session:
        session.execute(update(InteractionMessage).where(
            InteractionMessage.conversation_id == conversation_id).values(created_at=then))
        session.execute(update(Conversation).where(Conversation.id == conversation_id).values(
            first_inbound_at=then, last_inbound_at=then, deadline_at=None))


def _user_id(rig: ApiRig, name: str) -> str:
    from hub.models import User

    with rig.hub.runtime.db.session() as session:
        return session.scalar(select(User.id).where(User.name == name))


def test_elect_and_hide_where_the_platform_allows(rig):
    rig.account("c1-k1", "wechat")
    rig.account("c1-k1", "weibo")
    item = rig.item("c1-k1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    _published(rig, item)
    chatter(rig.sandbox, comments_per_day=3000, abusive_share=0.3, seed=21)
    rig.sandbox.advance_clock(900)
    _due_again(rig)
    _intake(rig)
    editor = rig.token("c1-k1", "editor")
    seen = inbox(rig, editor)
    good = next(c for c in seen if c["platform"] == "wechat" and not c["flagged"])
    abusive = next(c for c in seen if c["platform"] == "wechat" and c["flagged"])
    weibo = next(c for c in seen if c["platform"] == "weibo")
    for conversation, action in ((good, "elect"), (abusive, "hide")):
        r = rig.hub.post(f"/api/v1/conversations/{conversation['id']}/moderate",
                         {"action": action}, token=editor)
        assert r.status_code == 202, r.json
    refused = rig.hub.post(f"/api/v1/conversations/{weibo['id']}/moderate", {"action": "hide"},
                           token=editor)
    assert refused.status_code == 422 and error_of(refused)["code"] == "moderation_unsupported"
    rig.drain()
    assert [e["action"] for e in book(rig.sandbox)["entries"]] == ["markelect", "delete"]
    assert rig.hub.get(f"/api/v1/conversations/{good['id']}", token=editor).json["elected"]
    hidden = rig.hub.get(f"/api/v1/conversations/{abusive['id']}", token=editor).json
    assert hidden["hidden"]
    r = rig.hub.post(f"/api/v1/conversations/{abusive['id']}/replies", {"text": "回复"},
                     token=editor)
    assert r.status_code == 409 and error_of(r)["code"] == "comment_hidden"
