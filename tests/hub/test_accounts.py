from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from .helpers import error_of, make_account, make_tree, wechat_account


def test_create_account_never_echoes_credentials(hub):
    make_tree(hub)
    r = hub.post("/api/v1/accounts", wechat_account("c1", "清江发布"))
    assert r.status_code == 201
    body = r.get_data(as_text=True)
    assert "s3cr3t" not in body and "credentials" not in r.json
    assert r.json["external_id"] == "wx-清江发布" and r.json["status"] == "active"
    got = hub.get(f"/api/v1/accounts/{r.json['id']}")
    assert "s3cr3t" not in got.get_data(as_text=True)


def test_account_bad_input(hub):
    make_tree(hub)
    cases = [
        ({**wechat_account("c1", "a"), "platform": "myspace"}, 422, "platform"),
        ({**wechat_account("c1", "a"), "credentials": {"appid": "x"}}, 422, "credentials"),
        ({**wechat_account("c1", "a"), "credentials": "nope"}, 422, "credentials"),
        ({**wechat_account("c1", "a"), "name": "长" * 201}, 422, "name"),
        ({**wechat_account("c1", "a"), "api_base": "ftp://x"}, 422, "api_base"),
        (wechat_account("ghost", "a"), 404, "org"),
    ]
    for body, status, field in cases:
        r = hub.post("/api/v1/accounts", body)
        assert r.status_code == status, (body, r.json)
        assert error_of(r)["details"]["field"] == field
    missing = hub.post("/api/v1/accounts", {"org": "c1", "platform": "douyin", "name": "d",
                                            "credentials": {"client_key": "k"}})
    assert missing.status_code == 422
    assert set(error_of(missing)["details"]["missing"]) == {
        "client_secret", "open_id", "access_token", "refresh_token"}
    assert hub.get("/api/v1/accounts").json["items"] == []


def test_duplicate_account_is_409(hub):
    make_tree(hub)
    make_account(hub, "c1", "清江发布")
    r = hub.post("/api/v1/accounts", wechat_account("c1", "清江发布"))
    assert r.status_code == 409


def test_patch_status_lifecycle_and_unknown_account(hub):
    make_tree(hub)
    account = make_account(hub, "c1", "清江发布")
    r = hub.patch(f"/api/v1/accounts/{account['id']}", {"status": "suspended",
                                                         "status_reason": "整改"})
    assert r.status_code == 200 and r.json["status"] == "suspended"
    assert hub.patch(f"/api/v1/accounts/{account['id']}", {"status": "gone"}).status_code == 422
    r = hub.patch("/api/v1/accounts/acc_nope", {"status": "closed"})
    assert r.status_code == 404
    listed = hub.get("/api/v1/accounts?status=suspended").json["items"]
    assert [a["id"] for a in listed] == [account["id"]]


def test_bulk_import_ten_thousand_accounts(hub):
    make_tree(hub)
    accounts = [{"org": ("c1", "c1-k1", "c2")[i % 3], "platform": "weibo",
                 "name": f"账号{i:05d}", "credentials": {"access_token": f"tok-{i}-SECRET"},
                 "responsible_person": "王敏"} for i in range(10_000)]
    r = hub.post("/api/v1/accounts/import", {"accounts": accounts})
    assert r.status_code == 200, r.json
    assert r.json == {"created": 10_000, "updated": 0}
    accounts[0]["responsible_person"] = "李强"
    r = hub.post("/api/v1/accounts/import", {"accounts": accounts[:10]})
    assert r.json == {"created": 0, "updated": 10}
    page = hub.get("/api/v1/accounts?org=yun&descendants=1&limit=1000")
    assert len(page.json["items"]) == 1000 and page.json["next_cursor"]
    direct = hub.get("/api/v1/accounts?org=c1&limit=1000").json["items"]
    assert {a["org"] for a in direct} == {"c1"}


def test_bulk_import_unknown_org_writes_nothing(hub):
    make_tree(hub)
    r = hub.post("/api/v1/accounts/import", {"accounts": [
        wechat_account("c1", "a"), wechat_account("ghost", "b")]})
    assert r.status_code == 422
    assert error_of(r)["details"]["unknown_orgs"] == ["ghost"]
    assert hub.get("/api/v1/accounts").json["items"] == []


def test_no_secret_in_plaintext_in_the_database(hub):
    make_tree(hub)
    make_account(hub, "c1", "清江发布")
    hub.post("/api/v1/accounts/import", {"accounts": [
        {"org": "c2", "platform": "douyin", "name": "抖音号",
         "credentials": {"client_key": "ck", "client_secret": "DOUYIN-SECRET-123",
                         "open_id": "oid", "access_token": "ACCESS-TOKEN-456",
                         "refresh_token": "REFRESH-789"}}]})
    engine = hub.runtime.db.engine
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM accounts")).all()
    dump = json.dumps([[repr(v) for v in row] for row in rows])
    for secret in ("s3cr3t-清江发布-XYZ", "DOUYIN-SECRET-123", "ACCESS-TOKEN-456", "REFRESH-789"):
        assert secret not in dump
        assert secret.encode() not in b"".join(
            v for row in rows for v in row if isinstance(v, bytes | memoryview))
    if hub.backend == "sqlite":
        db_file = engine.url.database
        hub.runtime.db.dispose()
        raw = Path(db_file).read_bytes()
        wal = Path(db_file + "-wal")
        if wal.exists():
            raw += wal.read_bytes()
        assert b"DOUYIN-SECRET-123" not in raw and b"REFRESH-789" not in raw
