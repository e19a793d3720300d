"""WeChatAdapter against a scripted HTTP server: exact wire format and odd answers.

The sandbox never sends garbage or HTML with HTTP 200, so those cases use a tiny scripted
aiohttp server on loopback instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web

from adapters import base as taxonomy
from adapters.tokens import RedisTokenCache
from adapters.wechat import WeChatAdapter, app_of, seconds_to_china_midnight
from tests.platform_core.scaffold import base_url, redis_token_cache, scripted_server
from tests.platforms.wechat.support import account_for, make_post

T = TypeVar("T")
Answer = Callable[[web.Request, bytes], Awaitable[web.StreamResponse] | web.StreamResponse]


def ok_json(payload: dict[str, Any]) -> Answer:
    return lambda request, body: web.json_response(payload)


def html_page(status: int = 200) -> Answer:
    page = "<html><body><h1>Welcome to nginx</h1></body></html>"
    return lambda request, body: web.Response(status=status, text=page, content_type="text/html")


DEFAULTS: dict[str, Answer] = {
    "material/add_material": ok_json({"media_id": "MID_cover", "url": "http://mmbiz.qpic.cn/c/0"}),
    "media/uploadimg": ok_json({"url": "http://mmbiz.qpic.cn/mmbiz_png/abc/0", "errcode": 0}),
    "draft/add": ok_json({"media_id": "MID_draft"}),
    "freepublish/submit": ok_json({"errcode": 0, "errmsg": "ok", "publish_id": "100000001"}),
    "freepublish/delete": ok_json({"errcode": 0, "errmsg": "ok"}),
}


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes


@dataclass
class Scripted:
    """Answers per path: a queue of scripted answers first, then DEFAULTS."""

    scripts: dict[str, list[Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    tokens_issued: int = 0
    on_business: Callable[[str], Awaitable[None]] | None = None

    def script(self, path: str, *answers: Answer) -> None:
        self.scripts.setdefault(path, []).extend(answers)

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/cgi-bin/{path:.+}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        body = await request.read()
        self.seen.append(Seen(path, dict(request.query), request.content_type, body))
        queued = self.scripts.get(path)
        if queued:
            answer = await maybe_await(queued.pop(0)(request, body))
            return answer
        if path == "stable_token":
            self.tokens_issued += 1
            return web.json_response(
                {"access_token": f"TOKEN{self.tokens_issued}", "expires_in": 7200}
            )
        if path not in DEFAULTS:
            return web.json_response({"errcode": -1, "errmsg": f"unscripted {path}"})
        return await maybe_await(DEFAULTS[path](request, body))


async def maybe_await(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) else value


def errcode(code: int) -> Answer:
    return ok_json({"errcode": code, "errmsg": f"scripted rid: 1-2-3 token=TOKEN1 code {code}"})


def run_scripted(
    redis_url: str,
    scripted: Scripted,
    scenario: Callable[[WeChatAdapter, Any, RedisTokenCache], Awaitable[T]],
) -> T:
    async def main() -> T:
        async with (scripted_server(scripted.app()) as server,
                    redis_token_cache(redis_url, "wire") as cache,
                    aiohttp.ClientSession() as session):
            account = account_for(base_url(server), "wx_wire")
            return await scenario(WeChatAdapter(session, cache), account, cache)

    return asyncio.run(main())


def raises(error_type: type[Exception], call: Callable[[WeChatAdapter, Any], Awaitable[Any]]):
    async def scenario(adapter: WeChatAdapter, account: Any, cache: RedisTokenCache):
        with pytest.raises(error_type) as caught:
            await call(adapter, account)
        return caught.value

    return scenario


def publish(adapter: WeChatAdapter, account: Any):
    return adapter.publish(account, make_post(), marker="dl_wire")


# ---------------------------------------------------------------- the wire format


def test_publish_sends_what_wechat_expects(redis_url):
    scripted = Scripted()

    async def scenario(adapter: WeChatAdapter, account: Any, cache: RedisTokenCache):
        return await publish(adapter, account)

    receipt = run_scripted(redis_url, scripted, scenario)
    assert receipt.remote_id == "100000001" and receipt.state == "pending_review"
    assert scripted.paths() == [
        "stable_token",
        "material/add_material",
        "media/uploadimg",
        "draft/add",
        "freepublish/submit",
    ]
    token_call, cover, inline, draft, submit = scripted.seen
    assert json.loads(token_call.body) == {
        "grant_type": "client_credential",
        "appid": "wx_wire",
        "secret": "s3cr3t",
    }  # normal mode: never force_refresh, which would cut off other workers
    assert cover.query == {"type": "image", "access_token": "TOKEN1"}
    assert cover.content_type == "multipart/form-data"
    assert b'name="media"; filename="cover.jpg"' in cover.body
    assert inline.query == {"access_token": "TOKEN1"}
    assert b'filename="img1.png"' in inline.body
    assert "市政府召开防汛工作会议".encode() in draft.body  # ensure_ascii=False
    assert b"\\u" not in draft.body
    [article] = json.loads(draft.body)["articles"]
    assert article["thumb_media_id"] == "MID_cover"
    assert article["content_source_url"] == "http://127.0.0.1:8000/p/it_flood?d=dl_wire"
    assert '<img src="http://mmbiz.qpic.cn/mmbiz_png/abc/0">' in article["content"]
    assert "{{media:" not in article["content"]
    assert json.loads(submit.body) == {"media_id": "MID_draft"}


def test_marker_replaces_an_existing_d_parameter(redis_url):
    scripted = Scripted()
    post = make_post(public_url="http://127.0.0.1:8000/p/it_flood?lang=zh&d=old")

    async def scenario(adapter: WeChatAdapter, account: Any, cache: RedisTokenCache):
        await adapter.publish(account, post, marker="dl_new")

    run_scripted(redis_url, scripted, scenario)
    [article] = json.loads(scripted.seen[3].body)["articles"]
    assert article["content_source_url"] == "http://127.0.0.1:8000/p/it_flood?lang=zh&d=dl_new"


# ---------------------------------------------------------------- odd answers


def test_html_with_http_200_before_anything_is_public_is_retryable(redis_url):
    scripted = Scripted()
    scripted.script("material/add_material", html_page())
    error = run_scripted(redis_url, scripted, raises(taxonomy.Retryable, publish))
    assert type(error) is taxonomy.Retryable
    assert "not a JSON object" in error.reason


def test_garbage_from_submit_is_outcome_unknown(redis_url):
    scripted = Scripted()
    scripted.script(
        "freepublish/submit", lambda request, body: web.Response(body=b"\x00\xffgarbage")
    )
    error = run_scripted(redis_url, scripted, raises(taxonomy.OutcomeUnknown, publish))
    assert error.sent is True


@pytest.mark.parametrize(("status", "error_type"), [(502, taxonomy.OutcomeUnknown), (503, taxonomy.Retryable)])
def test_gateway_errors_on_submit(redis_url, status, error_type):
    scripted = Scripted()
    scripted.script("freepublish/submit", html_page(status))
    error = run_scripted(redis_url, scripted, raises(error_type, publish))
    assert type(error) is error_type and error.code == status


def test_not_found_means_a_wrong_api_base(redis_url):
    scripted = Scripted()
    scripted.script("material/add_material", html_page(404))
    error = run_scripted(redis_url, scripted, raises(taxonomy.AccountMisconfigured, publish))
    assert error.code == 404


def test_garbage_from_the_token_endpoint_is_retryable(redis_url):
    scripted = Scripted()
    scripted.script("stable_token", lambda request, body: web.Response(text="oops"))
    error = run_scripted(redis_url, scripted, raises(taxonomy.Retryable, publish))
    assert type(error) is taxonomy.Retryable
    assert scripted.paths() == ["stable_token"]


def test_missing_credentials_fail_before_any_request(redis_url):
    scripted = Scripted()

    async def scenario(adapter: WeChatAdapter, account: Any, cache: RedisTokenCache):
        broken = replace(account, credentials={"appid": "wx_wire"})
        with pytest.raises(taxonomy.AccountMisconfigured):
            await adapter.publish(broken, make_post(), marker="dl")

    run_scripted(redis_url, scripted, scenario)
    assert scripted.seen == []


# ---------------------------------------------------------------- errcodes


def test_token_refused_twice_is_auth_failed_after_exactly_one_refresh(redis_url):
    scripted = Scripted()
    scripted.script("material/add_material", errcode(40014), errcode(42001))
    error = run_scripted(redis_url, scripted, raises(taxonomy.AuthFailed, publish))
    assert error.code == 42001
    assert scripted.paths() == [
        "stable_token",
        "material/add_material",
        "stable_token",
        "material/add_material",
    ]
    assert [seen.query["access_token"] for seen in scripted.seen[1::2]] == ["TOKEN1", "TOKEN2"]
    assert "TOKEN" not in str(error) and "rid" not in str(error)


def test_refresh_reuses_a_token_another_worker_already_fetched(redis_url):
    scripted = Scripted()

    async def scenario(adapter: WeChatAdapter, account: Any, cache: RedisTokenCache):
        await cache.set(app_of(account).token_key, "STALE", 3600)

        async def rejected_then_replaced(request: web.Request, body: bytes) -> web.Response:
            await cache.set(app_of(account).token_key, "FROM_OTHER_WORKER", 3600)
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})

        scripted.script("material/add_material", rejected_then_replaced)
        return await publish(adapter, account)

    run_scripted(redis_url, scripted, scenario)
    assert "stable_token" not in scripted.paths()
    assert [seen.query["access_token"] for seen in scripted.seen[:2]] == [
        "STALE",
        "FROM_OTHER_WORKER",
    ]


def test_daily_quota_waits_until_midnight_china_time(redis_url):
    scripted = Scripted()
    scripted.script("draft/add", errcode(45009))
    error = run_scripted(redis_url, scripted, raises(taxonomy.RateLimited, publish))
    assert error.code == 45009
    assert abs(error.retry_after - seconds_to_china_midnight()) < 5


def test_seconds_to_china_midnight():
    utc_midnight = 1_767_225_600  # 2026-01-01T00:00:00Z = 08:00 in China
    assert seconds_to_china_midnight(utc_midnight) == 16 * 3600


@pytest.mark.parametrize(("code", "error_type"), [(45166, taxonomy.ContentRejected), (12345, taxonomy.Retryable)])
def test_other_errcodes(redis_url, code, error_type):
    scripted = Scripted()
    scripted.script("draft/add", errcode(code))
    error = run_scripted(redis_url, scripted, raises(error_type, publish))
    assert type(error) is error_type and error.code == code


# ---------------------------------------------------------------- status answers


@pytest.mark.parametrize(
    ("answer", "state"),
    [
        ({"publish_id": 100000001, "publish_status": 3, "fail_idx": [1]}, "rejected"),
        ({"publish_id": "100000001", "publish_status": 1}, "pending_review"),
        ({"publish_id": 100000001, "publish_status": 6, "article_id": "A1"}, "deleted"),
    ],
)
def test_status_answers(redis_url, answer, state):
    scripted = Scripted()
    scripted.script("freepublish/get", ok_json(answer))

    async def scenario(adapter: WeChatAdapter, account: Any, cache: RedisTokenCache):
        return await adapter.status(account, "100000001")

    receipt = run_scripted(redis_url, scripted, scenario)
    assert receipt.state == state and receipt.remote_id == "100000001"
    assert json.loads(scripted.seen[-1].body) == {"publish_id": "100000001"}


def test_unknown_publish_status_is_retryable(redis_url):
    scripted = Scripted()
    scripted.script("freepublish/get", ok_json({"publish_id": 1, "publish_status": 9}))

    async def status(adapter: WeChatAdapter, account: Any):
        return await adapter.status(account, "1")

    run_scripted(redis_url, scripted, raises(taxonomy.Retryable, status))
