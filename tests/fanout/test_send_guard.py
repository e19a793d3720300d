"""A worker whose alive key ran out (stopped, or cut off from Redis) may have lost its claims
to another worker: what it resumes must not go out, even once it beats again. Found by the
cluster rig (tests/rig): a WeChat publish SIGSTOPped between its draft and its submit was
re-driven, published by another worker, and then submitted again by the resumed one."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web

from adapters.base import OutcomeUnknown
from adapters.http import SEND_GUARD, call
from hub.fanout.heartbeat import Heartbeat
from hub.infra.config import Settings

ALIVE_S = 0.3


def test_a_lapse_voids_the_claims_made_before_it(redis_server_url: str) -> None:
    settings = Settings(redis_url=redis_server_url, worker_alive_s=ALIVE_S, lease_s=30)
    heartbeat = Heartbeat(SimpleNamespace(settings=settings), "test:1:guard")

    async def scenario() -> list[tuple[int, bool, bool]]:
        await heartbeat.start()
        seen = [(heartbeat.lapses, heartbeat.alive(), heartbeat.holds(0))]
        await asyncio.sleep(ALIVE_S * 2)  # beating on time: no lapse
        seen.append((heartbeat.lapses, heartbeat.alive(), heartbeat.holds(0)))
        time.sleep(ALIVE_S * 2)  # the whole loop stands still, as under SIGSTOP
        seen.append((heartbeat.lapses, heartbeat.alive(), heartbeat.holds(0)))
        await asyncio.sleep(ALIVE_S)  # it beats again
        seen.append((heartbeat.lapses, heartbeat.alive(), heartbeat.holds(0)))
        seen.append((heartbeat.lapses, heartbeat.alive(), heartbeat.holds(1)))
        await heartbeat.stop()
        return seen

    seen = asyncio.run(scenario())
    assert seen[0] == (0, True, True)
    assert seen[1] == (0, True, True)
    assert seen[2] == (0, False, False)  # the key may be gone: nothing goes out
    assert seen[3][0] == 1 and seen[3][1] is True  # alive again ...
    assert seen[3][2] is False  # ... but what was claimed before the gap is not its own
    assert seen[4] == (1, True, True)  # what it claims from now on is its own


@pytest.mark.parametrize("allowed", [True, False])
def test_a_guarded_call_is_not_sent_once_the_claim_may_be_lost(allowed: bool) -> None:
    hits: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"ok": True})

    async def scenario() -> int | None:
        app = web.Application()
        app.router.add_post("/publish", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with aiohttp.ClientSession() as session:
                SEND_GUARD.set(lambda: allowed)
                reply = await call(session, "POST", f"http://127.0.0.1:{port}/publish",
                                   platform="weibo", json={"text": "x"})
                return reply.status
        finally:
            await runner.cleanup()

    if allowed:
        assert asyncio.run(scenario()) == 200
        assert hits == ["/publish"]
    else:
        with pytest.raises(OutcomeUnknown):
            asyncio.run(scenario())
        assert hits == []  # refused before anything was sent
