"""The component API client of this hub, in a worker (async) or a web request (sync)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from adapters.wechat_component import Component, ComponentClient, parse_codes, parse_funcsets

from . import tickets

if TYPE_CHECKING:
    from ...infra.config import Settings
    from ...infra.runtime import Runtime

T = TypeVar("T")


def component_of(settings: Settings) -> Component | None:
    """The hub's 第三方平台 identity, or None when it is not configured."""
    if not settings.wechat_component_appid:
        return None
    return Component(settings.wechat_component_appid, settings.wechat_component_secret,
                     settings.api_base("wechat").rstrip("/"))


def funcset_needs(settings: Settings) -> dict[str, tuple[int, ...]]:
    return parse_funcsets(settings.wechat_component_funcsets)


def revoked_codes(settings: Settings) -> frozenset[int]:
    return parse_codes(settings.wechat_component_revoked_codes)


def ticket_source(runtime: Runtime) -> Callable[[], Awaitable[str | None]]:
    def read() -> str | None:
        with runtime.db.session() as session:
            return tickets.load(session, runtime.box)

    async def ticket() -> str | None:
        return await asyncio.to_thread(read)

    return ticket


def client(runtime: Runtime, http: aiohttp.ClientSession, tokens: Any,
           timeout: aiohttp.ClientTimeout | None = None) -> ComponentClient | None:
    component = component_of(runtime.settings)
    if component is None:
        return None
    extra = {"timeout": timeout} if timeout is not None else {}
    made = ComponentClient(http, tokens, component, ticket_source(runtime), **extra)
    made.revoked_codes = revoked_codes(runtime.settings)
    return made


def run(runtime: Runtime, work: Callable[[ComponentClient], Awaitable[T]]) -> T:
    """Run ``work`` with a client from synchronous code (a web request)."""
    import redis.asyncio as aioredis

    from adapters.outbound import guarded_session
    from adapters.tokens import RedisTokenCache

    from ...security.outbound_policy import policy_for

    settings = runtime.settings

    async def go() -> T:
        redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=10)
        timeout = aiohttp.ClientTimeout(total=settings.http_timeout_s)
        try:
            async with guarded_session(policy_for(settings), limit=4) as http:
                made = client(runtime, http, RedisTokenCache(redis), timeout)
                if made is None:
                    raise NotConfigured()
                return await work(made)
        finally:
            await redis.aclose()

    return asyncio.run(go())


class NotConfigured(RuntimeError):
    """The hub has no 第三方平台 identity (YUNCHU_WECHAT_COMPONENT_APPID is empty)."""
