"""Would the ledger pass an inspection? Each account says why not (not updated in the window,
a zombie, an incomplete 备案, rejected credentials); the list filters on it and /inspection
counts a subtree. Closed accounts are not inspected. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from hub.models import Account, utcnow
from tests.hub.helpers import error_of, make_account, make_tree

LEDGER = {"responsible_person": "李明", "chief_editor": "王芳", "managing_department": "县委宣传部",
          "filing_number": "滇网备-2024-0012"}


def _aged(hub, account_id: str, *, published_days_ago: float | None = None,
          created_days_ago: float | None = None, flagged: str | None = None) -> None:
    values: dict = {}
    now = utcnow()
    if published_days_ago is not None:
        values["last_published_at"] = now - timedelta(days=published_days_ago)
    if created_days_ago is not None:
        values["created_at"] = now - timedelta(days=created_days_ago)
    if flagged is not None:
        values["flagged_reason"] = flagged
    with hub.runtime.db.session() as session:
        session.execute(update(Account).where(Account.id == account_id).values(**values))


def _scene(hub) -> dict[str, str]:
    make_tree(hub)  # yun > c1 > c1-k1, yun > c2
    ids = {
        "fresh": make_account(hub, "c1", "新开账号", **LEDGER)["id"],
        "active": make_account(hub, "c1", "活跃账号", **LEDGER)["id"],
        "quiet": make_account(hub, "c1-k1", "半月未更新", **LEDGER)["id"],
        "zombie": make_account(hub, "c1-k1", "僵尸账号", **LEDGER)["id"],
        "never": make_account(hub, "c1-k1", "从未发布", **LEDGER)["id"],
        "unfiled": make_account(hub, "c1", "未备案", **{**LEDGER, "chief_editor": " "})["id"],
        "flagged": make_account(hub, "c1", "凭据失效", **LEDGER)["id"],
        "closed": make_account(hub, "c1", "已关闭", **LEDGER)["id"],
        "other": make_account(hub, "c2", "邻市账号")["id"],
    }
    _aged(hub, ids["active"], published_days_ago=3, created_days_ago=400)
    _aged(hub, ids["quiet"], published_days_ago=20, created_days_ago=400)
    _aged(hub, ids["zombie"], published_days_ago=120, created_days_ago=400)
    _aged(hub, ids["never"], created_days_ago=25)
    _aged(hub, ids["flagged"], published_days_ago=1, flagged="40001 invalid credential")
    _aged(hub, ids["closed"], created_days_ago=400)
    assert hub.patch(f"/api/v1/accounts/{ids['closed']}", {"status": "closed"}).status_code == 200
    return ids


def _verdicts(hub, query: str = "") -> dict[str, dict]:
    r = hub.get(f"/api/v1/accounts?org=c1&descendants=1{query}")
    assert r.status_code == 200, r.json
    return {a["name"]: a["inspection"] for a in r.json["items"]}


def test_each_account_says_what_would_fail_it(hub):
    _scene(hub)
    verdicts = _verdicts(hub)
    assert verdicts["新开账号"] == {"passes": True, "problems": []}  # a new account's grace
    assert verdicts["活跃账号"] == {"passes": True, "problems": []}
    assert verdicts["半月未更新"] == {"passes": False, "problems": ["not_updated"]}
    assert verdicts["僵尸账号"] == {"passes": False, "problems": ["not_updated", "zombie"]}
    assert verdicts["从未发布"] == {"passes": False, "problems": ["not_updated"]}
    assert verdicts["未备案"] == {"passes": False, "problems": ["ledger_incomplete"]}
    assert verdicts["凭据失效"] == {"passes": False, "problems": ["credentials_rejected"]}
    assert verdicts["已关闭"] == {"passes": None, "problems": []}
    # A longer window forgives the half-month gap, not the zombie.
    wider = _verdicts(hub, "&window_days=30")
    assert wider["半月未更新"]["passes"] is True and wider["从未发布"]["passes"] is True
    assert wider["僵尸账号"]["passes"] is False


def test_the_list_filters_on_the_verdict_and_the_summary_counts_a_subtree(hub):
    _scene(hub)
    failing = set(_verdicts(hub, "&inspection=failing"))
    passing = set(_verdicts(hub, "&inspection=passing"))
    assert failing == {"半月未更新", "僵尸账号", "从未发布", "未备案", "凭据失效"}
    assert passing == {"新开账号", "活跃账号"}  # the closed one is in neither
    r = hub.get("/api/v1/inspection?org=c1")
    assert r.status_code == 200, r.json
    assert r.json == {"window_days": 14, "zombie_days": 90, "inspected": 7, "passing": 2,
                      "failing": 5, "problems": {"not_updated": 3, "zombie": 1,
                                                 "ledger_incomplete": 1,
                                                 "credentials_rejected": 1,
                                                 "authorization_lost": 0,
                                                 "messages_unanswered": 0}}
    county = hub.get("/api/v1/inspection?org=c1-k1&window_days=30").json
    assert (county["inspected"], county["failing"], county["problems"]["not_updated"]) == (3, 1, 1)
    province = hub.get("/api/v1/inspection").json  # the caller's whole scope: c2 too
    assert province["inspected"] == 8 and province["problems"]["ledger_incomplete"] == 2


def test_bad_queries_are_refused(hub):
    make_tree(hub)
    for path, field in (("/api/v1/accounts?inspection=maybe", "inspection"),
                        ("/api/v1/accounts?window_days=0", "window_days"),
                        ("/api/v1/inspection?window_days=abc", "window_days"),
                        ("/api/v1/inspection?window_days=400", "window_days")):
        r = hub.get(path)
        assert r.status_code == 422, (path, r.json)
        assert error_of(r)["details"]["field"] == field
    assert hub.get("/api/v1/inspection?org=atlantis").status_code == 404
