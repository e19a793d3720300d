"""The audit checkpoint outside the database: signed, only ever moving forward in Redis and in
the data-dir file, shared by hub processes that commit out of order."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from hub.security.audit_checkpoint import CheckpointStore
from hub.security.audit_key import AuditKey


def _store(key: AuditKey, data_dir: Path, client: redis.Redis | None) -> CheckpointStore:
    return CheckpointStore(key, data_dir=data_dir, redis_client=lambda: client)


def test_processes_committing_out_of_order_never_move_it_back(tmp_path: Path,
                                                              redis_server_url: str):
    client = redis.Redis.from_url(redis_server_url)
    key = AuditKey(secret_key="k-" + uuid.uuid4().hex)
    # Two API nodes on one host share the file; a worker on another host has its own data dir.
    node_a, node_b = _store(key, tmp_path / "host1", client), _store(key, tmp_path / "host1",
                                                                     client)
    worker = _store(key, tmp_path / "host2", client)
    order = list(range(1, 61))
    order.reverse()
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda n: (node_a, node_b, worker)[n % 3].advance(n, f"mac{n}"), order))
    for store in (node_a, worker):
        reading = store.read()
        assert reading.problems == []
        assert reading.newest is not None and reading.newest.last_id == 60
        assert reading.newest.mac == "mac60"
    assert json.loads((tmp_path / "host1" / "audit.checkpoint").read_text())["last_id"] == 60
    assert (tmp_path / "host1" / "audit.checkpoint").stat().st_mode & 0o077 == 0
    client.close()


def test_a_forged_or_foreign_checkpoint_is_ignored_and_reported(tmp_path: Path):
    key = AuditKey(secret_key="k-" + uuid.uuid4().hex)
    store = _store(key, tmp_path, None)
    store.advance(5, "mac5")
    path = tmp_path / "audit.checkpoint"
    forged = {**json.loads(path.read_text()), "last_id": 3, "mac": "mac3"}
    path.write_text(json.dumps(forged))
    reading = store.read()
    assert reading.newest is None and any("bad signature" in p for p in reading.problems)
    other = _store(AuditKey(audit_key="another key"), tmp_path, None)
    store.advance(6, "mac6")
    assert other.read().newest is None and "bad signature" in other.read().problems[0]
