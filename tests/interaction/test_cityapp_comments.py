"""Comments from the city app: the sample backend (sandbox) POSTs them, signed, to a live hub;
they land under the yunchu story they name, once; unsigned or unknown ones are refused."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time

from sqlalchemy import select
from werkzeug.serving import make_server

from adapters.cityapp import sign
from hub.models import Conversation, InteractionMessage

from .conftest import chatter, generated
from .test_intake import _published

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _account(rig, comments_url: str | None) -> str:
    app = f"app{secrets.token_hex(3)}"
    r = rig.hub.post("/api/v1/accounts", {
        "org": "c1-k1", "platform": "cityapp", "name": f"客户端{app}",
        "credentials": {"webhook_url": f"{rig.sandbox.platform_url('cityapp')}/webhook/{app}",
                        "signing_secret": SECRET}})
    assert r.status_code == 201, r.json
    assert r.json["callback_url"].endswith(f"/callbacks/cityapp/{r.json['id']}")
    data = {"signing_secret": SECRET}
    if comments_url:
        data["comments_url"] = f"{comments_url}/callbacks/cityapp/{r.json['id']}"
    rig.sandbox.register("cityapp", app, **data)
    return r.json["id"]


def test_the_apps_comments_reach_conversations_under_the_story(rig):
    server = make_server("127.0.0.1", 0, rig.hub.app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        account = _account(rig, f"http://127.0.0.1:{server.server_port}")
        item = rig.item("c1-k1")
        rig.pushed(item, {"orgs": ["c1-k1"]})
        [delivery] = _published(rig, item)
        chatter(rig.sandbox, comments_per_day=30, abusive_share=0.2, seed=9)
        rig.sandbox.advance_clock(86400)
        deadline = time.monotonic() + 30
        made: list = []
        while time.monotonic() < deadline:
            made = next(iter(generated(rig.sandbox, "cityapp").values()), [])
            with rig.hub.runtime.db.session() as session:
                rows = session.execute(select(InteractionMessage.remote_id,
                                              InteractionMessage.flagged,
                                              Conversation.delivery_id, Conversation.account_id)
                                       .join(Conversation, Conversation.id ==
                                             InteractionMessage.conversation_id)).all()
            if made and len(rows) >= len(made):
                break
            time.sleep(0.3)
    finally:
        server.shutdown()
        server.server_close()
    assert len(made) > 10 and len(rows) == len(made)
    assert {(r.delivery_id, r.account_id) for r in rows} == {(delivery.id, account)}
    assert sum(r.flagged for r in rows) == sum(c["kind"] == "abusive" for c in made)


def _post(rig, account: str, event: dict, *, key: bytes | None = None, msg_id: str = "evt_1",
          age_s: int = 0):
    body = json.dumps(event, ensure_ascii=False).encode()
    timestamp = int(time.time()) - age_s
    keys = [key or base64.b64decode(SECRET.removeprefix("whsec_"))]
    return rig.hub.client.post(f"/callbacks/cityapp/{account}", data=body, headers={
        "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(keys, msg_id, timestamp, body),
        "Content-Type": "application/json"})


def test_bad_comment_webhooks_are_refused_and_a_resend_stores_nothing(rig):
    account = _account(rig, None)
    item = rig.item("c1-k1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    [delivery] = _published(rig, item)
    article = delivery.remote_id.rpartition("@")[0]
    event = {"type": "comment.created", "data": {
        "comment_id": "c-1", "article_id": article, "user_id": "u-1", "content": "什么时候开始？",
        "created_at": "2026-12-03T10:00:00+08:00"}}
    assert _post(rig, account, event).json == {"status": "accepted"}
    assert _post(rig, account, event).json == {"status": "duplicate"}  # same webhook-id
    assert _post(rig, account, event, msg_id="evt_2").json == {"status": "duplicate"}
    assert _post(rig, account, event, key=b"k" * 32, msg_id="evt_3").status_code == 401
    assert _post(rig, account, event, msg_id="evt_4", age_s=900).status_code == 400
    other = {**event, "data": {**event["data"], "article_id": "a_not_ours", "comment_id": "c-2"}}
    r = _post(rig, account, other, msg_id="evt_5")
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_article"
    broken = {**event, "data": {"comment_id": "c-3"}}
    assert _post(rig, account, broken, msg_id="evt_6").status_code == 422
    assert _post(rig, account, {"type": "ping"}, msg_id="evt_7").json == {"status": "ignored"}
    with rig.hub.runtime.db.session() as session:
        assert session.scalars(select(InteractionMessage.remote_id)).all() == ["c-1"]
