"""Concurrent writers keep one intact audit chain on both databases (appends are serialised);
anonymous denials are counted, not written one entry each; concurrent approvals of one stage
let exactly one reviewer through."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from hub.models import AuditEntry
from hub.security.audit import verify
from hub.security.audit_denials import WINDOW_S, _iso, denial_counter
from tests.hub.helpers import make_tree

from .support import create_item, make_user, newsroom, submit

THREADS = 8


def _in_parallel(hub, calls: list[tuple[str, str, dict | None, str]]) -> list[int]:
    """Each call (method, path, json, token) from its own client, many at once."""
    def one(call: tuple[str, str, dict | None, str]) -> int:
        method, path, body, token = call
        client = hub.app.test_client()
        return client.open(path, method=method, json=body,
                           headers={"Authorization": f"Bearer {token}"}).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, calls))


def _denials(hub) -> list[AuditEntry]:
    with hub.runtime.db.session() as session:
        return list(session.execute(select(AuditEntry).where(
            AuditEntry.action == "access.denied").order_by(AuditEntry.id)).scalars())


def _intact(hub) -> None:
    with hub.runtime.db.session() as session:
        assert verify(session) == (True, [])


def test_concurrent_writers_keep_the_chain_intact(hub):
    make_tree(hub)
    calls = [("POST", "/api/v1/orgs", {"slug": f"w{n}", "name": "部门", "kind": "department",
                                       "parent": "c1"}, hub.token) for n in range(32)]
    assert _in_parallel(hub, calls) == [201] * 32
    _intact(hub)


def test_concurrent_denials_of_known_callers_keep_the_chain_intact(hub):
    make_tree(hub)
    editor = make_user(hub, "editor", ["editor"])["token"]
    calls = [("POST", "/api/v1/orgs", {"slug": f"x{n}", "name": "部门", "kind": "department",
                                       "parent": "c1"}, editor) for n in range(32)]
    assert _in_parallel(hub, calls) == [403] * 32
    assert len(_denials(hub)) == 32  # a known caller's denial is still one entry each
    _intact(hub)


def test_an_anonymous_flood_is_counted_not_logged_entry_by_entry(hub):
    make_tree(hub)
    before = len(_denials(hub))
    calls = [("GET", "/api/v1/orgs", None, f"yc_wrong_{n}") for n in range(40)]
    calls += [("GET", f"/api/v1/items/it_{n}", None, "yc_wrong") for n in range(20)]
    started = time.time()
    assert _in_parallel(hub, calls) == [401] * 60
    during = _denials(hub)[before:]
    if int(started // WINDOW_S) == int(time.time() // WINDOW_S):
        assert during == []  # nothing written while the minute lasts
    else:  # the minute turned mid-flood: its first denial summarised the minute that closed
        assert all(e.details["window_end"] == _iso(int(started // WINDOW_S) * WINDOW_S
                                                   + WINDOW_S) for e in during)
    denial_counter(hub.runtime).flush(hub.runtime.db, now=time.time(), include_current=True)
    summaries = _denials(hub)[before:]
    assert 2 <= len(summaries) <= 4  # one per route (two if the minute turned meanwhile)
    by_route: dict[str, int] = {}
    for entry in summaries:
        assert entry.outcome == "denied" and entry.actor_id is None
        assert entry.details["aggregated"] and entry.source_ip == "127.0.0.1"
        by_route[entry.details["path"]] = by_route.get(entry.details["path"], 0) + \
            entry.details["count"]
    assert by_route == {"/api/v1/orgs": 40, "/api/v1/items/<item_id>": 20}
    _intact(hub)


def test_a_closed_minute_is_summarised_by_the_next_anonymous_denial(hub):
    counter = denial_counter(hub.runtime)
    an_hour_ago = time.time() - 3600
    for _ in range(3):
        counter.count(method="GET", route="/api/v1/orgs", status=401, code="unauthorized",
                      source_ip="203.0.113.9", now=an_hour_ago)
    assert hub.get("/api/v1/orgs", token="yc_wrong").status_code == 401
    summary = [e for e in _denials(hub) if e.source_ip == "203.0.113.9"]
    assert [e.details["count"] for e in summary] == [3]
    _intact(hub)


def test_two_stage_one_reviewers_at_once_only_one_counts(pg_hub):
    make_tree(pg_hub)
    people = newsroom(pg_hub)
    other = make_user(pg_hub, "second-first-reviewer", ["reviewer"], stage=1)["token"]
    item = create_item(pg_hub, people["editor"])
    submit(pg_hub, item["id"], people["editor"])

    def approve(token: str) -> int:
        return pg_hub.app.test_client().post(
            f"/api/v1/items/{item['id']}/reviews", json={"decision": "approve", "comment": "同意"},
            headers={"Authorization": f"Bearer {token}"}).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(approve, [people["r1"], other]))
    assert statuses == [200, 409]
    trail = pg_hub.get(f"/api/v1/items/{item['id']}").json["review"]["trail"]
    assert [t["stage"] for t in trail] == [1]
