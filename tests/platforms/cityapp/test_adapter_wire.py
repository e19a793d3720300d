"""What CityAppAdapter puts on the wire and how it reads any answer (a scripted receiver).

The signatures are checked with the ``standardwebhooks`` reference library.
"""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from adapters.base import (
    AccountMisconfigured,
    AccountRef,
    AuthFailed,
    ContentRejected,
    RateLimited,
    Retryable,
    Unsupported,
)
from adapters.cityapp import CAPABILITIES, CityAppAdapter
from tests.platforms.cityapp.support import (
    account_for,
    make_post,
    new_secret,
    run_with_adapter,
    scripted_receiver,
)

JSON = {"Content-Type": "application/json"}


def deliver(*answers, secret: str | None = None, action=None):
    """Publish (or run ``action``) against a receiver answering ``answers``; return all."""
    secret = secret or new_secret()

    async def scenario(adapter: CityAppAdapter):
        async with scripted_receiver(*answers) as receiver:
            account = account_for(receiver.url, secret)
            run = action or (lambda a, acc: a.publish(acc, make_post(version=2), marker="dl_7"))
            try:
                return await run(adapter, account), receiver, None
            except Exception as exc:  # returned so the test can inspect the requests too
                return None, receiver, exc

    return run_with_adapter(scenario)


def test_reference_library_verifies_the_adapter_signature():
    secret = new_secret()
    receipt, receiver, error = deliver(
        (200, JSON, b'{"status":"accepted","app_item_id":"A1","app_url":"https://app/x"}'),
        secret=secret,
    )
    assert error is None
    [request] = receiver.requests
    event = Webhook(secret).verify(request.body, request.headers)
    assert event["type"] == "article.published"
    assert event["data"]["delivery_id"] == "dl_7"
    assert event["data"]["revision"] == 2
    assert request.headers["webhook-id"].startswith("evt_")
    assert request.headers["User-Agent"] == "CentralKitchen-Webhooks/1.0"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "市政府".encode() in request.body  # UTF-8, not \\u escapes
    assert b", " not in request.body and b'": ' not in request.body  # compact
    assert receipt.remote_id == "it_flood@2"
    assert receipt.url == "https://app/x"
    assert receipt.extra["app_item_id"] == "A1"


def test_rotation_sends_one_entry_per_secret_and_each_verifies():
    old, new = new_secret(), new_secret()
    _, receiver, error = deliver((200, {}, b""), secret=f"{old} {new}")
    assert error is None
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request.body, request.headers)
    Webhook(new).verify(request.body, request.headers)


def test_retries_reuse_the_webhook_id_and_re_sign():
    answers = ((401, {}, b""), (200, {}, b""))
    secret = new_secret()
    receipt, receiver, error = deliver(*answers, secret=secret)
    assert error is None and receipt is not None
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    Webhook(secret).verify(second.body, second.headers)

    # A later attempt of the same event (a new publish call) still carries the same id.
    _, again, _ = deliver((200, {}, b""), secret=secret)
    assert again.requests[0].headers["webhook-id"] == first.headers["webhook-id"]


def test_event_id_depends_on_marker_and_revision():
    async def two(adapter, account):
        await adapter.publish(account, make_post(version=1), marker="dl_1")
        await adapter.publish(account, make_post(version=2), marker="dl_1")
        await adapter.publish(account, make_post(version=2), marker="dl_2")

    _, receiver, error = deliver((200, {}, b""), action=two)
    assert error is None
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 3


def test_withdraw_event_carries_revision_and_reason_and_a_stable_id():
    secret = new_secret()

    async def withdraw_twice(adapter, account):
        await adapter.withdraw(account, "it_flood@4")
        await adapter.withdraw(account, "it_flood@4")

    _, receiver, error = deliver((200, {}, b""), secret=secret, action=withdraw_twice)
    assert error is None
    first, second = receiver.requests
    event = Webhook(secret).verify(first.body, first.headers)
    assert event["type"] == "article.withdrawn"
    assert event["data"]["article_id"] == "it_flood"
    assert event["data"]["revision"] == 4
    assert event["data"]["reason"]
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


@pytest.mark.parametrize(
    ("status", "headers", "error", "code"),
    [
        (410, {}, AccountMisconfigured, 410),
        (413, {}, ContentRejected, 413),
        (422, {}, ContentRejected, 422),
        (403, {}, ContentRejected, 403),
        (400, {}, Retryable, 400),
        (404, {}, Retryable, 404),
        (408, {}, Retryable, 408),
        (500, {}, Retryable, 500),
        (502, {}, Retryable, 502),
        (503, {}, Retryable, 503),
        (503, {"Retry-After": "7"}, RateLimited, 503),
        (504, {"Retry-After": "3"}, RateLimited, 504),
        (429, {}, RateLimited, 429),
        (429, {"Retry-After": "30"}, RateLimited, 429),
        (302, {"Location": "/elsewhere"}, AccountMisconfigured, 302),
    ],
)
def test_status_mapping(status, headers, error, code):
    _, receiver, raised = deliver((status, headers, b"<html>oops</html>"))
    assert type(raised) is error
    assert raised.code == code
    assert all(r.path == "/hooks/city" for r in receiver.requests)  # redirects not followed
    if isinstance(raised, RateLimited):
        assert raised.retry_after == float(headers.get("Retry-After", 1))


def test_401_twice_is_auth_failed_after_exactly_two_attempts():
    _, receiver, raised = deliver((401, {}, b""))
    assert isinstance(raised, AuthFailed)
    assert len(receiver.requests) == 2


@pytest.mark.parametrize(
    "body",
    [b"", b"ok", b"<html>", b"[1,2]", b'{"app_url": 5, "app_item_id": null}', b"\xff\xfe"],
)
def test_garbage_success_bodies_still_count_as_published(body):
    receipt, _, raised = deliver((200, {}, body))
    assert raised is None
    assert receipt.remote_id == "it_flood@2" and receipt.url is None


def test_409_counts_as_published_under_the_receivers_revision():
    receipt, _, raised = deliver((409, JSON, b'{"error":{"code":"conflict"},"revision":5}'))
    assert raised is None and receipt.extra["conflict"] is True
    assert receipt.remote_id == "it_flood@5" and receipt.state == "published"


def test_409_without_a_revision_withdraws_every_revision_later():
    secret = new_secret()

    async def publish_then_withdraw(adapter, account):
        receipt = await adapter.publish(account, make_post(version=2), marker="dl_7")
        await adapter.withdraw(account, receipt.remote_id)
        return receipt

    receipt, receiver, raised = deliver(
        (409, {}, b"conflict"), (200, {}, b""), secret=secret, action=publish_then_withdraw
    )
    assert raised is None and receipt.remote_id == "it_flood"
    withdrawal = Webhook(secret).verify(receiver.requests[1].body, receiver.requests[1].headers)
    assert withdrawal["data"]["article_id"] == "it_flood"
    assert withdrawal["data"]["revision"] == 2**31 - 1


@pytest.mark.parametrize(
    "credentials",
    [
        {"webhook_url": "http://127.0.0.1:9/x", "signing_secret": "whsec_not-base64!!"},
        {"webhook_url": "http://127.0.0.1:9/x", "signing_secret": "whsec_c2hvcnQ="},
        {"webhook_url": "http://127.0.0.1:9/x"},
        {"webhook_url": "ftp://127.0.0.1/x", "signing_secret": new_secret()},
        {"signing_secret": new_secret()},
    ],
)
def test_missing_or_malformed_credentials_are_misconfigured_without_leaking(credentials):
    account = AccountRef("acc_city", "cityapp", "", credentials)
    with pytest.raises(AccountMisconfigured) as caught:
        run_with_adapter(lambda a: a.publish(account, make_post(), marker="dl_1"))
    secret = credentials.get("signing_secret", "").removeprefix("whsec_")
    assert not secret or secret not in caught.value.reason


def test_body_over_256_kb_is_rejected_before_sending():
    post = make_post()
    big = type(post)(post.platform, {**post.fields, "content_html": "x" * 300_000})

    async def publish_big(adapter, account):
        return await adapter.publish(account, big, marker="dl_1")

    _, receiver, raised = deliver((200, {}, b""), action=publish_big)
    assert isinstance(raised, ContentRejected)
    assert receiver.requests == []


def test_lookup_and_status_without_the_listing_extension():
    async def ask(adapter, account):
        found = await adapter.lookup(account, "dl_1")
        try:
            await adapter.status(account, "it_flood@1")
        except Unsupported as exc:
            return found, exc
        return found, None

    (found, unsupported), receiver, raised = deliver((404, {}, b"Not Found"), action=ask)
    assert raised is None and found is None and isinstance(unsupported, Unsupported)
    assert receiver.requests[0].method == "GET"
    assert receiver.requests[0].path == "/hooks/city/stories"
    assert receiver.requests[0].query == {"delivery_id": "dl_1"}
    assert receiver.requests[1].path == "/hooks/city/stories/it_flood"


def test_query_requests_are_signed_over_an_empty_body():
    secret = new_secret()
    _, receiver, _ = deliver(
        (200, JSON, b'{"items": []}'),
        secret=secret,
        action=lambda a, acc: a.lookup(acc, "dl_1"),
    )
    [request] = receiver.requests
    Webhook(secret).verify(b"", request.headers, json_parse=False)


@pytest.mark.parametrize(
    "body", [b"<html>", b"[]", b'{"items": "x"}', b'{"items": [1]}', b'{"items":[{"x":1}]}']
)
def test_lookup_with_a_garbage_listing_is_retryable(body):
    _, _, raised = deliver((200, {}, body), action=lambda a, acc: a.lookup(acc, "dl_1"))
    assert type(raised) is Retryable


def test_lookup_reads_a_listing():
    listing = {
        "items": [
            {"article_id": "it_flood", "revision": 1, "state": "withdrawn"},
            {"article_id": "it_flood", "revision": 2, "state": "live", "app_url": "https://a/2"},
        ]
    }
    found, _, raised = deliver(
        (200, JSON, json.dumps(listing).encode()), action=lambda a, acc: a.lookup(acc, "dl_1")
    )
    assert raised is None
    assert found.remote_id == "it_flood@2" and found.state == "published"
    assert found.url == "https://a/2"


def test_timestamp_comes_from_the_attempt_clock():
    secret = new_secret()

    async def scenario(adapter: CityAppAdapter):
        adapter.clock = lambda: 1_700_000_000.0
        async with scripted_receiver((200, {}, b"")) as receiver:
            await adapter.publish(account_for(receiver.url, secret), make_post(), marker="dl_1")
            return receiver.requests[0]

    request = run_with_adapter(scenario)
    assert request.headers["webhook-timestamp"] == "1700000000"
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(request.body, request.headers)


def test_adapter_declares_its_capabilities():
    assert CityAppAdapter.platform == "cityapp"
    assert CityAppAdapter.capabilities is CAPABILITIES
    assert CAPABILITIES.publish and CAPABILITIES.withdraw and CAPABILITIES.lookup
    assert not CAPABILITIES.status_polling
