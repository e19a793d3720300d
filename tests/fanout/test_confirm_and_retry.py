"""The number a push or a withdrawal was confirmed for (``expected_total``), the withdrawal
preview, and sending a push's passing failures again (``POST /dispatches/<id>/retry``), on
SQLite and PostgreSQL with the real worker and the sandbox platforms."""

from __future__ import annotations

from sqlalchemy import select, update

from hub.models import Delivery

from .support import ApiRig, error_of


def _fail(rig: ApiRig, delivery_ids: list[str], kind: str, *, lookup: bool = False) -> None:
    """Put rows where a platform's failure leaves them (the worker's own outcome columns)."""
    with rig.hub.runtime.db.session() as session:
        session.execute(update(Delivery).where(Delivery.id.in_(delivery_ids)).values(
            state="failed", error_kind=kind, needs_lookup=lookup, attempts=8,
            remote_id=None, remote_url=None, error=f"平台出错 ({kind})"))


def test_a_push_confirmed_for_another_number_is_409_and_writes_nothing(rig):
    for _ in range(3):
        rig.account("c1-k1")
    item = rig.item("c1")
    preview = rig.hub.post(f"/api/v1/items/{item}/push/preview",
                           {"targets": {"orgs": ["c1"]}}).json
    assert preview["total"] == 3
    before = rig.rows()
    for wrong in (2, 4, 0):
        r = rig.push(item, {"orgs": ["c1"]}, expected_total=wrong)
        assert r.status_code == 409, r.json
        error = error_of(r)
        assert error["code"] == "expected_total_mismatch"
        assert error["details"] == {"expected_total": wrong, "total": 3}
    for bad in ("3", -1, True, 2.5):
        r = rig.push(item, {"orgs": ["c1"]}, expected_total=bad)
        assert r.status_code == 422 and error_of(r)["details"]["field"] == "expected_total"
    assert rig.rows() == before
    assert rig.pushed(item, {"orgs": ["c1"]}, expected_total=3)["total"] == 3


def test_the_withdrawal_preview_counts_what_the_withdrawal_then_covers(rig):
    accounts = [rig.account("c1-k1"), rig.account("c1-k2", "weibo")]
    item = rig.item("c1", shared=True)
    rig.pushed(item, {"accounts": accounts})
    rig.drain()
    copy = rig.pulled(item, "c2")
    rig.pushed(copy, {"accounts": [rig.account("c2-k1")]})  # queued, not sent yet
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw/preview", {})
    assert r.status_code == 200, r.json
    numbers = r.json
    assert (numbers["total"], numbers["remove"], numbers["cancel"], numbers["copies"]) == \
        (3, 2, 1, 1)
    assert numbers["remove_by_platform"] == {"wechat": 1, "weibo": 1}
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "有误", "expected_total": 2})
    assert r.status_code == 409 and error_of(r)["code"] == "expected_total_mismatch"
    assert rig.hub.get(f"/api/v1/items/{item}").json["status"] == "approved"
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "有误", "expected_total": 3})
    assert r.status_code == 202 and r.json["total"] == 3


def test_retry_sends_the_passing_failures_again_and_leaves_the_rest(rig):
    accounts = [rig.account("c1-k1") for _ in range(4)] + [rig.account("c1-k2", "weibo")]
    item = rig.item("c1")
    dispatch = rig.pushed(item, {"accounts": accounts})["dispatch_id"]
    with rig.hub.runtime.db.session() as session:
        rows = dict(session.execute(select(Delivery.account_id, Delivery.id).where(
            Delivery.dispatch_id == dispatch)).all())
    ids = [rows[a] for a in accounts]
    _fail(rig, [ids[0], ids[4]], "retryable")
    _fail(rig, [ids[1]], "rate_limited")
    _fail(rig, [ids[2]], "content_rejected")  # would fail the same way again
    _fail(rig, [ids[3]], "retryable", lookup=True)  # may be live: never sent twice

    progress = rig.hub.get(f"/api/v1/dispatches/{dispatch}").json
    assert progress["state"] == "done" and progress["counts"]["failed"] == 5
    assert progress["problems"] == {
        "total": 5, "retryable": 3,
        "by_kind": {"retryable": 3, "rate_limited": 1, "content_rejected": 1},
        "by_platform": {"wechat": 4, "weibo": 1}}
    path = f"/api/v1/dispatches/{dispatch}/deliveries"
    assert {d["id"] for d in rig.deliveries(path, state="failed,retry,unknown",
                                            error_kind="retryable")} == {ids[0], ids[3], ids[4]}
    assert [d["id"] for d in rig.deliveries(path, error_kind="retryable", platform="weibo")] == \
        [ids[4]]
    r = rig.hub.get(path, query_string={"state": "failed,bogus"})
    assert r.status_code == 422 and error_of(r)["details"]["field"] == "state"
    r = rig.hub.get(path, query_string={"platform": "myspace"})
    assert r.status_code == 422 and error_of(r)["details"]["field"] == "platform"

    r = rig.hub.post(f"/api/v1/dispatches/{dispatch}/retry", {}, token=rig.reviewers[0])
    assert r.status_code == 403
    r = rig.hub.post("/api/v1/dispatches/dsp_nope/retry", {})
    assert r.status_code == 404
    assert rig.audited("dispatch.retry") == 0
    r = rig.hub.post(f"/api/v1/dispatches/{dispatch}/retry", {})
    assert r.status_code == 202 and r.json == {"dispatch_id": dispatch, "retried": 3}
    assert rig.audited("dispatch.retry") == 1
    rig.drain()
    states = {d["id"]: d["state"] for d in rig.deliveries(path)}
    live = {"published", "pending_review"}  # WeChat's posts wait for the platform's review
    assert [states[i] in live for i in ids] == [True, True, False, False, True]
    assert states[ids[2]] == states[ids[3]] == "failed"
    after = rig.hub.get(f"/api/v1/dispatches/{dispatch}").json
    assert after["state"] == "done" and after["problems"]["retryable"] == 0
    assert after["counts"]["failed"] == 2
    assert rig.hub.post(f"/api/v1/dispatches/{dispatch}/retry", {}).json["retried"] == 0


def test_retry_of_a_withdrawn_item_is_refused(rig):
    account = rig.account("c1-k1")
    item = rig.item("c1")
    dispatch = rig.pushed(item, {"accounts": [account]})["dispatch_id"]
    with rig.hub.runtime.db.session() as session:
        row = session.execute(select(Delivery.id).where(
            Delivery.dispatch_id == dispatch)).scalar_one()
    _fail(rig, [row], "retryable")
    assert rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "撤"}).status_code == 202
    r = rig.hub.post(f"/api/v1/dispatches/{dispatch}/retry", {})
    assert r.status_code == 409 and error_of(r)["code"] == "item_withdrawn"
