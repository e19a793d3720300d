"""Manual tasks (/api/v1/tasks) on SQLite and PostgreSQL: a WeChat account that may not delete
by API (the sandbox's ``can_delete: false`` answers 48001, which the adapter reports as
Unsupported) turns its withdrawal into a task for the account's own org, with a deadline;
marking it done ends the delivery and the withdrawal; other counties neither see nor do it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .support import ApiRig, error_of, now, parse_time

TASK_FIELDS = {"id", "kind", "org", "account", "item", "delivery", "state", "deadline", "title",
               "detail", "note", "done_at", "done_by", "overdue"}


def _refused(response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_json())
    error = error_of(response)
    assert code is None or error["code"] == code, error
    return error


def _withdrawn_with_one_manual(rig: ApiRig) -> tuple[str, str, str]:
    """Push to a deletable and an undeletable account, withdraw: (withdrawal, item, account)."""
    manual = rig.account("c1-k1", can_delete=False)
    rig.account("c1-k2")
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1"]})
    rig.drain()
    assert rig.live_posts() == 2
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "数据有误"})
    assert r.status_code == 202 and r.json["total"] == 2, r.json
    rig.drain()
    return f"/api/v1/withdrawals/{r.json['withdrawal_id']}", item, manual


def _tasks(rig: ApiRig, token: str | None = None, **query: str) -> list[dict[str, Any]]:
    r = rig.hub.get("/api/v1/tasks", query_string=query, token=token)
    assert r.status_code == 200, r.json
    return r.json["items"]


def test_an_undeletable_post_becomes_a_task_and_doing_it_ends_the_withdrawal(rig):
    withdrawal, item, manual = _withdrawn_with_one_manual(rig)
    waiting = rig.hub.get(withdrawal).json
    assert (waiting["state"], waiting["remaining"]) == ("running", 1), waiting
    assert waiting["counts"]["manual"] == 1 and waiting["counts"]["withdrawn"] == 1, waiting
    assert rig.live_posts() == 1  # the hub could not remove it: a person must

    operator = rig.token("c1-k1", "operator")
    tasks = _tasks(rig, operator)
    assert len(tasks) == 1, tasks
    task = tasks[0]
    assert set(task) >= TASK_FIELDS, task
    assert (task["kind"], task["org"], task["account"], task["item"], task["state"]) == (
        "manual_withdraw", "c1-k1", manual, item, "open")
    deadline = parse_time(task["deadline"])
    assert now() + timedelta(minutes=30) < deadline < now() + timedelta(days=2), task
    assert task["overdue"] is False and task["done_at"] is None
    assert "48001" not in task["title"] and task["detail"], task  # readable, not a code
    manual_rows = rig.deliveries(f"{withdrawal}/deliveries", state="manual")
    assert [d["id"] for d in manual_rows] == [task["delivery"]]
    assert manual_rows[0]["error"], manual_rows
    assert _tasks(rig, rig.token("c1", "operator")) == tasks  # the city sees its counties'
    assert _tasks(rig, operator, org="c1-k1", state="open") == tasks

    r = rig.hub.post(f"/api/v1/tasks/{task['id']}/done", {"note": "已在公众平台后台删除"},
                     token=operator)
    assert r.status_code == 200, r.json
    assert (r.json["state"], r.json["note"]) == ("done", "已在公众平台后台删除"), r.json
    assert r.json["done_at"] and r.json["done_by"], r.json
    finished = rig.hub.get(withdrawal).json
    assert (finished["state"], finished["remaining"]) == ("done", 0), finished
    assert finished["counts"]["withdrawn"] == 2 and finished["counts"]["manual"] == 0
    assert sum(finished["counts"].values()) == finished["total"] == 2
    rows = {d["id"]: d for d in rig.deliveries(f"{withdrawal}/deliveries", state="withdrawn")}
    assert "已在公众平台后台删除" in rows[task["delivery"]]["error"], rows

    before = rig.rows()
    _refused(rig.hub.post(f"/api/v1/tasks/{task['id']}/done", {"note": "again"},
                          token=operator), 409, "task_done")
    assert rig.rows() == before
    assert _tasks(rig, operator, state="open") == []
    assert [t["id"] for t in _tasks(rig, operator, state="done")] == [task["id"]]


def test_another_county_neither_sees_nor_does_the_task(rig):
    withdrawal, _item, _manual = _withdrawn_with_one_manual(rig)
    (task,) = _tasks(rig, rig.token("c1-k1", "operator"))
    neighbour, other_city = rig.token("c1-k2", "operator"), rig.token("c2", "operator")
    editor = rig.token("c1-k1", "editor")  # may read tasks, may not do them
    assert _tasks(rig, neighbour) == [] and _tasks(rig, other_city) == []
    assert _tasks(rig, editor) == [task]
    before = rig.rows()
    denied = [rig.hub.get("/api/v1/tasks", query_string={"org": "c1-k1"}, token=neighbour),
              rig.hub.post(f"/api/v1/tasks/{task['id']}/done", {"note": "x"}, token=neighbour),
              rig.hub.post(f"/api/v1/tasks/{task['id']}/done", {"note": "x"}, token=other_city),
              rig.hub.post(f"/api/v1/tasks/{task['id']}/done", {"note": "x"}, token=editor)]
    for response in denied:
        _refused(response, 403)
    assert rig.rows() == before
    assert rig.audited("access.denied") == len(denied)
    assert rig.hub.get(withdrawal).json["remaining"] == 1
    assert _tasks(rig, rig.token("c1-k1", "operator"))[0]["state"] == "open"


def test_bad_task_requests_are_refused_and_write_nothing(rig):
    _withdrawn_with_one_manual(rig)
    (task,) = _tasks(rig)
    done = f"/api/v1/tasks/{task['id']}/done"
    before = rig.rows()
    _refused(rig.hub.get("/api/v1/tasks", query_string={"state": "pending"}), 422)
    _refused(rig.hub.get("/api/v1/tasks", query_string={"org": "atlantis"}), 404)
    _refused(rig.hub.get("/api/v1/tasks", query_string={"limit": "many"}), 422)
    _refused(rig.hub.post("/api/v1/tasks/tsk_nope/done", {"note": "x"}), 404)
    _refused(rig.hub.post(done, data="{note", headers={"Content-Type": "application/json"}), 400)
    _refused(rig.hub.post(done, {"note": "长" * 2001}), 422)
    _refused(rig.hub.post(done, {"note": ["a list"]}), 422)
    assert rig.rows() == before
    assert _tasks(rig, state="open") == [task]
