"""The sandbox city-app receiver, driven by raw HTTP signed with the reference library."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import requests
from standardwebhooks import Webhook

from tests.platforms.cityapp.support import new_secret

APP = "riverside"


@pytest.fixture
def hook_url(sandbox) -> str:
    return f"{sandbox.url}/cityapp/webhook/{APP}"


def event(article_id: str = "it_1", revision: int = 1, title: str = "暴雨预警") -> bytes:
    data = {"article_id": article_id, "revision": revision, "title": title, "summary": "注意防范"}
    payload = {"type": "article.published", "timestamp": "2026-01-01T00:00:00Z", "data": data}
    return json.dumps(payload, ensure_ascii=False).encode()


def signed(secret: str, body: bytes, msg_id: str = "msg_1", at: float | None = None) -> dict:
    when = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body.decode()),
        "Content-Type": "application/json",
    }


def post(url: str, body: bytes, headers: dict) -> requests.Response:
    return requests.post(url, data=body, headers=headers, timeout=10)


def test_accepts_a_webhook_signed_by_the_reference_library(sandbox, secret, hook_url):
    body = event()
    answer = post(hook_url, body, signed(secret, body))
    assert answer.status_code == 200
    assert answer.json()["app_item_id"] == f"{APP}/it_1"
    [story] = sandbox.posts(platform="cityapp", state="live")
    assert (story["account"], story["title"], story["text"]) == (APP, "暴雨预警", "注意防范")


def test_exact_replay_returns_the_original_answer_without_reprocessing(sandbox, secret, hook_url):
    body = event()
    headers = signed(secret, body)
    first = post(hook_url, body, headers)
    replay = post(hook_url, body, headers)
    assert replay.status_code == first.status_code == 200
    assert replay.json() == first.json()
    assert sandbox.stats()["cityapp"]["created"] == 1


def test_replay_with_a_new_timestamp_is_still_a_no_op(sandbox, secret, hook_url):
    body = event()
    post(hook_url, body, signed(secret, body, "msg_1"))
    # The app withdrew it meanwhile; a late re-send of the publish must not resurrect it.
    withdraw = json.dumps(
        {"type": "article.withdrawn", "data": {"article_id": "it_1", "revision": 1, "reason": "x"}}
    ).encode()
    assert post(hook_url, withdraw, signed(secret, withdraw, "msg_2")).status_code == 200
    again = post(hook_url, body, signed(secret, body, "msg_1", at=time.time() + 5))
    assert again.status_code == 200
    assert sandbox.posts(platform="cityapp", state="live") == []


def test_same_revision_under_a_new_id_after_withdrawal_is_a_conflict(sandbox, secret, hook_url):
    body = event()
    withdraw = json.dumps(
        {"type": "article.withdrawn", "data": {"article_id": "it_1", "revision": 1, "reason": "x"}}
    ).encode()
    assert post(hook_url, withdraw, signed(secret, withdraw, "msg_w")).status_code == 200
    late = post(hook_url, body, signed(secret, body, "msg_p"))
    assert late.status_code == 409
    assert late.json()["state"] == "withdrawn"


def test_signature_and_header_failures(sandbox, secret, hook_url):
    body = event()
    good = signed(secret, body)
    tampered = body.replace("暴雨".encode(), "大雨".encode())
    assert post(hook_url, tampered, good).status_code == 401
    assert post(hook_url, body, signed(new_secret(), body)).status_code == 401
    for missing in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = {k: v for k, v in good.items() if k != missing}
        assert post(hook_url, body, headers).status_code == 400
    # Clear of the 300 s edge: the header holds whole seconds, so +301 s truncates to as
    # little as +300.0x and is inside the tolerance once a few ms have passed.
    assert post(hook_url, body, signed(secret, body, at=time.time() - 310)).status_code == 400
    assert post(hook_url, body, signed(secret, body, at=time.time() + 310)).status_code == 400
    assert sandbox.posts(platform="cityapp") == []


def test_tolerance_follows_the_sandbox_clock(sandbox, secret, hook_url):
    body = event()
    sandbox.advance_clock(600)
    assert post(hook_url, body, signed(secret, body)).status_code == 400
    assert post(hook_url, body, signed(secret, body, at=time.time() + 600)).status_code == 200


def test_unregistered_app_is_404(sandbox, secret):
    body = event()
    answer = post(f"{sandbox.url}/cityapp/webhook/nobody", body, signed(secret, body))
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_app"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"type": "article.published"}',
        json.dumps({"type": "article.published", "data": {"article_id": "a"}}).encode(),
        json.dumps({"type": "article.withdrawn", "data": {"revision": 1}}).encode(),
    ],
)
def test_signed_but_invalid_events_are_422(sandbox, secret, hook_url, body):
    assert post(hook_url, body, signed(secret, body)).status_code == 422


def test_unknown_event_types_are_accepted_and_ignored(sandbox, secret, hook_url):
    body = json.dumps({"type": "ping", "data": {}}).encode()
    answer = post(hook_url, body, signed(secret, body))
    assert answer.status_code == 200 and answer.json()["status"] == "ignored"


def test_body_over_256_kb_is_413(sandbox, secret, hook_url):
    body = event(title="x" * (256 * 1024))
    assert post(hook_url, body, signed(secret, body)).status_code == 413


def test_story_listing_requires_a_signature(sandbox, secret, hook_url):
    assert requests.get(f"{hook_url}/stories", timeout=10).status_code == 400
    headers = signed(secret, b"", "qry_1")
    listing = requests.get(f"{hook_url}/stories", headers=headers, timeout=10)
    assert listing.status_code == 200 and listing.json() == {"items": []}
    missing = requests.get(f"{hook_url}/stories/it_9", headers=headers, timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "story_not_found"


def test_reset_forgets_stories_and_seen_ids(sandbox, secret, hook_url):
    body = event()
    headers = signed(secret, body)
    post(hook_url, body, headers)
    sandbox.reset()
    sandbox.register("cityapp", APP, signing_secret=secret)
    assert post(hook_url, body, headers).status_code == 200
    assert len(sandbox.posts(platform="cityapp", state="live")) == 1
