"""The sandbox web server: every emulated platform under ``/<p>`` plus the ``/_sandbox/`` control API.

Platform modules are looked up by name, so a platform whose module does not exist (yet) is simply
not mounted; a module that exists but fails to import is an error.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date
from typing import Any

from aiohttp import web

from hub.infra.eventloop import new_event_loop
from hub.infra.gctune import SANDBOX_YOUNG_THRESHOLD, tune_gc
from hub.platforms import specs as platform_specs
from sandbox.chatter import routes as chatter_routes
from sandbox.core import SandboxConfig, SandboxState
from sandbox.reach import ReachModel, seed_history
from sandbox.replies import routes as reply_routes

log = logging.getLogger(__name__)


def platform_modules() -> dict[str, str]:
    """Each platform's emulator module, from the platforms' specs (``hub/platforms.py``)."""
    return {name: spec.emulator for name, spec in platform_specs().items() if spec.emulator}


STATE_KEY = web.AppKey("sandbox_state", SandboxState)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def available_platforms(
    names: Iterable[str] | None = None, *, modules: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The importable platform modules among ``names`` (default: all known), by platform.

    ``modules`` maps platform name to module name (default ``platform_modules()``).
    """
    registry = platform_modules() if modules is None else modules
    found: dict[str, Any] = {}
    for platform in names if names is not None else registry:
        module_name = registry[platform]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found[platform] = module
    return found


def build_app(
    state: SandboxState | None = None,
    *,
    platforms: Iterable[str] | None = None,
    modules: Mapping[str, str] | None = None,
) -> web.Application:
    """All available platforms plus the control API, sharing one ``SandboxState``.

    ``platforms`` limits which platforms are mounted; ``modules`` replaces the registry.
    """
    mounted = available_platforms(platforms, modules=modules)
    if state is None:
        state = SandboxState()
    state.platforms = list(mounted)
    app = web.Application(middlewares=[_platform_middleware(state)])
    app[STATE_KEY] = state
    app.add_routes(_control_routes(state))
    app.add_routes(chatter_routes(state))
    app.add_routes(reply_routes(state))
    for platform, module in mounted.items():
        _mount(app, f"/{platform}", module.build_app(state))
    return app


def _mount(app: web.Application, prefix: str, platform_app: web.Application) -> None:
    """Serve ``platform_app``'s routes from ``app`` under ``prefix``, its middlewares around
    each handler and its keys in ``app``: one router lookup per request. As a sub-application
    (two lookups and a middleware wrapper per request) it was ~15 % of the sandbox's CPU in a
    fan-out. The sub-application's ``client_max_size`` never applied there either: requests
    are made by the root application."""
    for key, value in platform_app.items():
        if key in app:
            raise ValueError(f"sandbox platforms share the application key {key!r}")
        app[key] = value
    for resource in platform_app.router.resources():
        info = resource.get_info()
        if "path" not in info and "formatter" not in info:
            raise ValueError(f"cannot mount {resource!r} under {prefix}")
        for route in resource:
            handler = route.handler
            for middleware in reversed(platform_app.middlewares):
                handler = _wrapped(middleware, handler)
            app.router.add_route(route.method, prefix + resource.canonical, handler)


def _wrapped(middleware: Callable[[web.Request, Handler], Awaitable[web.StreamResponse]],
             handler: Handler) -> Handler:
    async def run(request: web.Request) -> web.StreamResponse:
        return await middleware(request, handler)

    return run


def _platform_middleware(state: SandboxState) -> Callable[[web.Request, Handler], Awaitable]:
    platforms = frozenset(state.platforms)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        platform = request.path.split("/", 2)[1]
        if platform not in platforms:
            return await handler(request)
        mark = state.begin_request(platform)
        try:
            delay = state.latency_s()
            if delay:
                await asyncio.sleep(delay)
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                state.end_request(mark, exc.status)
                raise
            except Exception:
                state.end_request(mark, 500)
                raise
            state.end_request(mark, response.status)
            return response
        finally:
            state.leave_request()

    return middleware


# ---------------------------------------------------------------- control API


def _control_routes(state: SandboxState) -> list[web.RouteDef]:
    routes = web.RouteTableDef()

    @routes.get("/_sandbox/")
    async def index(request: web.Request) -> web.Response:
        return _json({"platforms": state.platforms, "now": state.clock.now()})

    @routes.get("/_sandbox/posts")
    async def posts(request: web.Request) -> web.Response:
        query = request.query
        post_state = query.get("state") or None
        if post_state not in (None, "live", "deleted"):
            raise _bad_request("state 只能是 live 或 deleted (state must be live or deleted)")
        items = state.ledger.list(
            platform=query.get("platform") or None,
            account=query.get("account") or None,
            state=post_state,  # type: ignore[arg-type]
        )
        return _json({"items": [post.as_dict() for post in items], "total": len(items)})

    @routes.get("/_sandbox/stats")
    async def stats(request: web.Request) -> web.Response:
        return _json(state.stats())

    @routes.get("/_sandbox/config")
    async def get_config(request: web.Request) -> web.Response:
        return _json(state.config.as_dict())

    @routes.post("/_sandbox/config")
    async def set_config(request: web.Request) -> web.Response:
        changes = await _json_body(request)
        try:
            state.config.update(changes)
        except ValueError as exc:
            raise _bad_request(str(exc)) from None
        return _json(state.config.as_dict())

    @routes.post("/_sandbox/reset")
    async def reset(request: web.Request) -> web.Response:
        state.reset()
        return _json({"ok": True})

    @routes.post("/_sandbox/clock/advance")
    async def advance_clock(request: web.Request) -> web.Response:
        seconds = (await _json_body(request)).get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise _bad_request("seconds 必须是数字 (seconds must be a number)")
        try:
            now = state.clock.advance(seconds)
        except ValueError as exc:
            raise _bad_request(str(exc)) from None
        return _json({"now": now})

    reach = ReachModel(state)

    @routes.get("/_sandbox/reach/posts/{platform}")
    async def reach_post(request: web.Request) -> web.Response:
        """One post's figures: running totals now and what it gained each day
        (``?remote_id=``: Douyin's and the city app's ids hold ``/`` and ``+``)."""
        post = state.ledger.get(request.match_info["platform"],
                                request.query.get("remote_id", ""))
        if post is None:
            raise web.HTTPNotFound(text=json.dumps({"error": "no such post"}),
                                   content_type="application/json")
        return _json({**post.as_dict(), "total": reach.total(post).as_dict(),
                      "days": reach.days(post)})

    @routes.get("/_sandbox/reach/accounts/{platform}/{account}")
    async def reach_account(request: web.Request) -> web.Response:
        try:
            day = date.fromisoformat(request.query.get("day", ""))
        except ValueError:
            raise _bad_request("day 须为 YYYY-MM-DD (day must be YYYY-MM-DD)") from None
        return _json(reach.account_day(request.match_info["platform"],
                                       request.match_info["account"], day))

    @routes.post("/_sandbox/reach/outside/{platform}/{account}")
    async def outside_post(request: web.Request) -> web.Response:
        poster = state.outside_posters.get(request.match_info["platform"])
        if poster is None:
            raise _bad_request("该平台不能模拟站外发布 (no outside posts on this platform)")
        title = str((await _json_body(request)).get("title") or "站外发布")
        post = poster(request.match_info["account"], title)
        return _json(post.as_dict())

    @routes.post("/_sandbox/reach/history")
    async def reach_history(request: web.Request) -> web.Response:
        """``{platform, accounts, days, per_day}``: a past of outside posts (benchmarks)."""
        body = await _json_body(request)
        platform, accounts = body.get("platform"), body.get("accounts")
        days, per_day = body.get("days", 30), body.get("per_day", 5)
        if platform not in state.outside_posters or not isinstance(accounts, list) or not all(
                isinstance(n, int) and 0 <= n <= 400 for n in (days, per_day)):
            raise _bad_request("platform, accounts, days (0-400), per_day (0-400)")
        made = seed_history(state, platform, [str(a) for a in accounts], days=days,
                            per_day=per_day)
        return _json({"created": made})

    @routes.post("/_sandbox/accounts/{platform}/{account}/revoke")
    async def revoke(request: web.Request) -> web.Response:
        state.accounts.revoke(request.match_info["platform"], request.match_info["account"])
        return _json({"ok": True})

    @routes.post("/_sandbox/accounts/{platform}/{account}")
    async def register(request: web.Request) -> web.Response:
        data = await _json_body(request)
        state.accounts.register(request.match_info["platform"], request.match_info["account"], data)
        return _json({"ok": True})

    return list(routes)


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(payload, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def _bad_request(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": reason}, ensure_ascii=False),
        content_type="application/json",
    )


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json(loads=json.loads)
    except ValueError:
        raise _bad_request("请求体不是合法JSON (body is not valid JSON)") from None
    if not isinstance(data, dict):
        raise _bad_request("请求体必须是JSON对象 (body must be a JSON object)")
    return data


# ---------------------------------------------------------------- entry point


def run(
    host: str = "127.0.0.1",
    port: int = 8900,
    latency_ms: float = 0.0,
    jitter_ms: float = 0.0,
    *,
    timeout_s: float = 30.0,
) -> None:
    """Serve the sandbox until interrupted (``yunchu sandbox`` / ``python -m sandbox``)."""
    config = SandboxConfig(latency_ms=latency_ms, jitter_ms=jitter_ms, timeout_s=timeout_s)
    app = build_app(SandboxState(config))
    log.info("sandbox platforms: %s", ", ".join(app[STATE_KEY].platforms) or "(none)")
    tune_gc(SANDBOX_YOUNG_THRESHOLD)
    # A fan-out opens hundreds of connections at once: a deeper accept backlog than the default.
    web.run_app(
        app,
        host=host,
        port=port,
        access_log=None,
        print=None,
        shutdown_timeout=1.0,
        backlog=1024,
        loop=new_event_loop(),
    )
