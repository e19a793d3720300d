"""The notice board in the sandbox, mounted at ``/bulletin``: boards must be enrolled
(``POST /_sandbox/accounts/bulletin/<board>`` with their token) before they accept notices."""

from __future__ import annotations

from aiohttp import web

from sandbox.core import SandboxState

PLATFORM = "bulletin"


def build_app(state: SandboxState) -> web.Application:
    def authorised(request: web.Request, board: str) -> bool:
        enrolled = state.accounts.registered(PLATFORM, board) or {}
        return bool(enrolled) and request.headers.get("Authorization") == \
            f"Bearer {enrolled.get('token')}"

    def notice(post) -> dict:
        return {"id": post.remote_id, "board": post.account, "state": post.state,
                "marker": post.extra.get("marker")}

    async def publish(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if not authorised(request, body["board"]):
            return web.json_response({"error": "unauthorised"}, status=401)
        post = state.ledger.create(PLATFORM, body["board"], remote_id=state.ledger.new_id("n"),
                                   title=body["title"], text=body["text"],
                                   extra={"marker": body["marker"]})
        return web.json_response({"id": post.remote_id}, status=201)

    async def find(request: web.Request) -> web.StreamResponse:
        board = request.query.get("board", "")
        if not authorised(request, board):
            return web.json_response({"error": "unauthorised"}, status=401)
        posts = [notice(p) for p in state.ledger.list(platform=PLATFORM, account=board)
                 if p.extra.get("marker") == request.query.get("marker")]
        return web.json_response({"items": posts})

    def owned(request: web.Request):
        post = state.ledger.get(PLATFORM, request.match_info["id"])
        if post is None:
            return None, web.json_response({"error": "not_found"}, status=404)
        if not authorised(request, post.account):
            return None, web.json_response({"error": "unauthorised"}, status=401)
        return post, None

    async def show(request: web.Request) -> web.StreamResponse:
        post, refusal = owned(request)
        if refusal is not None:
            return refusal
        if not post.live:
            return web.json_response({"error": "not_found"}, status=404)
        return web.json_response(notice(post))

    async def delete(request: web.Request) -> web.StreamResponse:
        post, refusal = owned(request)
        if refusal is not None:
            return refusal
        if not state.ledger.delete(PLATFORM, post.remote_id):
            return web.json_response({"error": "not_found"}, status=404)
        return web.json_response({"deleted": True})

    app = web.Application()
    app.router.add_post("/notices", publish)
    app.router.add_get("/notices", find)
    app.router.add_get("/notices/{id}", show)
    app.router.add_delete("/notices/{id}", delete)
    return app
