"""A minimal emulated platform for testing the sandbox server itself (mounted only by tests)."""

from __future__ import annotations

from aiohttp import web

from sandbox.core import SandboxState, fingerprint, timeout_fault

PLATFORM = "echo"
GREETING_KEY = web.AppKey("echo_greeting", str)


def build_app(state: SandboxState) -> web.Application:
    async def publish(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        account = body["account"]
        status = state.accounts.check(PLATFORM, account, fingerprint(body["secret"]))
        if status != "ok":
            state.count_error(PLATFORM)
            return web.json_response({"errcode": 40001, "errmsg": status})
        fault = state.roll_fault(PLATFORM)
        if fault == "timeout":
            return await timeout_fault(state, PLATFORM)
        if fault == "http_5xx":
            state.count_error(PLATFORM)  # counted once even though the status is 5xx too
            return web.Response(status=503, text="busy")
        if fault is not None:
            state.count_error(PLATFORM)
            return web.json_response({"errcode": 45009, "errmsg": fault})
        post = state.ledger.create(
            PLATFORM,
            account,
            remote_id=state.ledger.new_id("e"),
            title=body["title"],
            text=body["text"],
        )
        return web.json_response({"errcode": 0, "id": post.remote_id})

    async def delete(request: web.Request) -> web.StreamResponse:
        deleted = state.ledger.delete(PLATFORM, request.match_info["remote_id"])
        return web.json_response({"errcode": 0, "deleted": deleted})

    async def missing(request: web.Request) -> web.StreamResponse:
        raise web.HTTPNotFound()

    async def ping(request: web.Request) -> web.StreamResponse:
        state.count_request(PLATFORM)  # a module counting too must not double the count
        return web.json_response({"pong": True})

    async def greeting(request: web.Request) -> web.StreamResponse:
        # Platform modules may keep things in their application and read them per request.
        return web.json_response({"greeting": request.app[GREETING_KEY],
                                  "name": request.match_info["name"]})

    @web.middleware
    async def stamp(request: web.Request, handler):  # a platform's own middleware
        response = await handler(request)
        response.headers["X-Echo-Middleware"] = "ran"
        return response

    app = web.Application(middlewares=[stamp])
    app[GREETING_KEY] = "你好"
    app.add_routes(
        [
            web.get("/greet/{name}", greeting),
            web.post("/posts", publish),
            web.post("/posts/{remote_id}/delete", delete),
            web.get("/missing", missing),
            web.get("/ping", ping),
        ]
    )
    return app
