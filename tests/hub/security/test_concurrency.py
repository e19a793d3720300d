"""PostgreSQL: concurrent writers keep one intact audit chain; concurrent approvals of one stage
let exactly one reviewer through."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from hub.audit import verify
from tests.hub.helpers import make_tree

from .support import create_item, make_user, newsroom, submit


def test_concurrent_writers_keep_the_chain_intact(pg_hub):
    make_tree(pg_hub)

    def create_orgs(worker: int) -> list[int]:
        client = pg_hub.app.test_client()
        return [client.post("/api/v1/orgs", json={
            "slug": f"w{worker}-{n}", "name": "部门", "kind": "department", "parent": "c1"},
            headers={"Authorization": f"Bearer {pg_hub.token}"}).status_code for n in range(8)]

    with ThreadPoolExecutor(4) as pool:
        statuses = [s for batch in pool.map(create_orgs, range(4)) for s in batch]
    assert statuses == [201] * 32
    with pg_hub.runtime.db.session() as session:
        assert verify(session) == (True, [])


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
