"""WeChat's PUBLISHJOBFINISH events into the hub: the sandbox pushes them to a live hub over
HTTP, and the delivery leaves review without a status poll; bad requests change nothing."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from werkzeug.serving import make_server

from adapters.wechat_crypto import encrypt
from hub.fanout.reconciler import _enqueue_status
from hub.models import Account, Delivery
from sandbox.wechat_events import publish_event_xml

from .conftest import PUBLIC_URL
from .support import ApiRig, error_of

TOKEN = "Callback0Token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # an EncodingAESKey: 43 characters


@pytest.fixture(autouse=True)
def no_early_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests answer a publish by WeChat's event, or by the sweep's status poll; the
    worker's own poll a second after the batch (``Executor._poll_soon``) would race them
    whenever the burst worker outlives that second on a slow machine."""
    from hub.fanout import executor

    monkeypatch.setattr(executor, "FIRST_POLL_S", 3600.0)


@pytest.fixture
def live_hub(rig: ApiRig) -> Iterator[str]:
    """The rig's hub served over real HTTP, for the sandbox to call."""
    server = make_server("127.0.0.1", 0, rig.hub.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _delivery(rig: ApiRig, item: str) -> Delivery:
    with rig.hub.runtime.db.session() as session:
        delivery = session.execute(select(Delivery).where(Delivery.item_id == item)).scalar_one()
        session.expunge(delivery)
        return delivery


def _wechat_requests(rig: ApiRig) -> int:
    return rig.sandbox.stats()["wechat"]["requests"]


def _signed(token: str = TOKEN, *, age_s: float = 0) -> dict[str, str]:
    # A fresh nonce each time, as WeChat does: the hub acts on a (timestamp, nonce) only once.
    timestamp, nonce = str(int(time.time() - age_s)), str(secrets.randbelow(10**9))
    signature = hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": "o_admin"}


def _signed_sealed(ciphertext: str) -> dict[str, str]:
    query = _signed()
    msg_signature = hashlib.sha1("".join(sorted(
        (TOKEN, query["timestamp"], query["nonce"], ciphertext))).encode()).hexdigest()
    return {**query, "encrypt_type": "aes", "msg_signature": msg_signature}


def _send(rig: ApiRig, account: str, body: bytes, query: dict[str, str] | None = None,
          method: str = "POST"):
    return rig.hub.client.open(f"/callbacks/wechat/{account}", method=method, data=body,
                               query_string=query if query is not None else _signed(),
                               content_type="text/xml")


def _pushed_and_pending(rig: ApiRig, **account: Any) -> tuple[str, str, Delivery]:
    account_id = rig.account("c1-k1", **account)
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    rig.drain()
    return account_id, item, _delivery(rig, item)


@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_the_event_confirms_the_post_without_a_status_poll(rig, live_hub, mode):
    callback = (live_hub, TOKEN) if mode == "plaintext" else (live_hub, TOKEN, AES_KEY)
    account, item, delivery = _pushed_and_pending(rig, callback=callback, publish_delay_s=1.0)
    # On a busy machine the event may land while the worker is still finishing: either way,
    # only the event can confirm the post within seconds (a status poll waits 10 s first).
    assert delivery.state in ("pending_review", "published"), delivery.state
    calls = _wechat_requests(rig)
    deadline = time.monotonic() + 15
    while delivery.state == "pending_review" and time.monotonic() < deadline:
        time.sleep(0.1)
        delivery = _delivery(rig, item)
    [post] = rig.sandbox.posts(platform="wechat", state="live")
    assert delivery.state == "published", delivery.state
    assert delivery.remote_id == "article:" + post["remote_id"]
    assert delivery.remote_url and delivery.remote_url.startswith("https://mp.weixin.qq.com/s?")
    assert _wechat_requests(rig) == calls  # no freepublish/get was needed
    assert rig.sweep().status_polls == 0
    # The withdrawal deletes by article id: one call, no freepublish/get first.
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert r.status_code == 202, r.json
    rig.drain()
    assert rig.sandbox.posts(platform="wechat", state="live") == []
    assert _wechat_requests(rig) == calls + 1


def test_a_failed_publish_event_fails_the_delivery_with_the_reason(rig, live_hub):
    _, item, _ = _pushed_and_pending(rig, callback=(live_hub, TOKEN), publish_status=4,
                                     publish_delay_s=1.0)
    deadline = time.monotonic() + 15
    while (delivery := _delivery(rig, item)).state == "pending_review" \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert delivery.state == "failed" and "审核" in delivery.error, delivery.error


def test_an_event_that_beats_the_workers_record_waits_for_the_status_poll(rig):
    """The event names a publish the hub has not written down yet: it is parked, and the
    next status poll takes its answer from there instead of calling WeChat."""
    account, item, delivery = _pushed_and_pending(rig, callback=("http://127.0.0.1:9", TOKEN))
    publish_id = delivery.remote_id
    with rig.hub.runtime.db.session() as session:  # as if the worker had not recorded it yet
        session.execute(update(Delivery).where(Delivery.id == delivery.id)
                        .values(state="sending", remote_id=None))
    [post] = rig.sandbox.posts(platform="wechat", state="live")
    event = publish_event_xml(post["account"], int(publish_id), 0,
                              article_id=post["remote_id"], urls=["https://mp.weixin.qq.com/s/x"],
                              fail_idx=[], now=time.time())
    r = _send(rig, account, event)
    assert r.status_code == 200 and r.get_data() == b"success"
    assert _delivery(rig, item).state == "sending"
    with rig.hub.runtime.db.session() as session:  # the worker's record lands
        session.execute(update(Delivery).where(Delivery.id == delivery.id)
                        .values(state="pending_review", remote_id=publish_id))
    calls = _wechat_requests(rig)
    _enqueue_status(rig.hub.runtime.redis, [(delivery.id, "wechat")], 10)
    rig.drain()
    confirmed = _delivery(rig, item)
    assert confirmed.state == "published" and confirmed.remote_id == "article:" + post["remote_id"]
    assert _wechat_requests(rig) == calls


@pytest.mark.parametrize("outcome", ["published", "failed"])
def test_a_withdrawal_takes_the_parked_answer_instead_of_asking(rig, outcome):
    """The event came before the worker's record, and the withdrawal comes before the status
    poll: the parked answer names the article, so the delete is the only call (and a publish
    that failed needs one status call, not a lookup through the whole list)."""
    status = 0 if outcome == "published" else 4
    account, item, delivery = _pushed_and_pending(rig, callback=("http://127.0.0.1:9", TOKEN),
                                                  publish_status=status)
    publish_id = delivery.remote_id
    with rig.hub.runtime.db.session() as session:
        session.execute(update(Delivery).where(Delivery.id == delivery.id)
                        .values(state="sending", remote_id=None))
    live = rig.sandbox.posts(platform="wechat", state="live")
    assert len(live) == (1 if outcome == "published" else 0)
    article_id = live[0]["remote_id"] if live else None
    event = publish_event_xml("wx-any", int(publish_id), status, article_id=article_id,
                              urls=["https://mp.weixin.qq.com/s/x"] if live else [],
                              fail_idx=[] if live else [1], now=time.time())
    assert _send(rig, account, event).status_code == 200
    with rig.hub.runtime.db.session() as session:
        session.execute(update(Delivery).where(Delivery.id == delivery.id)
                        .values(state="pending_review", remote_id=publish_id))
    calls = _wechat_requests(rig)
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert r.status_code == 202, r.json
    rig.drain()
    withdrawn = _delivery(rig, item)
    assert withdrawn.state == "withdrawn", (withdrawn.state, withdrawn.error)
    assert rig.sandbox.posts(platform="wechat", state="live") == []
    # Published: freepublish/delete only. Failed: an event's failure is not taken on trust,
    # one freepublish/get confirms that nothing went live.
    assert _wechat_requests(rig) == calls + 1
    if outcome == "published":
        assert withdrawn.remote_id == f"article:{article_id}"
    assert not rig.hub.runtime.redis.keys("yunchu:event:*")  # used once, then gone


def test_bad_event_requests_are_refused_and_change_nothing(rig):
    account, item, delivery = _pushed_and_pending(rig, callback=("http://127.0.0.1:9", TOKEN))
    [post] = rig.sandbox.posts(platform="wechat", state="live")
    event = publish_event_xml(post["account"], int(delivery.remote_id), 0,
                              article_id=post["remote_id"], urls=["https://x/s/1"], fail_idx=[],
                              now=time.time())
    plain = rig.account("c1-k1")  # no callback token: no callback endpoint
    unreadable = rig.account("c1-k1", callback=("http://127.0.0.1:9", TOKEN))
    with rig.hub.runtime.db.session() as session:  # e.g. sealed under another secret key
        session.execute(update(Account).where(Account.id == unreadable)
                        .values(credentials_sealed=b"\x00" * 64))
    refused = [
        (_send(rig, account, event, _signed("WrongToken")), 403, "bad_signature"),
        (_send(rig, account, event, {**_signed(), "signature": ""}), 403, "bad_signature"),
        (_send(rig, account, event, _signed(age_s=3600)), 403, "stale_timestamp"),
        (_send(rig, "acc_nope", event), 404, None),
        (_send(rig, plain, event), 404, None),
        (_send(rig, unreadable, event), 404, None),
        (_send(rig, account, b"<xml><Event>"), 400, None),
        (_send(rig, account, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><xml/>'),
         400, None),
        (_send(rig, account, b"<xml>" + b" " * 70_000 + b"</xml>"), 413, None),
        (_send(rig, account, event, {**_signed(), "encrypt_type": "aes"}), 415,
         "encrypt_type_unsupported"),  # this account has no EncodingAESKey
        (_send(rig, account, event, {**_signed(), "encrypt_type": "rot13"}), 415,
         "encrypt_type_unsupported"),
    ]
    for response, status, code in refused:
        assert response.status_code == status, (status, response.get_data())
        error = error_of(response)
        assert code is None or error["code"] == code, error
    other = b"<xml><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>"
    assert _send(rig, account, other).get_data() == b"success"
    unchanged = _delivery(rig, item)
    assert (unchanged.state, unchanged.remote_id) == ("pending_review", delivery.remote_id)
    assert not rig.hub.runtime.redis.keys("yunchu:event:*")
    # WeChat's URL check: the echo, only when signed.
    echo = _send(rig, account, b"", {**_signed(), "echostr": "e123"}, method="GET")
    assert echo.status_code == 200 and echo.get_data() == b"e123"
    assert _send(rig, account, b"", {**_signed("x1y"), "echostr": "e1"}, method="GET"
                 ).status_code == 403


def test_safe_mode_messages_must_be_signed_and_sealed_for_the_account(rig):
    account, item, delivery = _pushed_and_pending(
        rig, callback=("http://127.0.0.1:9", TOKEN, AES_KEY))
    [post] = rig.sandbox.posts(platform="wechat", state="live")
    event = publish_event_xml(post["account"], int(delivery.remote_id), 0,
                              article_id=post["remote_id"], urls=["https://x/s/1"], fail_idx=[],
                              now=time.time())

    def sealed(appid: str = post["account"], key: str = AES_KEY, *, msg_signature: str = ""):
        ciphertext = encrypt(key, appid, event)
        query = _signed_sealed(ciphertext)
        if msg_signature:
            query["msg_signature"] = msg_signature
        return f"<xml><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>".encode(), query

    other_key = AES_KEY[::-1]
    refused = [(_send(rig, account, *sealed(msg_signature="0" * 40)), 403),
               (_send(rig, account, *sealed(appid="wx_someone_else")), 400),
               (_send(rig, account, *sealed(key=other_key)), 400),
               (_send(rig, account, b"<xml><Encrypt>not-sealed</Encrypt></xml>",
                      _signed_sealed("not-sealed")), 400),
               (_send(rig, account, event, {**_signed(), "encrypt_type": "aes"}), 400)]
    for response, status in refused:
        assert response.status_code == status, (status, response.get_data())
        error_of(response)
    assert _delivery(rig, item).state == "pending_review"
    accepted = _send(rig, account, *sealed())
    assert accepted.status_code == 200 and accepted.get_data() == b"success"
    assert _delivery(rig, item).remote_id == "article:" + post["remote_id"]


def test_a_wechat_account_names_its_callback_url(rig):
    r = rig.hub.post("/api/v1/accounts", {
        "org": "c1-k1", "platform": "wechat", "name": "回调号",
        "credentials": {"appid": "wx1", "secret": "s", "callback_token": TOKEN}})
    assert r.status_code == 201, r.json
    assert r.json["callback_url"] == f"{PUBLIC_URL}/callbacks/wechat/{r.json['id']}"
    assert TOKEN not in str(r.json)  # a credential: never echoed
    weibo = rig.account("c1-k1", "weibo")
    [listed] = rig.hub.get("/api/v1/accounts", query_string={"platform": "weibo"}).json["items"]
    assert listed["id"] == weibo and listed["callback_url"] is None


def test_a_callback_token_must_be_what_wechat_accepts(rig):
    for token in ("ab", "has space", "x" * 33, "中文令牌"):
        r = rig.hub.post("/api/v1/accounts", {
            "org": "c1-k1", "platform": "wechat", "name": "回调号",
            "credentials": {"appid": "wx1", "secret": "s", "callback_token": token}})
        assert r.status_code == 422, (token, r.json)
        assert error_of(r)["details"]["field"] == "credentials.callback_token"
    for key in ("short", AES_KEY + "x", AES_KEY[:-1] + "-"):
        r = rig.hub.post("/api/v1/accounts", {
            "org": "c1-k1", "platform": "wechat", "name": "回调号",
            "credentials": {"appid": "wx1", "secret": "s", "callback_token": TOKEN,
                            "callback_aes_key": key}})
        assert r.status_code == 422, (key, r.json)
        assert error_of(r)["details"]["field"] == "credentials.callback_aes_key"
