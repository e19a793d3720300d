"""WeiboAdapter on answers the sandbox never gives: garbage, HTML, odd envelopes (scripted server)."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from adapters import base as taxonomy
from adapters.http import HttpReply
from adapters.weibo import WeiboAdapter, failure
from tests.platforms.weibo.support import account_for, make_post, run_with_adapter, scripted_server

HTML = "text/html"
JSON = "application/json"


def weibo_error(code: int | str, message: str = "error", request: str = "/2/x.json") -> bytes:
    return json.dumps({"error": message, "error_code": code, "request": request}).encode()


def reply(status: int, body: bytes, headers: dict[str, str] | None = None) -> HttpReply:
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    return HttpReply(status, CIMultiDictProxy(CIMultiDict(headers or {})), body, parsed)


def run_against(answers, action) -> tuple[object, list[str]]:
    """Run ``action(adapter, account)`` against a server answering ``answers`` in turn."""
    paths: list[str] = []

    async def scenario(adapter: WeiboAdapter):
        async with scripted_server(*answers) as server:
            try:
                return await action(adapter, account_for(server.url))
            finally:
                paths.extend(server.paths)

    return run_with_adapter(scenario), paths


def publish(adapter: WeiboAdapter, account):
    return adapter.publish(account, make_post(), marker="dl_1")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (21327, taxonomy.AuthFailed),
        ("21332", taxonomy.AuthFailed),
        (21315, taxonomy.AuthFailed),
        (21319, taxonomy.AuthFailed),
        (10022, taxonomy.RateLimited),
        ("10023", taxonomy.RateLimited),
        (10024, taxonomy.RateLimited),
        (10001, taxonomy.Retryable),
        (10009, taxonomy.Retryable),
        (10017, taxonomy.AccountMisconfigured),
        (20102, taxonomy.AccountMisconfigured),
        (21321, taxonomy.AccountMisconfigured),
        (20012, taxonomy.ContentRejected),
        (20021, taxonomy.ContentRejected),
        ("20019", taxonomy.ContentRejected),
        (20031, taxonomy.Unsupported),
        (29999, taxonomy.ContentRejected),
    ],
)
def test_error_codes_map_to_the_taxonomy(code, expected):
    error = failure(reply(400, weibo_error(code)))
    assert type(error) is expected
    assert error.code == int(code)


def test_rate_limits_wait_for_the_next_hour_unless_told():
    waited = failure(reply(403, weibo_error(10023)))
    assert 60 <= waited.retry_after <= 3600
    told = failure(reply(403, weibo_error(10023), {"Retry-After": "7"}))
    assert told.retry_after == 7


def test_reason_is_chinese_first_and_names_the_code():
    error = failure(reply(400, weibo_error(20021, "Content is illegal!")))
    assert error.reason.startswith("微博拒绝发布")
    assert "Content is illegal!" in error.reason and "20021" in error.reason


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ((200, HTML, b"<html>ok</html>"), taxonomy.OutcomeUnknown),
        ((200, JSON, b'{"created_at": "x"}'), taxonomy.OutcomeUnknown),
        ((502, HTML, b"<html>502 Bad Gateway</html>"), taxonomy.OutcomeUnknown),
        ((500, "text/plain", b"oops"), taxonomy.Retryable),
        ((404, HTML, b"<html>not found</html>"), taxonomy.AccountMisconfigured),
        ((401, HTML, b"<html>no</html>"), taxonomy.AuthFailed),
        ((200, JSON, weibo_error(20032, "Update success, while server slow now")), taxonomy.OutcomeUnknown),
    ],
)
def test_publish_reads_odd_answers_safely(answer, expected):
    with pytest.raises(expected) as caught:
        run_against([answer], publish)
    if expected is taxonomy.Retryable:
        assert not isinstance(caught.value, taxonomy.OutcomeUnknown)


def test_http_429_without_envelope_honours_retry_after():
    error = failure(reply(429, b"slow down", {"Retry-After": "9"}))
    assert type(error) is taxonomy.RateLimited and error.retry_after == 9


def test_repeat_content_that_lookup_cannot_find_is_rejected():
    empty_timeline = (200, JSON, b'{"statuses": [], "total_number": 0}')
    repeat = (400, JSON, weibo_error("20019", "repeat content!"))
    with pytest.raises(taxonomy.ContentRejected) as caught:
        run_against([repeat, empty_timeline], publish)
    assert caught.value.code == 20019


@pytest.mark.parametrize(
    "answer",
    [(200, HTML, b"<html></html>"), (200, JSON, b'{"statuses": "nope"}'), (200, JSON, b"[1,2]")],
)
def test_lookup_and_status_treat_garbage_as_retryable(answer):
    with pytest.raises(taxonomy.Retryable) as caught:
        run_against([answer], lambda adapter, account: adapter.lookup(account, "dl_1"))
    assert not isinstance(caught.value, taxonomy.OutcomeUnknown)
    with pytest.raises(taxonomy.Retryable):
        run_against([answer], lambda adapter, account: adapter.status(account, "91"))


def test_withdraw_without_permission_becomes_a_manual_task():
    forbidden = (403, JSON, weibo_error(10014, "Insufficient app permissions!"))
    with pytest.raises(taxonomy.Unsupported) as caught:
        run_against([forbidden], lambda adapter, account: adapter.withdraw(account, "91"))
    assert caught.value.code == 10014


def test_lookup_stops_after_its_page_budget():
    page = {"statuses": [{"idstr": str(n), "text": "x"} for n in range(100)]}
    full_page = (200, JSON, json.dumps(page).encode())
    found, paths = run_against(
        [full_page], lambda adapter, account: adapter.lookup(account, "dl_1")
    )
    assert found is None
    assert paths == ["/2/statuses/user_timeline.json"] * 2
