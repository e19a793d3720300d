"""Password login with a session cookie and CSRF, throttling, tokens shown once and revocable,
and no secret in any answer or log line."""

from __future__ import annotations

import logging

from sqlalchemy import select

from hub.models import ApiToken, User
from hub.services.throttle import MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_PAIR
from tests.hub.helpers import error_of, make_account, make_tree

from .support import make_user

PASSWORD = "correct horse battery"


def _login(hub, name: str, password: str, address: str = "10.0.0.1"):
    return hub.client.post("/api/v1/session", json={"name": name, "password": password},
                           environ_base={"REMOTE_ADDR": address})


def test_login_session_cookie_and_csrf(hub):
    make_tree(hub)
    make_user(hub, "wang", ["editor"], password=PASSWORD)
    bad = _login(hub, "wang", "wrong password!")
    assert bad.status_code == 401 and error_of(bad)["code"] == "login_failed"
    r = _login(hub, "wang", PASSWORD)
    assert r.status_code == 200, r.json
    csrf = r.json["csrf_token"]
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    me = hub.client.get("/api/v1/session")
    assert me.status_code == 200 and me.json["user"]["name"] == "wang"
    assert me.json["csrf_token"] == csrf and me.json["via"] == "session"
    item = {"org": "c1", "kind": "article", "title": "标题", "body": "<p>正文</p>"}
    no_csrf = hub.client.post("/api/v1/items", json=item)
    assert no_csrf.status_code == 403 and error_of(no_csrf)["code"] == "csrf_failed"
    wrong = hub.client.post("/api/v1/items", json=item, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    ok = hub.client.post("/api/v1/items", json=item, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    assert hub.client.delete("/api/v1/session").status_code == 403  # logout needs CSRF too
    assert hub.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 200
    hub.client.set_cookie("yunchu_session", cookie.split(";")[0].split("=", 1)[1])
    assert hub.client.get("/api/v1/session").status_code == 401  # the old cookie is dead
    form = hub.client.post("/api/v1/session", data={"name": "wang", "password": PASSWORD})
    assert form.status_code == 415  # a cross-site form cannot log a victim in
    logins = hub.get("/api/v1/audit?action=login").json["items"]
    assert [e["outcome"] for e in logins] == ["ok", "failed"]
    assert logins[0]["source_ip"] == "10.0.0.1" and logins[0]["actor"]["name"] == "wang"


def test_failed_logins_are_throttled_per_name_and_address_and_per_address(sqlite_hub):
    hub = sqlite_hub  # the throttle lives in Redis: one database backend is enough
    make_tree(hub)
    make_user(hub, "li", ["editor"], password=PASSWORD)
    for _ in range(MAX_FAILURES_PER_PAIR):
        assert _login(hub, "li", "not the password").status_code == 401
    throttled = _login(hub, "li", PASSWORD)  # the guesser's address: not even checked
    assert throttled.status_code == 429 and error_of(throttled)["code"] == "login_throttled"
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
    assert error_of(throttled)["details"]["retry_after"] == int(throttled.headers["Retry-After"])
    # The real user at another address is not locked out by someone else's guesses.
    assert _login(hub, "li", PASSWORD, address="10.0.0.2").status_code == 200
    make_user(hub, "zhao", ["editor"], password=PASSWORD)
    for index in range(MAX_FAILURES_PER_ADDRESS):  # one address guessing at many names
        assert _login(hub, f"nobody-{index}", "guess guess guess",
                      address="10.9.9.9").status_code == 401
    assert _login(hub, "zhao", PASSWORD, address="10.9.9.9").status_code == 429
    assert _login(hub, "zhao", PASSWORD, address="10.0.0.3").status_code == 200
    unknown = hub.get("/api/v1/audit?action=login&outcome=failed&limit=1").json["items"][0]
    assert unknown["actor"]["name"] is None  # a mistyped name may be a password: not logged


def test_tokens_are_shown_once_stored_hashed_and_revocable(hub):
    make_tree(hub)
    user = make_user(hub, "ops", ["operator"], org="c1-k1")
    first = user["token"]
    issued = hub.post(f"/api/v1/users/{user['id']}/tokens", {"label": "script"}, token=first)
    assert issued.status_code == 201 and issued.json["token"].startswith("yc_")
    second = issued.json["token"]
    listed = hub.get(f"/api/v1/users/{user['id']}/tokens", token=second).json["items"]
    assert len(listed) == 2 and all("token" not in t and "token_hash" not in t for t in listed)
    with hub.runtime.db.session() as session:
        stored = set(session.execute(select(ApiToken.token_hash).where(
            ApiToken.user_id == user["id"])).scalars())
    assert first not in stored and second not in stored and len(stored) == 2
    revoked = hub.post(f"/api/v1/tokens/{issued.json['id']}/revoke", {}, token=first)
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert hub.get("/api/v1/session", token=second).status_code == 401
    assert hub.get("/api/v1/session", token=first).status_code == 200
    other = make_user(hub, "ops2", ["operator"], org="c1-k1")
    other_token_id = hub.get(f"/api/v1/users/{other['id']}/tokens",
                             token=other["token"]).json["items"][0]["id"]
    assert hub.post(f"/api/v1/tokens/{other_token_id}/revoke", {},
                    token=first).status_code == 403
    assert hub.post("/api/v1/tokens/tok_nope/revoke", {}).status_code == 404
    actions = [e["action"] for e in hub.get(f"/api/v1/audit?item={user['id']}").json["items"]]
    assert actions.count("token.issue") == 2 and "token.revoke" in actions


def test_account_and_credential_changes(hub):
    make_tree(hub)
    user = make_user(hub, "zhou", ["reviewer"], stage=1, password=PASSWORD)
    assert _login(hub, "zhou", PASSWORD).status_code == 200
    r = hub.patch(f"/api/v1/users/{user['id']}", {"password": "another long password"})
    assert r.status_code == 200 and r.json["has_password"] is True
    assert hub.client.get("/api/v1/session").status_code == 401  # sessions ended
    assert _login(hub, "zhou", PASSWORD).status_code == 401
    assert _login(hub, "zhou", "another long password").status_code == 200
    assert hub.patch(f"/api/v1/users/{user['id']}", {"password": "short"}).status_code == 422
    assert hub.patch(f"/api/v1/users/{user['id']}", {"roles": ["reviewer"],
                                                     "review_stage": 4}).status_code == 422
    dup = hub.post("/api/v1/users", {"org": "c1", "name": "zhou", "roles": ["editor"],
                                     "password": PASSWORD})
    assert dup.status_code == 409 and error_of(dup)["code"] == "duplicate_name"
    hub.patch(f"/api/v1/users/{user['id']}", {"disabled": True})
    assert hub.get("/api/v1/session", token=user["token"]).status_code == 401
    changes = [e["action"] for e in hub.get(f"/api/v1/audit?item={user['id']}").json["items"]]
    assert "user.password" in changes and "user.update" in changes
    moved = hub.patch(f"/api/v1/users/{user['id']}", {"roles": ["editor"]}).json
    assert moved["roles"] == ["editor"] and moved["review_stage"] is None


def test_own_password_change_needs_the_current_one(hub):
    make_tree(hub)
    user = make_user(hub, "sun", ["editor"], password=PASSWORD)
    change = "/api/v1/session/password"
    wrong = hub.post(change, {"current_password": "not it at all", "new_password": "x" * 12},
                     token=user["token"])
    assert wrong.status_code == 403
    ok = hub.post(change, {"current_password": PASSWORD, "new_password": "new long password"},
                  token=user["token"])
    assert ok.status_code == 200
    assert _login(hub, "sun", "new long password").status_code == 200


def test_no_secret_in_any_answer_or_log_line(hub, caplog):
    caplog.set_level(logging.DEBUG)
    make_tree(hub)
    user = make_user(hub, "qian", ["editor"], password=PASSWORD)
    token = user["token"]
    account = make_account(hub, "c1", "c1-wechat")
    hub.patch(f"/api/v1/accounts/{account['id']}", {"credentials": {
        "appid": "wx-c1", "secret": "rotated-secret-XYZ"}})
    answers = [_login(hub, "qian", PASSWORD), _login(hub, "qian", "wrong wrong wrong"),
               hub.get(f"/api/v1/users/{user['id']}"), hub.get("/api/v1/users"),
               hub.get(f"/api/v1/users/{user['id']}/tokens"),
               hub.get("/api/v1/audit?limit=1000"), hub.get("/api/v1/session", token=token),
               hub.get("/api/v1/orgs", token=token + "x"),
               _login(hub, PASSWORD, PASSWORD), hub.get("/api/v1/accounts?org=c1"),
               hub.get(f"/api/v1/accounts/{account['id']}")]
    with hub.runtime.db.session() as session:
        password_hash = session.execute(select(User.password_hash).where(
            User.id == user["id"])).scalar_one()
        token_hashes = list(session.execute(select(ApiToken.token_hash)).scalars())
    secrets = [PASSWORD, password_hash, token, hub.token, *token_hashes, "s3cr3t-c1-wechat-XYZ",
               "rotated-secret-XYZ"]
    for answer in answers:
        body = answer.get_data(as_text=True)
        for secret in secrets:
            assert secret not in body, (answer.request.path, secret[:6])
    for record in caplog.records:
        for secret in secrets:
            assert secret not in record.getMessage()
    assert answers[0].status_code == 200 and answers[-3].status_code == 401
