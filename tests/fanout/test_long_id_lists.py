"""Pushes and matrices naming tens of thousands of accounts, on SQLite and PostgreSQL.

PostgreSQL takes at most 65,535 bind parameters per statement, and ``column.in_(ids)`` sends
one per id: such a request used to end in a 500. Lists are now looked up in chunks (one array
parameter each on PostgreSQL), capped at 100,000 entries, and a 422 names at most 1,000 of the
unknown ids plus how many there were."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import NAMED_UNKNOWN
from hub.fanout.targets import MAX_ENTRIES
from hub.infra import idsets

from .support import ApiRig, error_of

MANY = 70_001  # above PostgreSQL's 65,535 parameters per statement


def _unknown_ids(count: int) -> list[str]:
    return [f"acc_missing{n:06d}" for n in range(count)]


def _refused(response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_json())
    error = error_of(response)
    assert error["details"]["field"] == field, error
    return error


def test_a_push_naming_70001_unknown_accounts_is_a_422_that_names_the_first_thousand(rig):
    real = rig.account("c1-k1")
    item = rig.item("c1")
    unknown = _unknown_ids(MANY)
    before = rig.rows()
    error = _refused(rig.push(item, {"accounts": [real, *unknown]}), 422, "targets.accounts")
    assert error["details"]["unknown"] == unknown[:NAMED_UNKNOWN], error["details"]["field"]
    assert error["details"]["unknown_count"] == MANY
    assert str(MANY) in error["message"] and unknown[0] in error["message"]
    assert rig.rows() == before


def test_a_push_naming_more_accounts_than_the_cap_is_a_422_before_any_lookup(rig):
    rig.account("c1-k1")
    item = rig.item("c1")
    cap = MAX_ENTRIES["accounts"]
    before = rig.rows()
    error = _refused(rig.push(item, {"accounts": _unknown_ids(cap + 1)}), 422,
                     "targets.accounts")
    assert (error["details"]["limit"], error["details"]["count"]) == (cap, cap + 1)
    assert "机构或矩阵" in error["message"]
    assert rig.rows() == before


def test_explicit_accounts_are_resolved_chunk_by_chunk_with_orgs_alongside(rig, monkeypatch):
    monkeypatch.setattr(idsets, "CHUNK", 2)  # five accounts: three statements
    in_k1 = [rig.account("c1-k1"), rig.account("c1-k1", "weibo")]
    in_k2 = [rig.account("c1-k2"), rig.account("c1-k2", "weibo")]
    elsewhere = rig.account("c2-k1")
    closed = rig.account("c2-k1", status="closed")
    item = rig.item("yun")
    # k1 both as an org and as explicit accounts: one delivery each, never two.
    pushed = rig.pushed(item, {"orgs": ["c1-k1"],
                               "accounts": [*in_k1, *in_k2, elsewhere, closed]})
    assert pushed["total"] == 6, pushed
    assert rig.deliveries_per_account(item) == dict.fromkeys(
        [*in_k1, *in_k2, elsewhere, closed], 1)
    skipped = [d for d in rig.deliveries(f"/api/v1/dispatches/{pushed['dispatch_id']}/deliveries")
               if d["state"] == "skipped"]
    assert [d["account"] for d in skipped] == [closed], skipped


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_matrix_naming_70001_unknown_accounts_is_a_422_and_writes_nothing(rig, method):
    real = rig.account("c1-k1")
    r = rig.hub.post("/api/v1/matrices", {"slug": "roads", "name": "交通", "accounts": [real]})
    assert r.status_code == 201, r.json
    before = rig.rows()
    unknown = _unknown_ids(MANY)
    body = {"accounts": [real, *unknown]}
    r = (rig.hub.post("/api/v1/matrices", {"slug": "bridges", "name": "桥梁", **body})
         if method == "post" else rig.hub.patch("/api/v1/matrices/roads", body))
    error = _refused(r, 422, "accounts")
    assert error["details"]["unknown"] == unknown[:NAMED_UNKNOWN]
    assert error["details"]["unknown_count"] == MANY
    assert rig.rows() == before
    assert rig.hub.get("/api/v1/matrices/roads").json["account_count"] == 1


def test_a_matrix_of_accounts_checked_chunk_by_chunk_keeps_scope_and_membership(
        rig: ApiRig, monkeypatch):
    monkeypatch.setattr(idsets, "CHUNK", 2)
    admin = rig.token("c1", "admin")
    own = [rig.account("c1-k1"), rig.account("c1-k1", "weibo"), rig.account("c1-k2")]
    foreign = rig.account("c2-k1")
    r = rig.hub.post("/api/v1/matrices", {"slug": "mine", "name": "本市", "accounts": own},
                     token=admin)
    assert r.status_code == 201 and r.json["account_count"] == 3, r.json
    before = rig.rows()
    # The foreign account sits in the last chunk: every chunk's org is checked.
    r = rig.hub.post("/api/v1/matrices", {"slug": "theirs", "name": "越权",
                                          "accounts": [*own, foreign]}, token=admin)
    assert r.status_code == 403, r.json
    assert rig.rows()["matrices"] == before["matrices"]
