"""Helpers of the reach tests: accounts the rig has no builder for, a video item, and one
collection per platform run as a worker's job runs it, at the sandbox's time."""

from __future__ import annotations

import base64
import io
import secrets
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hub.fanout.executor import Executor
from hub.fanout.loop import LoopThread
from hub.models import Delivery
from hub.services.reach import runner

from .support import ApiRig

PLATFORMS = ("wechat", "weibo", "douyin", "cityapp")
CHINA = timezone(timedelta(hours=8))
FIGURES = ("reads", "likes", "shares", "comments", "plays")


def cityapp_account(rig: ApiRig, org: str) -> str:
    app = f"reach{secrets.token_hex(3)}"
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    rig.sandbox.register("cityapp", app, signing_secret=secret)
    r = rig.hub.post("/api/v1/accounts", {
        "org": org, "platform": "cityapp", "name": f"{org}-城市客户端",
        "credentials": {"webhook_url": f"{rig.sandbox.platform_url('cityapp')}/webhook/{app}",
                        "signing_secret": secret}})
    assert r.status_code == 201, r.json
    return r.json["id"]


def video_item(rig: ApiRig, org: str) -> str:
    """An approved video item (Douyin takes videos only)."""
    from tests.storage.samples import video

    r = rig.hub.client.post(
        "/api/v1/assets", content_type="multipart/form-data",
        data={"file": (io.BytesIO(video()), "clip.mp4")},
        headers={"Authorization": f"Bearer {rig.hub.token}"})
    assert r.status_code == 201, r.json
    r = rig.hub.post("/api/v1/items", {
        "org": org, "kind": "video", "title": f"防汛一线直击{next(rig.serial)}",
        "body": "<p>各地压实防汛责任。</p>", "summary": "防汛一线", "author": "王敏",
        "source": "云省日报", "cover": rig.cover(), "assets": [r.json["id"]]})
    assert r.status_code == 201, r.json
    return rig.approve(r.json["id"], "approved")


def sandbox_now(rig: ApiRig) -> datetime:
    return datetime.fromtimestamp(rig.sandbox.state.clock.now(), UTC)


def collect(rig: ApiRig, accounts: dict[str, str]) -> dict[str, Any]:
    """One collection per platform of ``accounts`` (platform -> account id), as a worker's job
    runs it, at the sandbox's time."""
    loop = LoopThread()
    executor = Executor(rig.hub.runtime, "reach-test")
    loop.run(executor.start())
    try:
        return {p: loop.run(runner.run(executor, p, [account], now=sandbox_now(rig)))
                for p, account in accounts.items()}
    finally:
        loop.run(executor.close())
        loop.stop()


def deliveries(rig: ApiRig, item: str) -> list[Delivery]:
    with rig.hub.runtime.db.session() as session:
        rows = list(session.query(Delivery).filter(Delivery.item_id == item))
        session.expunge_all()
    return rows


def published(rig: ApiRig, item: str) -> list[Delivery]:
    """The item's deliveries once all are published: WeChat's and Douyin's wait in review
    until the status poll, which a sweep starts for rows untouched for 10 s (made to look so)."""
    for _ in range(5):
        rows = deliveries(rig, item)
        if all(d.state == "published" for d in rows):
            return rows
        with rig.hub.runtime.db.session() as session:
            session.query(Delivery).filter(Delivery.item_id == item).update(
                {Delivery.updated_at: datetime.now(UTC) - timedelta(seconds=30)})
        rig.sandbox.advance_clock(5)  # past Douyin's review
        rig.sweep()
        rig.drain()
    raise AssertionError({d.platform: d.state for d in deliveries(rig, item)})
