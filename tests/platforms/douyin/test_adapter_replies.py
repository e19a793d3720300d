"""DouyinAdapter against a scripted HTTP server: odd, broken and foreign-envelope answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

from adapters import base as taxonomy
from adapters.douyin import DouyinAdapter, envelope_error
from tests.platforms.douyin.support import account_for, render_post
from tests.support.token_cache import MemoryTokenCache

V1 = "/api/douyin/v1/video"
Reply = Callable[[], web.Response]


def ok(payload: dict | None = None) -> Reply:
    body = {
        "data": {"error_code": 0, "description": "", **(payload or {})},
        "extra": {"error_code": 0, "description": "", "logid": "L1", "now": 1},
    }
    return lambda: web.json_response(body)


def failed(code: int, description: str = "") -> Reply:
    body = {
        "data": {"error_code": code, "description": description},
        "extra": {"error_code": code, "description": description, "log_id": "L2"},
    }
    return lambda: web.json_response(body)


def raw(status: int, text: str, content_type: str = "text/html") -> Reply:
    return lambda: web.Response(status=status, text=text, content_type=content_type)


UPLOADED = ok({"video": {"video_id": "v0200fabc", "width": 1, "height": 1}})
CREATED = ok({"item_id": "@abc+/=="})


@contextlib.asynccontextmanager
async def scripted(routes: dict[str, Reply | list[Reply]]) -> AsyncIterator[str]:
    """A server answering each path from a script (a list is answered in turn)."""
    queues = {
        path: list(reply) if isinstance(reply, list) else reply for path, reply in routes.items()
    }

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        script = queues.get(request.path)
        if script is None:
            return web.Response(status=404, text="not found")
        return (script.pop(0) if isinstance(script, list) else script)()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def run(routes: dict[str, Reply | list[Reply]], action: Callable):
    async def main():
        async with scripted(routes) as base, aiohttp.ClientSession() as session:
            adapter = DouyinAdapter(session, MemoryTokenCache())
            return await action(adapter, account_for(base))

    return asyncio.run(main())


def status_of(adapter, account):
    return adapter.status(account, "@abc+/==")


def publish(mp4: bytes):
    post = render_post(mp4)
    return lambda adapter, account: adapter.publish(account, post, marker="dlv_1")


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (raw(200, "<html>oops</html>"), taxonomy.Retryable),
        (raw(200, '{"unexpected": true}', "application/json"), taxonomy.Retryable),
        (raw(200, "[1, 2]", "application/json"), taxonomy.Retryable),
        (raw(502, "bad gateway"), taxonomy.Retryable),
        (raw(404, "no such path"), taxonomy.AccountMisconfigured),
        (raw(429, "slow"), taxonomy.RateLimited),
        (failed(99_999_999, "新错误"), taxonomy.Retryable),
        (failed(2100005, "Parameter error"), taxonomy.ContentRejected),
        (failed(28001014), taxonomy.Unsupported),
        (failed(28001046), taxonomy.AccountMisconfigured),
        (failed(28001052), taxonomy.RateLimited),
        (failed(10010), taxonomy.AuthFailed),
    ],
)
def test_read_answers_map_to_the_taxonomy(reply, error):
    with pytest.raises(error) as caught:
        run({f"{V1}/video_data/": reply}, status_of)
    assert type(caught.value) is error


def test_garbage_answer_to_create_video_is_outcome_unknown(mp4):
    routes = {f"{V1}/upload_video/": UPLOADED, f"{V1}/create_video/": raw(200, "<html/>")}
    with pytest.raises(taxonomy.OutcomeUnknown):
        run(routes, publish(mp4))


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_error_on_create_video_is_outcome_unknown(mp4, status):
    routes = {f"{V1}/upload_video/": UPLOADED, f"{V1}/create_video/": raw(status, "gateway")}
    with pytest.raises(taxonomy.OutcomeUnknown):
        run(routes, publish(mp4))


def test_create_video_without_item_id_is_outcome_unknown(mp4):
    routes = {f"{V1}/upload_video/": UPLOADED, f"{V1}/create_video/": ok()}
    with pytest.raises(taxonomy.OutcomeUnknown):
        run(routes, publish(mp4))


def test_oversized_upload_is_content_rejected(mp4):
    routes = {f"{V1}/upload_video/": raw(413, "Request Entity Too Large")}
    with pytest.raises(taxonomy.ContentRejected) as caught:
        run(routes, publish(mp4))
    assert caught.value.code == 413


def test_upload_answer_without_video_id_is_retryable(mp4):
    routes = {f"{V1}/upload_video/": ok({"video": {}})}
    with pytest.raises(taxonomy.Retryable, match="video_id"):
        run(routes, publish(mp4))


def test_flat_err_no_envelope_is_understood():
    reply = raw(
        200,
        json.dumps({"err_no": 28003018, "err_msg": "too frequent", "log_id": "x"}),
        "application/json",
    )
    with pytest.raises(taxonomy.RateLimited) as caught:
        run({f"{V1}/video_data/": reply}, status_of)
    assert caught.value.code == 28003018


def test_error_only_in_extra_is_not_missed():
    body = {"data": {"error_code": 0}, "extra": {"error_code": 2100004, "description": "busy"}}
    with pytest.raises(taxonomy.Retryable) as caught:
        run({f"{V1}/video_data/": lambda: web.json_response(body)}, status_of)
    assert caught.value.code == 2100004


def test_garbage_refresh_answer_is_retryable():
    routes = {f"{V1}/video_data/": failed(2190008), "/oauth/refresh_token/": raw(200, "x")}
    with pytest.raises(taxonomy.Retryable):
        run(routes, status_of)


def test_token_refused_twice_is_auth_failed_after_one_refresh():
    refreshed = ok({"access_token": "act.new", "expires_in": 1_296_000, "refresh_token": "rft.x"})
    routes = {
        f"{V1}/video_data/": [failed(2190008), failed(2190008)],
        "/oauth/refresh_token/": [refreshed],
    }
    with pytest.raises(taxonomy.AuthFailed) as caught:
        run(routes, status_of)
    assert caught.value.code == 2190008


def test_refresh_answer_for_another_open_id_is_misconfigured():
    refreshed = ok({"access_token": "act.new", "expires_in": 1_296_000, "open_id": "other"})
    routes = {f"{V1}/video_data/": failed(28001008), "/oauth/refresh_token/": refreshed}
    with pytest.raises(taxonomy.AccountMisconfigured):
        run(routes, status_of)


def test_unknown_review_status_stays_pending():
    entry = {"item_id": "@abc+/==", "is_reviewed": True, "video_status": 7, "share_url": "u"}
    receipt = run({f"{V1}/video_data/": ok({"list": [entry]})}, status_of)
    assert receipt.state == "pending_review"
    assert receipt.url is None


def test_envelope_error_reads_all_three_shapes():
    assert envelope_error({"data": {"error_code": 0}, "extra": {"error_code": 0}})[0] == 0
    assert envelope_error(
        {
            "data": {"error_code": 2100005, "description": "Parameter error"},
            "extra": {"error_code": 2100005, "log_id": "L"},
        }
    ) == (2100005, "Parameter error", "L")
    assert envelope_error({"data": {"error_code": 10008}, "message": "error"})[0] == 10008
    assert envelope_error({"err_no": 0, "err_msg": "", "data": {}})[0] == 0
    assert envelope_error({"data": {"error_code": True}})[0] is None
    assert envelope_error({"something": "else"})[0] is None
