"""The audit log: a keyed chain, filtered reads, denials recorded, tampering detected.

The tamper tests act as someone with write access to the database but not the audit key: they
edit or delete rows and then recompute every hash and the chain head the way the unkeyed chain
allowed, and ``yunchu audit verify`` must still report the log broken."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.infra.bootstrap import prepare
from hub.models import AuditEntry
from hub.security.audit import GENESIS, entry_hash, hashed_fields, verify, verify_chain
from hub.security.audit_denials import denial_counter

from .support import approve_all, create_item, make_user, setup, submit


def _verify(hub) -> tuple[bool, list[str]]:
    with hub.runtime.db.session() as session:
        return verify(session)


def _cli_verify(hub, secret_key: str | None = None) -> subprocess.CompletedProcess:
    return _cli(hub, "verify", secret_key=secret_key)


def _cli(hub, *args: str, secret_key: str | None = None) -> subprocess.CompletedProcess:
    settings = hub.runtime.settings
    env = {**os.environ, "YUNCHU_DATABASE_URL": settings.database_url,
           "YUNCHU_DATA_DIR": str(settings.data_dir), "YUNCHU_REDIS_URL": settings.redis_url,
           "YUNCHU_SECRET_KEY": secret_key or settings.secret_key}
    return subprocess.run([sys.executable, "-m", "cli", "audit", *args], env=env,
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
    assert hub.post("/api/v1/orgs", {"slug": "x", "name": "x", "kind": "county", "parent": "c1"},
                    token=state["editor"]).status_code == 403
    denied = hub.get("/api/v1/audit?outcome=denied").json["items"]
    assert [(e["details"]["status"], e["details"]["path"]) for e in denied] == [
        (403, "/api/v1/orgs")]
    assert denied[0]["actor"]["name"] == "editor" and denied[0]["details"]["action"] == \
        "org.manage"
    assert hub.get("/api/v1/orgs", token="yc_wrong").status_code == 401
    assert hub.get("/api/v1/orgs", token="yc_wrong_too").status_code == 401
    # An anonymous denial is counted and summarised when its minute is over.
    denial_counter(hub.runtime).flush(hub.runtime.db, now=time.time(), include_current=True)
    anonymous = hub.get("/api/v1/audit?outcome=denied").json["items"][:-1]
    assert sum(e["details"]["count"] for e in anonymous) == 2
    assert {(e["details"]["status"], e["details"]["path"], e["actor"]["id"], e["source_ip"])
            for e in anonymous} == {(401, "/api/v1/orgs", None, "127.0.0.1")}
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


def _rewrite_chain(hub, *, as_legacy: bool = False) -> None:
    """Recompute every entry's hash and the head without the key, as the unkeyed chain allowed."""
    with Session(hub.runtime.db.engine) as session, session.begin():
        prev, count, last_id = GENESIS, 0, 0
        for entry in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars():
            new_hash = entry_hash(prev, hashed_fields(entry))
            session.execute(text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :id"),
                            {"p": prev, "h": new_hash, "id": entry.id})
            prev, count, last_id = new_hash, count + 1, entry.id
        if as_legacy:
            session.execute(text("UPDATE audit_log SET key_id = NULL"))
        session.execute(text("UPDATE audit_chain_head SET last_id = :i, last_hash = :h, "
                             "entries = :n"), {"i": last_id, "h": prev, "n": count})


def _delete(hub, where: str, **params) -> None:
    with hub.runtime.db.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM audit_log WHERE {where}"), params)


def test_deleting_a_middle_entry_and_recomputing_the_chain_is_detected(hub):
    _busy_log(hub)
    _delete(hub, "id = 4")
    _rewrite_chain(hub)
    ok, problems = _verify(hub)
    assert not ok and any("recomputed without the audit key" in p for p in problems)
    cli = _cli_verify(hub)
    assert cli.returncode == 1 and "without the audit key" in cli.stderr


def test_rewriting_the_log_as_unkeyed_rows_is_detected(hub):
    _busy_log(hub)
    _delete(hub, "id = 4")
    _rewrite_chain(hub, as_legacy=True)
    ok, problems = _verify(hub)
    assert not ok and any("differs from its checkpoint" in p for p in problems), problems


def test_editing_a_payload_and_recomputing_the_chain_is_detected(hub):
    _busy_log(hub)
    with hub.runtime.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor_name = 'someone-else' WHERE id = 3"))
    _rewrite_chain(hub)
    ok, problems = _verify(hub)
    assert not ok and any(p.startswith("entry 3:") and "MAC" in p for p in problems)


def test_truncating_the_tail_and_fixing_the_head_is_detected(hub):
    _busy_log(hub)
    with hub.runtime.db.engine.begin() as conn:
        last = conn.execute(text("SELECT max(id) FROM audit_log")).scalar_one()
    _delete(hub, "id > :keep", keep=last - 3)
    with hub.runtime.db.engine.begin() as conn:  # the head now names the new last entry
        conn.execute(text("UPDATE audit_chain_head SET last_id = a.id, last_hash = a.hash, "
                          "entries = entries - 3 FROM (SELECT id, hash FROM audit_log "
                          "WHERE id = :keep) AS a"), {"keep": last - 3})
    ok, problems = _verify(hub)
    assert not ok and any(f"entry {last}, checkpointed" in p and "missing" in p
                          for p in problems), problems
    cli = _cli_verify(hub)
    assert cli.returncode == 1 and "newest entries were removed" in cli.stderr
    # Writing on does not paper over the cut: the checkpoint stays at the missing entry.
    for n in range(5):
        assert hub.post("/api/v1/orgs", {"slug": f"d{n}", "name": "部门", "kind": "department",
                                         "parent": "c1"}).status_code == 201
    ok, problems = _verify(hub)
    assert not ok and any(f"entry {last}" in p and "checkpoint" in p for p in problems), problems
    # Once looked into, an operator accepts the log as it is; the reseal entry keeps the finding.
    assert _cli(hub, "reseal", "--reason", "restored from backup").returncode == 0
    assert _cli_verify(hub).returncode == 0
    resealed = hub.get("/api/v1/audit?action=audit.resealed").json["items"][0]
    assert resealed["details"]["reason"] == "restored from backup"
    assert any(f"entry {last}" in p for p in resealed["details"]["problems"])


def test_verify_with_the_wrong_key_says_so(hub):
    _busy_log(hub)
    cli = _cli_verify(hub, secret_key="not-the-hub-key")
    assert cli.returncode == 1
    assert "wrong audit key" in cli.stderr and "content does not match" not in cli.stderr
    assert _cli_verify(hub).returncode == 0


def test_entries_from_before_keying_are_sealed_at_start(hub):
    """An upgraded database: its rows are a plain SHA-256 chain with no checkpoint. The next
    start seals them with a keyed entry; editing the old rows afterwards is detected."""
    _busy_log(hub)
    _rewrite_chain(hub, as_legacy=True)
    hub.runtime.settings.data_dir.joinpath("audit.checkpoint").unlink()
    hub.runtime.redis.delete(hub.runtime.audit.checkpoints.redis_key)
    prepare(hub.runtime)
    with hub.runtime.db.session() as session:
        result = verify_chain(session)
        seal = session.execute(select(AuditEntry).order_by(AuditEntry.id.desc())).scalar()
    assert result.ok, result.problems
    assert seal.action == "audit.keyed" and result.legacy_entries == result.entries - 1
    prepare(hub.runtime)  # sealed once only
    with hub.runtime.db.session() as session:
        assert verify_chain(session).entries == result.entries
    with hub.runtime.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET outcome = 'failed' WHERE id = 2"))
    _rewrite_chain(hub, as_legacy=False)  # recompute the prefix (and all after it)
    with hub.runtime.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET key_id = NULL WHERE id < :s"), {"s": seal.id})
    ok, problems = _verify(hub)
    assert not ok and any(f"entry {seal.id}:" in p for p in problems), problems
