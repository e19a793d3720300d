"""Fixtures of the intake tests: the fan-out API rig (tests/fanout/support.py) on PostgreSQL,
with real Redis and the sandbox, and helpers to drive the sandbox's commenters."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from sandbox.chatter import ABUSIVE_TERMS
from tests.fanout.support import ApiRig
from tests.plugins.hub import database_url_for, make_hub

PUBLIC_URL = "http://127.0.0.1:8000"  # a host the sandbox's Weibo accepts in links


@pytest.fixture
def rig(request: pytest.FixtureRequest, redis_server_url: str, sandbox,
        tmp_path: Path) -> Iterator[ApiRig]:
    redis.Redis.from_url(redis_server_url).flushdb()
    hub = make_hub(database_url_for(request, "postgres", tmp_path), redis_server_url, tmp_path,
                   public_url=PUBLIC_URL, outbound_allow=sandbox.allow_entry)
    built = ApiRig(hub=hub, sandbox=sandbox)
    built.build_tree()
    r = hub.client.put("/api/v1/safety/terms", json={"version": 1, "terms": [
        {"term": term, "category": "defamation", "action": "block"} for term in ABUSIVE_TERMS]},
        headers={"Authorization": f"Bearer {hub.token}"})
    assert r.status_code == 200, r.json
    try:
        yield built
    finally:
        hub.runtime.close()


def chatter(sandbox, **settings) -> None:
    request = urllib.request.Request(f"{sandbox.url}/_sandbox/chatter",
                                     data=json.dumps(settings).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200


def generated(sandbox, platform: str) -> dict[str, list[dict]]:
    """Per post (platform remote id): the comments the sandbox made, number, kind and text."""
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/chatter/comments?platform={platform}") \
            as answer:
        return {p["remote_id"]: p["comments"] for p in json.load(answer)["posts"]}
