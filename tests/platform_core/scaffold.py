"""What the adapter tests share: a token cache in the real Redis that leaves no keys behind,
and a scripted aiohttp server on loopback."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.tokens import RedisTokenCache


async def remove_prefixed(client: aioredis.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)


@asynccontextmanager
async def redis_token_cache(redis_url: str, label: str) -> AsyncIterator[RedisTokenCache]:
    """A RedisTokenCache under a fresh prefix; every key under that prefix goes afterwards."""
    client = aioredis.from_url(redis_url)
    prefix = f"yunchu:test:{label}:{uuid.uuid4().hex}:"
    try:
        yield RedisTokenCache(client, prefix=prefix)
    finally:
        await remove_prefixed(client, prefix)
        await client.aclose()


@asynccontextmanager
async def scripted_server(app: web.Application) -> AsyncIterator[TestServer]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def base_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


@asynccontextmanager
async def answering(handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                    ) -> AsyncIterator[str]:
    """A loopback server that sends every request to ``handler``; yields its base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    async with scripted_server(app) as server:
        yield base_url(server)
