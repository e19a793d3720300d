"""The inbox services on both databases (embedded SQLite and PostgreSQL), with conversations
written straight into the tables: paging, filters by age and state, deadlines from the org's
inherited rule, the indicator's hours and shares, templates and settings inherited down the
tree, and the 3-month verdict."""

from __future__ import annotations

from datetime import timedelta

from hub.infra.ids import new_id
from hub.models import Conversation, InteractionMessage, Org, utcnow
from tests.hub.helpers import make_account, make_tree


def _conversation(hub, org: str, account: str, *, age: timedelta, answered_after=None,
                  kind: str = "message") -> str:
    at = utcnow() - age
    with hub.runtime.db.session() as session:
        org_id = session.query(Org.id).filter(Org.slug == org).scalar()
        conversation = Conversation(
            id=new_id("cv"), org_id=org_id, account_id=account, platform="wechat", kind=kind,
            thread_key=new_id("u"), remote_user_id="o-user", state="new",
            first_inbound_at=at, last_inbound_at=at)
        session.add(conversation)
        session.flush()
        session.add(InteractionMessage(
            id=new_id("im"), conversation_id=conversation.id, account_id=account,
            platform="wechat", direction="in", remote_id=new_id("m"), text="请问怎么办理？",
            created_at=at))
        if answered_after is not None:
            reply_at = at + answered_after
            session.add(InteractionMessage(
                id=new_id("im"), conversation_id=conversation.id, account_id=account,
                platform="wechat", direction="out", remote_id=new_id("m"), text="已答复",
                created_at=reply_at))
            conversation.first_reply_at = conversation.last_outbound_at = reply_at
            conversation.state = "replied"
        return conversation.id


def test_inbox_paging_filters_deadlines_and_the_indicator(hub):
    make_tree(hub)
    account = make_account(hub, "c1-k1", "县微信")["id"]
    other = make_account(hub, "c2", "市微信")["id"]
    r = hub.put("/api/v1/interaction-settings/c1", {"deadline_working_days": 5})
    assert r.status_code == 200
    assert hub.get("/api/v1/interaction-settings/c1-k1").json == {
        "org": "c1-k1", "replies_need_approval": False, "deadline_working_days": 5}
    assert hub.put("/api/v1/interaction-settings/c1", {"deadline_working_days": 0}) \
        .status_code == 422
    fresh = [_conversation(hub, "c1-k1", account, age=timedelta(hours=h)) for h in (1, 2, 3)]
    answered = _conversation(hub, "c1-k1", account, age=timedelta(days=2),
                             answered_after=timedelta(hours=6))
    stale = _conversation(hub, "c1-k1", account, age=timedelta(days=100))
    _conversation(hub, "c2", other, age=timedelta(days=1))

    seen, cursor = [], None
    while True:
        page = hub.get("/api/v1/inbox?org=c1&limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200, page.json
        seen += page.json["items"]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert [c["id"] for c in seen] == [*fresh, answered, stale]
    assert {c["id"] for c in hub.get("/api/v1/inbox?org=c1&older_than_h=24").json["items"]} \
        == {answered, stale}
    assert [c["id"] for c in hub.get("/api/v1/inbox?org=c1&state=replied").json["items"]] \
        == [answered]
    assert hub.get("/api/v1/inbox?older_than_h=soon").status_code == 422
    by_id = {c["id"]: c for c in seen}
    assert by_id[fresh[0]]["deadline"] and not by_id[fresh[0]]["overdue"]
    assert by_id[stale]["overdue"] and by_id[answered]["deadline"] is None
    summary = hub.get("/api/v1/inbox/summary?org=c1").json
    assert summary["open"] == 4 and summary["overdue"] == 1 and summary["states"]["replied"] == 1

    assert hub.get("/api/v1/inbox/indicator?days=0").status_code == 422
    indicator = hub.get("/api/v1/inbox/indicator?org=c1&days=366").json["accounts"]
    assert [(a["account"], a["conversations"], a["answered"], a["overdue"]) for a in indicator] \
        == [(account, 5, 1, 1)]
    assert indicator[0]["mean_hours_to_first_reply"] == 6.0
    assert indicator[0]["answered_in_time_share"] == 0.2 and indicator[0]["unanswered_3_months"]
    verdict = hub.get(f"/api/v1/accounts/{account}").json["inspection"]
    assert "messages_unanswered" in verdict["problems"]
    assert hub.get("/api/v1/inspection?org=c1").json["problems"]["messages_unanswered"] == 1

    # Ignored as spam, it no longer counts against the account.
    r = hub.post(f"/api/v1/conversations/{stale}/state", {"state": "ignored"})
    assert r.status_code == 200 and r.json["state"] == "ignored"
    assert "messages_unanswered" not in \
        hub.get(f"/api/v1/accounts/{account}").json["inspection"]["problems"]
    assert hub.post(f"/api/v1/conversations/{stale}/state", {"state": "ignored"}) \
        .status_code == 409

    # 常用回复: an org sees its own and those above it.
    for org, title in (("yun", "省级模板"), ("c1", "市级模板"), ("c2", "别市模板")):
        assert hub.post("/api/v1/reply-templates", {"org": org, "title": title,
                                                    "text": "感谢留言"}).status_code == 201
    titles = {t["title"] for t in hub.get("/api/v1/reply-templates?org=c1-k1").json["items"]}
    assert titles == {"省级模板", "市级模板"}
