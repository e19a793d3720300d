"""One account's cached token never reaches a call made for another account (real Redis).

The attack: county A's account has fetched a token, now cached in Redis. County B creates an
account naming A's appid (or A's Douyin client_key and open_id) with a wrong secret and an API
base pointing at a listener B controls. The worker must not send A's token there: it looks for
a token under B's own key, finds none, and asks the platform with B's (wrong) secret.

One aiohttp server plays both parts: ``/a`` is the platform as A's account reaches it, ``/b``
is B's listener, answering like the platform. Every request is recorded, headers and body too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web

from adapters.base import AccountRef, AuthFailed
from adapters.douyin import DouyinAdapter
from adapters.tokens import RedisTokenCache
from adapters.wechat import WeChatAdapter
from tests.platform_core.scaffold import base_url, redis_token_cache, scripted_server

T = TypeVar("T")
APPID, SECRET_A = "wx00000000000000aa", "secret-of-county-a-0123456789"
CLIENT_KEY, CLIENT_SECRET, OPEN_ID = "hub_app", "the-hub-apps-secret", "ou_county_a"
DOUYIN_A = {"access_token": "act.a.first", "refresh_token": "rft.a.first"}
FRESH_A = "act.a.refreshed-and-cached"


@dataclass
class Recorder:
    """The platform for ``/a`` and the listener for ``/b``: records, answers like the platform."""

    seen: dict[str, list[str]] = field(default_factory=lambda: {"a": [], "b": []})
    wechat_tokens: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tenant}/{path:.+}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        tenant, path = request.match_info["tenant"], request.match_info["path"]
        body = await request.text()
        self.seen[tenant].append(f"{request.path_qs} {dict(request.headers)} {body}")
        if path == "cgi-bin/stable_token":
            sent = await request.json()
            if (sent.get("appid"), sent.get("secret")) != (APPID, SECRET_A):
                return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
            self.wechat_tokens += 1
            return web.json_response({"access_token": "WECHAT-TOKEN-OF-A", "expires_in": 7200})
        if path.startswith("cgi-bin/"):
            if request.query.get("access_token") != "WECHAT-TOKEN-OF-A":
                return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
            return web.json_response({"errcode": 0, "publish_status": 1})
        if path == "oauth/refresh_token/":
            form = await request.post()
            if form.get("refresh_token") != DOUYIN_A["refresh_token"]:
                return douyin_error(10010)  # refresh token expired: authorise again
            return web.json_response({"data": {"error_code": 0, "access_token": FRESH_A,
                                               "expires_in": 1_296_000, "open_id": OPEN_ID}})
        if request.headers.get("access-token") != FRESH_A:
            return douyin_error(2190008)  # access token expired
        return web.json_response({"data": {"error_code": 0, "list": []}})


def douyin_error(code: int) -> web.Response:
    return web.json_response({"data": {"error_code": code, "description": "refused"}})


def run(redis_url: str, scenario: Callable[[str, aiohttp.ClientSession, RedisTokenCache],
                                           Awaitable[T]]) -> T:
    async def main() -> T:
        async with (scripted_server(RECORDER.app()) as server,
                    redis_token_cache(redis_url, "isolation") as cache,
                    aiohttp.ClientSession() as session):
            return await scenario(base_url(server), session, cache)

    return asyncio.run(main())


RECORDER = Recorder()


@pytest.fixture(autouse=True)
def fresh_recorder():
    RECORDER.seen = {"a": [], "b": []}
    RECORDER.wechat_tokens = 0


def wechat(base: str, tenant: str, secret: str) -> AccountRef:
    return AccountRef(id=f"acc_{tenant}", platform="wechat", api_base=f"{base}/{tenant}",
                      credentials={"appid": APPID, "secret": secret})


def douyin(base: str, tenant: str, tokens: dict[str, str]) -> AccountRef:
    return AccountRef(id=f"acc_{tenant}", platform="douyin", api_base=f"{base}/{tenant}",
                      credentials={"client_key": CLIENT_KEY, "client_secret": CLIENT_SECRET,
                                   "open_id": OPEN_ID, **tokens})


def test_a_wechat_account_with_anothers_appid_never_gets_its_cached_token(redis_url):
    async def scenario(base: str, session: aiohttp.ClientSession, cache: RedisTokenCache):
        county_a = wechat(base, "a", SECRET_A)
        # A second worker process: nothing shared with the first but Redis.
        first, second = WeChatAdapter(session, cache), WeChatAdapter(session, cache)
        assert (await first.status(county_a, "100")).state == "pending_review"
        impostor = wechat(base, "b", "a-wrong-secret-typed-by-county-b")
        with pytest.raises(AuthFailed):
            await second.status(impostor, "100")
        with pytest.raises(AuthFailed):  # and not from this process's memory either
            await first.status(impostor, "100")
        # A's own calls still find A's cached token.
        assert (await second.status(county_a, "100")).state == "pending_review"

    run(redis_url, scenario)
    assert RECORDER.wechat_tokens == 1  # A fetched once; the second worker reused it
    assert RECORDER.seen["b"], "the impostor's calls went to its own base"
    assert not [seen for seen in RECORDER.seen["b"] if "WECHAT-TOKEN-OF-A" in seen]


def test_a_wechat_account_at_another_api_base_does_not_share_the_token(redis_url):
    """Even the right secret does not carry a token cached for one base to another base."""

    async def scenario(base: str, session: aiohttp.ClientSession, cache: RedisTokenCache):
        adapter = WeChatAdapter(session, cache)
        await adapter.status(wechat(base, "a", SECRET_A), "100")
        await adapter.status(wechat(base, "b", SECRET_A), "100")

    run(redis_url, scenario)
    assert RECORDER.wechat_tokens == 2
    [fetch, call] = RECORDER.seen["b"]
    assert "/b/cgi-bin/stable_token" in fetch


def test_a_douyin_account_with_anothers_open_id_never_gets_its_cached_token(redis_url):
    async def scenario(base: str, session: aiohttp.ClientSession, cache: RedisTokenCache):
        adapter = DouyinAdapter(session, cache, clock=time.time)
        county_a = douyin(base, "a", DOUYIN_A)
        assert (await adapter.status(county_a, "item-1")).state == "deleted"  # refreshed, cached
        # County B knows the hub app's key and secret (it adds accounts too) and A's open_id.
        impostor = douyin(base, "b", {"access_token": "act.guess", "refresh_token": "rft.guess"})
        with pytest.raises(AuthFailed):
            await adapter.status(impostor, "item-1")

    run(redis_url, scenario)
    assert any(FRESH_A in seen for seen in RECORDER.seen["a"])
    assert RECORDER.seen["b"]
    assert not [seen for seen in RECORDER.seen["b"] if FRESH_A in seen]


def test_cache_keys_never_hold_the_secret(redis_url):
    async def scenario(base: str, session: aiohttp.ClientSession, cache: RedisTokenCache) -> Any:
        await WeChatAdapter(session, cache).status(wechat(base, "a", SECRET_A), "100")
        await DouyinAdapter(session, cache).status(douyin(base, "a", DOUYIN_A), "item-1")
        raw = cache._redis
        return [key.decode() async for key in raw.scan_iter(match=cache._prefix + "*")]

    keys = run(redis_url, scenario)
    assert len(keys) == 2
    for secret in (SECRET_A, CLIENT_SECRET, *DOUYIN_A.values()):
        assert not [key for key in keys if secret in key]
