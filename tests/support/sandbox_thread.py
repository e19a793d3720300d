"""Run a sandbox in a background thread on a free loopback port (tests, demos, notebooks).

    with running_sandbox(latency_ms=5) as sb:
        sb.url            # "http://127.0.0.1:54321"
        sb.config(faults={"http_5xx": 0.2})
        sb.posts(platform="weibo", state="live")

The control helpers go over HTTP, so they run on the server's own event loop; ``.state`` is the
live ``SandboxState`` for direct reads (and clock moves) from the test thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from aiohttp import web

from sandbox.core import FAULT_KINDS, SandboxConfig, SandboxState
from sandbox.server import build_app

T = TypeVar("T")


class RunningSandbox:
    """Handle on a sandbox server running in a background thread."""

    def __init__(self, url: str, state: SandboxState, loop: asyncio.AbstractEventLoop) -> None:
        self.url = url
        self.state = state
        self._loop = loop

    def __repr__(self) -> str:
        return f"RunningSandbox({self.url!r}, platforms={self.state.platforms!r})"

    @property
    def allow_entry(self) -> str:
        """``host:port``: what YUNCHU_OUTBOUND_ALLOW must name for the hub to call this sandbox."""
        return urllib.parse.urlsplit(self.url).netloc

    def platform_url(self, platform: str) -> str:
        """The ``api_base`` an account uses to talk to one emulated platform."""
        return f"{self.url}/{platform}"

    def call_in_server(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` on the server's event loop and return its result.

        Reading ``.state`` from the test thread is fine; changing it while requests are in flight
        (e.g. creating ledger posts during a fan-out) should go through here.
        """

        async def invoke() -> T:
            return function(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(timeout=30)

    def config(self, **changes: Any) -> dict[str, Any]:
        """Change latency, jitter, fault probabilities or timeout_s at run time."""
        return self._call("POST", "/_sandbox/config", changes)

    def posts(
        self,
        platform: str | None = None,
        account: str | None = None,
        state: str | None = None,
    ) -> list[dict[str, Any]]:
        filters = {"platform": platform, "account": account, "state": state}
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        return self._call("GET", f"/_sandbox/posts?{query}")["items"]

    def stats(self) -> dict[str, dict[str, int]]:
        return self._call("GET", "/_sandbox/stats")

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset", {})

    def advance_clock(self, seconds: float) -> float:
        return self._call("POST", "/_sandbox/clock/advance", {"seconds": seconds})["now"]

    def revoke(self, platform: str, account: str) -> None:
        self._call("POST", f"/_sandbox/accounts/{platform}/{account}/revoke", {})

    def register(self, platform: str, account: str, **data: Any) -> None:
        self._call("POST", f"/_sandbox/accounts/{platform}/{account}", data)

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        body = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        request = urllib.request.Request(
            self.url + path,
            data=body,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())


@contextlib.contextmanager
def running_sandbox(
    *,
    latency_ms: float = 0.0,
    jitter_ms: float = 0.0,
    faults: dict[str, float] | None = None,
    timeout_s: float = 30.0,
    platforms: Iterable[str] | None = None,
    modules: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
) -> Iterator[RunningSandbox]:
    """Start a sandbox server in a daemon thread; stop it on exit."""
    config = SandboxConfig(latency_ms=latency_ms, jitter_ms=jitter_ms, timeout_s=timeout_s)
    config.update({"faults": {kind: 0.0 for kind in FAULT_KINDS} | (faults or {})})
    state = SandboxState(config)
    app = build_app(state, platforms=platforms, modules=modules)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    started = threading.Event()
    failure: list[BaseException] = []
    port: list[int] = []

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, host, 0)
        await site.start()
        port.append(runner.addresses[0][1])

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # reported to the starting thread
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        # Handlers still stalling (timeout faults, long latency) outlive the runner's cleanup.
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=serve, name="sandbox-server", daemon=True)
    thread.start()
    started.wait(timeout=30)
    if failure:
        raise failure[0]
    if not port:
        raise RuntimeError("sandbox server did not start within 30 s")
    try:
        yield RunningSandbox(f"http://{host}:{port[0]}", state, loop)
    finally:
        # Clean up on the server's loop so pending handlers are cancelled, not destroyed.
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
