"""The sample city-app backend sends its readers' comments to the hub (docs/platforms/
cityapp.md, "Comments from the app").

An app registered with ``comments_url`` (the hub's ``/callbacks/cityapp/<account id>``) gets,
while the chatter (sandbox/chatter.py) makes comments, each new comment under each of its live
stories POSTed there as ``comment.created``, signed with the app's ``signing_secret`` the
Standard Webhooks way; a non-2xx answer is tried again (three tries), with the same
``webhook-id``. ``GET /cityapp/_sandbox/comments`` shows the answers.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.chatter import SimComment, chatter_of
from sandbox.core import SandboxState

TRIES = 3
TICK_S = 0.5


class CommentPusher:
    def __init__(self, state: SandboxState, keys_of, signature) -> None:
        self.state = state
        self._keys_of, self._signature = keys_of, signature
        self._task: asyncio.Task | None = None
        self._pushed: dict[str, int] = {}  # ledger id -> comments sent
        self.answers: list[dict[str, Any]] = []
        chatter_of(state).on_configure(self.start)
        state.on_reset(self.reset)

    def reset(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._pushed.clear()
        self.answers = []

    def start(self) -> None:
        if chatter_of(self.state).config.comments_per_day <= 0:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            while chatter_of(self.state).config.comments_per_day > 0:
                for app, data in self.state.accounts.registrations("cityapp"):
                    if data.get("comments_url") and data.get("signing_secret"):
                        await self._push_app(session, app, data)
                await asyncio.sleep(TICK_S)

    async def _push_app(self, session: aiohttp.ClientSession, app: str,
                        data: dict[str, Any]) -> None:
        for post in self.state.ledger.list("cityapp", app, "live"):
            comments = chatter_of(self.state).comments(post)
            done = self._pushed.get(post.remote_id, 0)
            for comment in comments[done:]:
                await self._send(session, app, data, post.extra["article_id"], comment)
                done += 1
                self._pushed[post.remote_id] = done

    async def _send(self, session: aiohttp.ClientSession, app: str, data: dict[str, Any],
                    article_id: str, comment: SimComment) -> None:
        msg_id = f"evt_c_{article_id}_{comment.number}"
        body = json.dumps({
            "type": "comment.created",
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": {"comment_id": f"{article_id}-c{comment.number}", "article_id": article_id,
                     "user_id": comment.user, "nickname": comment.name,
                     "content": comment.text,
                     "created_at": datetime.fromtimestamp(comment.at, UTC).isoformat()},
        }, ensure_ascii=False, separators=(",", ":")).encode()
        for attempt in range(1, TRIES + 1):
            timestamp = int(time.time())
            signed = " ".join("v1," + self._signature(key, msg_id, timestamp, body)
                              for key in self._keys_of(str(data["signing_secret"])))
            headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
                       "webhook-signature": signed, "Content-Type": "application/json"}
            try:
                async with session.post(str(data["comments_url"]), data=body,
                                        headers=headers) as answer:
                    await answer.read()
                    self.answers.append({"app": app, "attempt": attempt,
                                         "status": answer.status})
                    if answer.status < 300:
                        return
            except (aiohttp.ClientError, TimeoutError):
                self.answers.append({"app": app, "attempt": attempt, "status": None})

    async def report(self, request: web.Request) -> web.Response:
        return web.json_response({"pushed": sum(self._pushed.values()),
                                  "answers": self.answers[-200:]})
