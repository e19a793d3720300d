"""The sample city-app backend: a Standard Webhooks receiver
(docs/platforms/cityapp.md).

Routes (mounted at ``/cityapp``):

- ``POST /webhook/<app>``: verify the signature over the raw body with the secret registered by
  ``POST /_sandbox/accounts/cityapp/<app>``, 300 s timestamp tolerance, dedupe on
  ``webhook-id``, per-article revision ordering; live stories are recorded in the ledger.
- ``GET /webhook/<app>/stories?delivery_id=`` and ``GET /webhook/<app>/stories/<article_id>``:
  the story listing the adapter's status/lookup use. This is the sample backend's extension
  of the contract, signed like a webhook with an empty body.
- ``GET /webhook/<app>/stats?day=``: each story's figures gained that day and the app's
  subscribers (``sandbox.reach``), signed the same way: the reach collector reads it.
- ``GET /share/<app>/<article_id>``: the story's public page (its ``app_url``).

Status codes: unregistered app 404 (``unknown_app``); missing headers or a stale timestamp
400; bad signature 401; valid signature but an event without the required fields 422; body
over 256 KB 413; an event older than the stored revision 409 (the sender treats it as done).

Time: webhook timestamps are wall-clock Unix seconds, so the tolerance is checked against
``state.clock.now()``, which is wall-clock time plus whatever a test advanced it by.

A ``timeout`` fault stalls *after* the event was applied: the request reached the app but the
answer never comes back, which is the case lookups and dedupe exist for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiohttp import web

from sandbox.core import SandboxState, shared, timeout_fault
from sandbox.reach import ReachModel, china_day

PLATFORM = "cityapp"
MAX_BODY_BYTES = 256 * 1024
TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"
PUBLISH_TYPES = ("article.published", "article.updated")
WITHDRAW_TYPE = "article.withdrawn"
REQUIRED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


@dataclass(slots=True)
class Story:
    app: str
    article_id: str
    revision: int
    state: str  # live | withdrawn
    title: str = ""
    app_url: str = ""
    delivery_ids: list[str] = field(default_factory=list)

    @property
    def app_item_id(self) -> str:
        return f"{self.app}/{self.article_id}"

    @property
    def ledger_id(self) -> str:
        """One ledger post per live revision: an update replaces the post."""
        return f"{self.app_item_id}@{self.revision}"

    def as_json(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "revision": self.revision,
            "state": self.state,
            "title": self.title,
            "app_item_id": self.app_item_id,
            "app_url": self.app_url or None,
            "delivery_id": self.delivery_ids[-1] if self.delivery_ids else None,
            "delivery_ids": list(self.delivery_ids),
        }


@dataclass(slots=True)
class AppData:
    """One app's receiver memory: processed webhook ids and its stories."""

    seen: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    stories: dict[str, Story] = field(default_factory=dict)


class Receiver:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.apps: dict[str, AppData] = {}
        self._ledger = state.ledger

    # ------------------------------------------------------------ handlers

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        app = request.match_info["app"]
        body = await read_body(request)
        if body is None:
            return error(413, "payload_too_large", "body over 256 KB")
        denied = self.authenticate(request, app, body)
        if denied is not None:
            return denied
        fault = self.state.roll_fault(PLATFORM)
        if fault is not None and fault != "timeout":
            return fault_response(fault)
        status, answer = self.receive(request, app, request.headers["webhook-id"], body)
        if fault == "timeout":
            return await timeout_fault(self.state, PLATFORM)
        return web.json_response(answer, status=status)

    async def list_stories(self, request: web.Request) -> web.StreamResponse:
        app = request.match_info["app"]
        denied = self.authenticate(request, app, b"") or self.query_fault()
        if denied is not None:
            return denied
        stories = self.data(app).stories.values()
        delivery_id = request.query.get("delivery_id")
        if delivery_id:
            stories = [story for story in stories if delivery_id in story.delivery_ids]
        return web.json_response({"items": [story.as_json() for story in stories]})

    async def get_story(self, request: web.Request) -> web.StreamResponse:
        app = request.match_info["app"]
        denied = self.authenticate(request, app, b"") or self.query_fault()
        if denied is not None:
            return denied
        story = self.data(app).stories.get(request.match_info["article_id"])
        if story is None:
            return error(404, "story_not_found", "no such story")
        return web.json_response(story.as_json())

    async def stats(self, request: web.Request) -> web.StreamResponse:
        """``GET /webhook/<app>/stats?day=YYYY-MM-DD``: what each story gained that day (China
        time) and the app's subscriber figures; ``final`` is false while the day runs."""
        app = request.match_info["app"]
        denied = self.authenticate(request, app, b"") or self.query_fault()
        if denied is not None:
            return denied
        try:
            day = date.fromisoformat(request.query.get("day", ""))
        except ValueError:
            return error(400, "bad_day", "day must be YYYY-MM-DD")
        today = china_day(self.state.clock.now())
        if day > today:
            return error(400, "bad_day", "day is in the future")
        reach = ReachModel(self.state)
        stories = []
        for post in self.state.ledger.list(PLATFORM, app):
            gained = reach.on_day(post, day)
            if gained:
                article_id, _, revision = post.remote_id.removeprefix(app + "/").rpartition("@")
                stories.append({"article_id": article_id, "revision": int(revision),
                                **gained.as_dict()})
        account = reach.follower_day(PLATFORM, app, day)
        return web.json_response({
            "day": day.isoformat(), "final": day < today, "stories": stories,
            "account": {name: account[name]
                        for name in ("followers", "followers_gained", "followers_lost")}})

    async def share_page(self, request: web.Request) -> web.StreamResponse:
        story = self.data(request.match_info["app"]).stories.get(request.match_info["article_id"])
        if story is None or story.state != "live":
            return web.Response(status=404, text="not found")
        title = html.escape(story.title)
        page = f"<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>"
        return web.Response(text=page, content_type="text/html")

    # ------------------------------------------------------------ checks

    def authenticate(self, request: web.Request, app: str, body: bytes) -> web.Response | None:
        """None when the request is signed by the app's registered secret; else the answer.

        Error answers are counted by the server middleware (any status >= 400).
        """
        registration = self.state.accounts.registered(PLATFORM, app)
        secret = (registration or {}).get("signing_secret")
        if not isinstance(secret, str):
            return error(404, "unknown_app", "no such app")
        if any(not request.headers.get(name) for name in REQUIRED_HEADERS):
            return error(400, "missing_headers", "webhook headers missing")
        msg_id = request.headers["webhook-id"]
        try:
            timestamp = int(request.headers["webhook-timestamp"])
        except ValueError:
            return error(400, "bad_timestamp", "webhook-timestamp is not an integer")
        if abs(self.state.clock.now() - timestamp) > TOLERANCE_S:
            return error(400, "stale_timestamp", "timestamp outside tolerance")
        expected = [signature(key, msg_id, timestamp, body) for key in secret_keys(secret)]
        offered = request.headers["webhook-signature"].split()
        if not any(
            hmac.compare_digest(entry.encode(), f"v1,{good}".encode())
            for entry in offered
            for good in expected
        ):
            return error(401, "bad_signature", "no matching signature")
        return None

    def query_fault(self) -> web.Response | None:
        fault = self.state.roll_fault(PLATFORM)
        return fault_response(fault) if fault is not None else None

    # ------------------------------------------------------------ events

    def receive(
        self, request: web.Request, app: str, msg_id: str, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        data = self.data(app)
        if msg_id in data.seen:
            return data.seen[msg_id]  # a replay: the original answer, nothing reprocessed
        event = parse_event(body)
        if event is None:
            return 422, {"error": {"code": "bad_event", "message": "not a valid event"}}
        event_type, payload = event
        if event_type in PUBLISH_TYPES:
            result = self.publish(request, app, payload)
        elif event_type == WITHDRAW_TYPE:
            result = self.withdraw(app, payload)
        else:
            result = (200, {"status": "ignored"})
        if isinstance(result, tuple):
            data.seen[msg_id] = result
            return result
        return 422, {"error": {"code": "bad_event", "message": result}}

    def publish(
        self, request: web.Request, app: str, payload: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | str:
        article_id, revision = payload.get("article_id"), payload.get("revision")
        title, summary = payload.get("title"), payload.get("summary") or ""
        if not isinstance(article_id, str) or not article_id or not isinstance(revision, int):
            return "article_id and revision are required"
        if not isinstance(title, str) or not title or not isinstance(summary, str):
            return "title is required"
        title = shared(title)
        stories = self.data(app).stories
        story = stories.get(article_id)
        if story is not None and (
            revision < story.revision or (revision == story.revision and story.state != "live")
        ):
            return 409, conflict(story)
        delivery_id = payload.get("delivery_id")
        if story is not None and revision == story.revision:
            remember_delivery(story, delivery_id)
            return 200, accepted(story)
        if story is not None and story.state == "live":
            self.state.ledger.delete(PLATFORM, story.ledger_id)
        story = Story(
            app=app,
            article_id=article_id,
            revision=revision,
            state="live",
            title=title,
            app_url=share_url(request, app, article_id),
            delivery_ids=story.delivery_ids if story is not None else [],
        )
        remember_delivery(story, delivery_id)
        stories[article_id] = story
        self.state.ledger.create(
            PLATFORM,
            app,
            remote_id=story.ledger_id,
            title=title,
            text=summary,
            extra={"article_id": article_id, "revision": revision, "delivery_id": delivery_id},
        )
        return 200, accepted(story)

    def withdraw(self, app: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]] | str:
        article_id, revision = payload.get("article_id"), payload.get("revision")
        if not isinstance(article_id, str) or not article_id or not isinstance(revision, int):
            return "article_id and revision are required"
        stories = self.data(app).stories
        story = stories.get(article_id)
        if story is not None and revision < story.revision:
            return 409, conflict(story)
        if story is None:
            # Never seen: remember the tombstone so a late publish of this revision is ignored.
            story = stories[article_id] = Story(app, article_id, revision, "withdrawn")
        elif story.state == "live":
            self.state.ledger.delete(PLATFORM, story.ledger_id)
        story.state, story.revision = "withdrawn", revision
        return 200, {"status": "accepted", "state": "withdrawn", "app_item_id": story.app_item_id}

    def data(self, app: str) -> AppData:
        if self._ledger is not self.state.ledger:
            # POST /_sandbox/reset swapped the ledger: forget stories and seen ids with it.
            self.apps.clear()
            self._ledger = self.state.ledger
        return self.apps.setdefault(app, AppData())


# ---------------------------------------------------------------- helpers


def build_app(state: SandboxState) -> web.Application:
    from sandbox.cityapp_comments import CommentPusher

    receiver = Receiver(state)
    comments = CommentPusher(state, secret_keys, signature)
    app = web.Application()
    app.add_routes(
        [
            web.get("/_sandbox/comments", comments.report),
            web.post("/webhook/{app}", receiver.webhook),
            web.get("/webhook/{app}/stories", receiver.list_stories),
            web.get("/webhook/{app}/stats", receiver.stats),
            web.get("/webhook/{app}/stories/{article_id}", receiver.get_story),
            web.get("/share/{app}/{article_id}", receiver.share_page),
        ]
    )
    return app


def secret_keys(secret: str) -> list[bytes]:
    """HMAC keys of a registered secret (two space-separated secrets during rotation)."""
    keys = []
    for part in secret.split():
        encoded = part.removeprefix(SECRET_PREFIX)
        try:
            keys.append(base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True))
        except (binascii.Error, ValueError):
            continue
    return keys


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def parse_event(body: bytes) -> tuple[str, dict[str, Any]] | None:
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(event, dict):
        return None
    event_type, payload = event.get("type"), event.get("data")
    if not isinstance(event_type, str) or not isinstance(payload, dict):
        return None
    return event_type, payload


def remember_delivery(story: Story, delivery_id: Any) -> None:
    if isinstance(delivery_id, str) and delivery_id and delivery_id not in story.delivery_ids:
        story.delivery_ids.append(delivery_id)


def share_url(request: web.Request, app: str, article_id: str) -> str:
    """The share page under wherever this app is mounted (``/cityapp`` in the server)."""
    mount = request.path[: -len(f"/webhook/{app}")]
    return str(request.url.with_path(f"{mount}/share/{app}/{article_id}").with_query(None))


def accepted(story: Story) -> dict[str, Any]:
    return {
        "status": "accepted",
        "app_item_id": story.app_item_id,
        "app_url": story.app_url,
        "revision": story.revision,
    }


def conflict(story: Story) -> dict[str, Any]:
    return {
        "error": {"code": "revision_conflict", "message": "a newer revision is stored"},
        "revision": story.revision,
        "state": story.state,
    }


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def fault_response(fault: str) -> web.Response:
    if fault == "rate_limit":
        response = error(429, "rate_limited", "slow down")
        response.headers["Retry-After"] = "1"
        return response
    if fault == "busy":
        response = error(503, "busy", "try again later")
        response.headers["Retry-After"] = "1"
        return response
    return error(500, "internal", "internal error")


async def read_body(request: web.Request) -> bytes | None:
    """The raw body, or None when it is over the limit (the server's own cap is larger)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return None
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return None
    return body if len(body) <= MAX_BODY_BYTES else None
