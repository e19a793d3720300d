"""The inbox pages in the admin (server side; the keys and live rows are tests/browser's):
the list with its key hints per role, a conversation beside nothing (a message) with the
templates, a reply written and approved through the forms, refusals shown on the page, the
dashboard's counts, and English."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.infra.ids import new_id
from hub.models import Conversation, InteractionMessage, Org, Reply, utcnow


def _message(newsroom, org: str, account: str, *, age: timedelta) -> str:
    at = utcnow() - age
    with newsroom.hub.runtime.db.session() as session:
        org_id = session.scalar(select(Org.id).where(Org.slug == org))
        conversation = Conversation(
            id=new_id("cv"), org_id=org_id, account_id=account, platform="wechat",
            kind="message", thread_key=new_id("u"), remote_user_id="o-user", state="new",
            author_name="市民小王", first_inbound_at=at, last_inbound_at=at)
        session.add(conversation)
        session.flush()
        session.add(InteractionMessage(
            id=new_id("im"), conversation_id=conversation.id, account_id=account,
            platform="wechat", direction="in", remote_id=new_id("m"),
            text="请问社保卡在哪里补办？", created_at=at))
    return conversation.id


def test_triage_through_the_pages(newsroom):
    account = newsroom.account("c1-k1", "县政务微信")["id"]
    recent = _message(newsroom, "c1-k1", account, age=timedelta(hours=1))
    old = _message(newsroom, "c1-k1", account, age=timedelta(days=100))
    newsroom.hub.put("/api/v1/interaction-settings/c1", {"replies_need_approval": True})
    newsroom.hub.post("/api/v1/reply-templates", {"org": "c1", "title": "已收到",
                                                  "text": "您好，已收到您的留言。"})

    operator = newsroom.browser("operator")
    page = operator.text("/admin/inbox")
    assert "j / k 上下移动" in page and "请问社保卡在哪里补办？" in page
    assert f'data-id="{recent}"' in page and "已超期" in page
    assert 'href="/admin/inbox"' in page  # the nav link
    board = operator.text("/admin/")
    assert 'data-stat="inbox-open">2<' in board and "1 条已超期" in board
    assert "留言三个月未回复" in board

    view = operator.text(f"/admin/conversations/{recent}")
    assert "用户消息，不在文章下" in view and "您好，已收到您的留言。" in view
    response = operator.post(f"/admin/conversations/{recent}/assign", {"user": "me"})
    assert "已分派" in operator.follow(response)
    mine = operator.text("/admin/inbox?mine=1")
    assert f'data-id="{recent}"' in mine and f'data-id="{old}"' not in mine
    assert f'data-id="{old}"' in operator.text(f"/admin/inbox?account={account}")
    response = operator.post(f"/admin/conversations/{recent}/reply",
                             {"text": "您好，已收到您的留言。"})
    assert "回复已提交" in operator.follow(response)
    with newsroom.hub.runtime.db.session() as session:
        [reply] = session.scalars(select(Reply).where(Reply.conversation_id == recent))
        assert reply.state == "pending_approval"
    assert 'data-action="approve"' not in operator.text(f"/admin/conversations/{recent}")

    # Past the 48 h window WeChat allows: refused on the page, nothing written.
    response = operator.post(f"/admin/conversations/{old}/reply", {"text": "迟到的答复"})
    assert "48小时" in operator.follow(response)

    reviewer = newsroom.browser("reviewer1")
    pending = reviewer.text("/admin/replies/pending")
    assert f'data-reply="{reply.id}"' in pending and "operator" in pending
    assert 'data-action="approve"' in reviewer.text(f"/admin/conversations/{recent}")
    response = reviewer.post(f"/admin/replies/{reply.id}/approve", {"conversation": recent})
    assert "回复已批准，正在发送" in reviewer.follow(response)

    response = operator.post(f"/admin/conversations/{old}/state",
                             {"state": "ignored", "back": "inbox", "keep_state": "open"})
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/admin/inbox?state=open")
    assert "Comments and messages" in operator.text("/admin/inbox?lang=en")
    assert operator.get("/admin/inbox/rows?state=ignored").status_code == 200
    outsider = newsroom.browser("other_operator")
    assert "请问社保卡" not in outsider.text("/admin/inbox")
    assert outsider.get(f"/admin/conversations/{recent}").status_code == 403


def test_reply_templates_page(newsroom):
    editor = newsroom.browser("editor")  # of c1
    assert "还没有常用回复" in editor.text("/admin/reply-templates")
    response = editor.post("/admin/reply-templates", {"title": "办理指引", "text": "请携带身份证办理。"})
    page = editor.follow(response)
    assert "常用回复已保存" in page and "请携带身份证办理。" in page
    response = editor.post("/admin/reply-templates", {"title": "", "text": "空标题"})
    assert "常用回复已保存" not in editor.follow(response)
    from hub.models import ReplyTemplate

    with newsroom.hub.runtime.db.session() as session:
        [template] = session.scalars(select(ReplyTemplate))
        template_id = template.id
    assert "请携带身份证办理。" in newsroom.browser("operator").text("/admin/reply-templates")
    assert "请携带身份证办理。" not in newsroom.browser("other_operator").text(
        "/admin/reply-templates")
    response = editor.post(f"/admin/reply-templates/{template_id}/delete", {})
    assert "常用回复已删除" in editor.follow(response)
