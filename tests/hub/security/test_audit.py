"""The audit log: hash-chained, filtered reads, denials recorded, tampering detected."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text

from hub.audit import verify

from .support import approve_all, create_item, make_user, setup, submit


def _verify(hub) -> tuple[bool, list[str]]:
    with hub.runtime.db.session() as session:
        return verify(session)


def _cli_verify(hub) -> subprocess.CompletedProcess:
    env = {**os.environ, "YUNCHU_DATABASE_URL": hub.runtime.settings.database_url,
           "YUNCHU_DATA_DIR": str(hub.runtime.settings.data_dir),
           "YUNCHU_SECRET_KEY": "audit-cli-test-key"}
    return subprocess.run([sys.executable, "-m", "hub.cli", "audit", "verify"], env=env,
                          capture_output=True, text=True, timeout=60)


def _busy_log(hub) -> dict[str, str]:
    people = setup(hub)
    item = create_item(hub, people["editor"])
    submit(hub, item["id"], people["editor"])
    approve_all(hub, item["id"], people)
    return {**people, "item": item["id"]}


def test_actions_are_recorded_and_filterable(hub):
    state = _busy_log(hub)
    auditor = make_user(hub, "inspector", ["auditor"], org=None)["token"]
    reviews = hub.get(f"/api/v1/audit?item={state['item']}&action=item.review",
                      token=auditor).json["items"]
    assert [e["details"]["stage"] for e in reviews] == [3, 2, 1]  # newest first
    entry = reviews[0]
    assert entry["actor"]["name"] == "reviewer3" and entry["org"] == "c1"
    assert entry["outcome"] == "ok" and entry["source_ip"] == "127.0.0.1" and entry["at"]
    by_actor = hub.get("/api/v1/audit?actor=reviewer1", token=auditor).json["items"]
    assert {e["action"] for e in by_actor} == {"item.review"}
    users = hub.get("/api/v1/audit?action=user.", token=auditor).json["items"]
    assert {e["action"] for e in users} == {"user.create"} and len(users) == 5
    first = hub.get("/api/v1/audit?limit=2", token=auditor).json
    second = hub.get(f"/api/v1/audit?limit=2&cursor={first['next_cursor']}",
                     token=auditor).json
    assert int(second["items"][0]["id"]) < int(first["items"][-1]["id"])
    future = hub.get("/api/v1/audit?since=2999-01-01T00:00:00Z", token=auditor).json
    assert future["items"] == []
    assert hub.get("/api/v1/audit?since=yesterday", token=auditor).status_code == 422
    assert hub.get("/api/v1/audit?cursor=%%%", token=auditor).status_code == 422


def test_scoped_auditor_sees_only_their_subtree(hub):
    state = _busy_log(hub)
    c2_auditor = make_user(hub, "c2-auditor", ["auditor"], org="c2")["token"]
    seen = hub.get("/api/v1/audit", token=c2_auditor).json["items"]
    assert all(e["org"] == "c2" for e in seen)
    assert not any(e["item"] == state["item"] for e in seen)


def test_denials_are_recorded_with_outcome_denied(hub):
    state = _busy_log(hub)
    assert hub.get("/api/v1/orgs", token="yc_wrong").status_code == 401
    assert hub.post("/api/v1/orgs", {"slug": "x", "name": "x", "kind": "county", "parent": "c1"},
                    token=state["editor"]).status_code == 403
    denied = hub.get("/api/v1/audit?outcome=denied").json["items"]
    assert [(e["details"]["status"], e["details"]["path"]) for e in denied] == [
        (403, "/api/v1/orgs"), (401, "/api/v1/orgs")]
    assert denied[0]["actor"]["name"] == "editor" and denied[0]["details"]["action"] == \
        "org.manage"
    assert denied[1]["actor"]["id"] is None
    assert _verify(hub) == (True, [])


def test_verify_passes_on_a_clean_log_and_fails_after_an_edit(hub):
    _busy_log(hub)
    assert _verify(hub) == (True, [])
    clean = _cli_verify(hub)
    assert clean.returncode == 0, clean.stderr
    with hub.runtime.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET outcome = 'failed' WHERE id = 3"))
    ok, problems = _verify(hub)
    assert not ok and any("entry 3" in p and "edited" in p for p in problems)
    cli = _cli_verify(hub)
    assert cli.returncode == 1 and "entry 3" in cli.stderr


def test_verify_fails_after_a_row_is_removed_anywhere(hub):
    _busy_log(hub)
    with hub.runtime.db.engine.begin() as conn:
        last = conn.execute(text("SELECT max(id) FROM audit_log")).scalar_one()
        conn.execute(text("DELETE FROM audit_log WHERE id = 4"))
    ok, problems = _verify(hub)
    assert not ok and any("removed" in p for p in problems)
    with hub.runtime.db.engine.begin() as conn:  # removing the newest entry is caught too
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": last})
    with hub.runtime.db.session() as session:
        _, problems = verify(session)
    assert any("newest entries were removed" in p for p in problems)


def test_removing_the_tail_then_writing_again_is_still_detected(hub):
    _busy_log(hub)
    with hub.runtime.db.engine.begin() as conn:
        last = conn.execute(text("SELECT max(id) FROM audit_log")).scalar_one()
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": last})
    assert hub.get("/api/v1/orgs/c1").status_code == 200
    hub.post("/api/v1/orgs", {"slug": "c3", "name": "三市", "kind": "city", "parent": "yun"})
    ok, problems = _verify(hub)
    assert not ok and any("chain broken" in p for p in problems)
