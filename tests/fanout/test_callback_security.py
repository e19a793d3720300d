"""WeChat callbacks as an attacker would send them: a plaintext copy of a safe-mode request,
a replay, XML with a DTD in another encoding, and a forged "publish failed" event that must
not leave a live copy behind a withdrawal or a re-push."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from adapters.wechat_crypto import encrypt
from hub.models import Delivery
from hub.web.callbacks import MAX_CLOCK_SKEW_S, SEEN_PREFIX
from sandbox.wechat_events import publish_event_xml

from .support import ApiRig, error_of
from .test_publish_events import (
    AES_KEY,
    TOKEN,
    _delivery,
    _pushed_and_pending,
    _send,
    _signed,
    _signed_sealed,
    no_early_poll,  # noqa: F401 - autouse here too
)

DEAD_URL = "http://127.0.0.1:9"  # the sandbox's own events go nowhere: only ours arrive


def _event(rig: ApiRig, delivery: Delivery, status: int) -> bytes:
    """A PUBLISHJOBFINISH for the delivery's publish: success names the live article."""
    [post] = rig.sandbox.posts(platform="wechat", state="live")
    if status == 0:
        return publish_event_xml(post["account"], int(delivery.remote_id), 0,
                                 article_id=post["remote_id"], urls=["https://x/s/1"],
                                 fail_idx=[], now=time.time())
    return publish_event_xml(post["account"], int(delivery.remote_id), status, article_id=None,
                             urls=[], fail_idx=[1], now=time.time())


def _sealed(rig: ApiRig, event: bytes) -> tuple[bytes, dict[str, str]]:
    [post] = rig.sandbox.posts(platform="wechat", state="live")
    ciphertext = encrypt(AES_KEY, post["account"], event)
    body = f"<xml><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>".encode()
    return body, _signed_sealed(ciphertext)


def _back_to_review(rig: ApiRig, delivery: Delivery) -> None:
    with rig.hub.runtime.db.session() as session:
        session.execute(update(Delivery).where(Delivery.id == delivery.id).values(
            state="pending_review", remote_id=delivery.remote_id, remote_url=None,
            needs_lookup=False))


def test_an_account_with_an_aes_key_refuses_plaintext(rig):
    """A real safe-mode request's signature, timestamp and nonce on a plaintext body: the plain
    signature covers no body, so this would let anyone who saw one request say anything."""
    account, item, delivery = _pushed_and_pending(rig, callback=(DEAD_URL, TOKEN, AES_KEY))
    _, real_query = _sealed(rig, _event(rig, delivery, 0))
    forged = _event(rig, delivery, 3)
    plain_query = {k: v for k, v in real_query.items()
                   if k not in ("encrypt_type", "msg_signature")}
    for _ in range(2):
        refused = _send(rig, account, forged, plain_query)
        assert refused.status_code == 403, refused.get_data()
        assert error_of(refused)["code"] == "safe_mode_required"
    # Compatible mode's plaintext twin of the sealed event is never read either.
    sealed_body, sealed_query = _sealed(rig, _event(rig, delivery, 0))
    twin = forged.replace(b"</xml>", sealed_body[len(b"<xml>"):])
    accepted = _send(rig, account, twin, sealed_query)
    assert accepted.status_code == 200 and accepted.get_data() == b"success"
    published = _delivery(rig, item)
    assert published.state == "published" and published.remote_id.startswith("article:")


@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_a_replayed_request_is_not_acted_on_again(rig, mode):
    callback = (DEAD_URL, TOKEN) if mode == "plaintext" else (DEAD_URL, TOKEN, AES_KEY)
    account, item, delivery = _pushed_and_pending(rig, callback=callback)
    event = _event(rig, delivery, 0)
    body, query = (event, _signed()) if mode == "plaintext" else _sealed(rig, event)
    first = _send(rig, account, body, query)
    assert first.status_code == 200 and _delivery(rig, item).state == "published"
    _back_to_review(rig, delivery)  # as if the event had never come
    for _ in range(2):
        again = _send(rig, account, body, query)
        # WeChat resends what it thinks went unanswered: "success", and nothing is done.
        assert again.status_code == 200 and again.get_data() == b"success"
        assert _delivery(rig, item).state == "pending_review"
    [seen] = rig.hub.runtime.redis.keys(f"{SEEN_PREFIX}*")
    assert rig.hub.runtime.redis.ttl(seen) >= 2 * MAX_CLOCK_SKEW_S  # as long as a timestamp lives
    fresh = (event, _signed()) if mode == "plaintext" else _sealed(rig, event)
    assert _send(rig, account, *fresh).status_code == 200
    assert _delivery(rig, item).state == "published"


def test_dtds_and_entities_are_refused_in_any_encoding(rig):
    """An entity that fills in the event's fields, hidden from a byte search by UTF-16."""
    account, item, delivery = _pushed_and_pending(rig, callback=(DEAD_URL, TOKEN))
    event = _event(rig, delivery, 4).decode()
    entity = event.replace("<publish_status>4</publish_status>",
                           "<publish_status>&s;</publish_status>")
    with_dtd = '<!DOCTYPE xml [<!ENTITY s "4">]>' + entity
    bodies = [('<?xml version="1.0" encoding="UTF-16"?>' + with_dtd).encode("utf-16"),
              ('<?xml version="1.0" encoding="UTF-16BE"?>' + with_dtd).encode("utf-16-be"),
              ('<?xml version="1.0" encoding="UTF-8"?>' + with_dtd).encode("utf-8-sig"),
              ("<?xml version='1.0'?>" + with_dtd).encode(),
              entity.encode(),  # an entity without its DTD
              b'<?xml version="1.0" encoding="no-such-codec"?><xml/>']
    for body in bodies:
        refused = _send(rig, account, body)
        assert refused.status_code == 400, (body[:60], refused.get_data())
        error_of(refused)
    assert _delivery(rig, item).state == "pending_review"
    plain_utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + event).encode("utf-16")
    assert _send(rig, account, plain_utf16).status_code == 200  # UTF-16 itself is fine
    assert _delivery(rig, item).state == "failed"


@pytest.mark.parametrize("when", ["recorded", "parked"])
def test_a_forged_failure_event_leaves_no_live_copy_after_a_withdrawal(rig, when):
    """A "publish failed" event for a publish that went live (forged, or replayed from another
    day): the withdrawal still asks WeChat and deletes the live copy."""
    account, item, delivery = _pushed_and_pending(rig, callback=(DEAD_URL, TOKEN))
    forged = _event(rig, delivery, 3)
    if when == "parked":  # the event comes before the worker's record
        with rig.hub.runtime.db.session() as session:
            session.execute(update(Delivery).where(Delivery.id == delivery.id)
                            .values(state="sending", remote_id=None))
    assert _send(rig, account, forged).status_code == 200
    if when == "parked":
        _back_to_review(rig, delivery)
    else:
        failed = _delivery(rig, item)
        assert failed.state == "failed" and failed.needs_lookup
        assert failed.remote_id == delivery.remote_id  # the publish id is kept
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert r.status_code == 202, r.json
    rig.drain()
    assert rig.sandbox.posts(platform="wechat", state="live") == []
    assert _delivery(rig, item).state == "withdrawn"


def test_a_forged_failure_event_does_not_double_a_post_on_re_push(rig):
    """Re-pushing a delivery an event called failed finds the live copy instead of posting a
    second one that the withdrawal would not know about."""
    account, item, delivery = _pushed_and_pending(rig, callback=(DEAD_URL, TOKEN))
    assert _send(rig, account, _event(rig, delivery, 3)).status_code == 200
    assert _delivery(rig, item).state == "failed"
    rig.pushed(item, {"orgs": ["c1-k1"]})
    rig.drain()
    [live] = rig.sandbox.posts(platform="wechat", state="live")
    adopted = _delivery(rig, item)
    assert adopted.state == "published" and adopted.remote_id == "article:" + live["remote_id"]
    assert rig.hub.post(f"/api/v1/items/{item}/withdraw",
                        {"reason": "数据有误"}).status_code == 202
    rig.drain()
    assert rig.sandbox.posts(platform="wechat", state="live") == []


def test_a_request_that_failed_midway_can_be_resent(rig, monkeypatch):
    """The (timestamp, nonce) is released when acting on the event fails, so WeChat's resend of
    the same request is not mistaken for a replay."""
    import hub.web.callbacks

    account, item, delivery = _pushed_and_pending(rig, callback=(DEAD_URL, TOKEN))
    event, query = _event(rig, delivery, 0), _signed()

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(hub.web.callbacks, "apply_changes", broken)
    assert _send(rig, account, event, query).status_code == 500  # WeChat will resend it
    monkeypatch.undo()
    assert _delivery(rig, item).state == "pending_review"
    assert _send(rig, account, event, query).status_code == 200
    assert _delivery(rig, item).state == "published"
