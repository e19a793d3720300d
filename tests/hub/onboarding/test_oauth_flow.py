"""扫码授权 of Weibo and Douyin accounts end to end against the sandbox: the API starts an
attempt, the holder consents, the callback binds the account once, into the right org."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from hub.models import Account, AuditEntry
from tests.hub.helpers import error_of, make_tree
from tests.hub.onboarding.support import authorize, connect_to_sandbox, consent, start
from tests.hub.security.support import make_user


def _setup(hub, sandbox) -> dict[str, str]:
    make_tree(hub)
    connect_to_sandbox(hub, sandbox)
    return {"c1": make_user(hub, "op-c1", ["operator"], org="c1")["token"],
            "c2": make_user(hub, "op-c2", ["operator"], org="c2")["token"],
            "editor": make_user(hub, "ed-c1", ["editor"], org="c1")["token"]}


def test_douyin_consent_creates_the_account_in_the_org_with_sealed_tokens(hub, sandbox):
    tokens = _setup(hub, sandbox)
    started = start(hub, "c1", "douyin", tokens["c1"])
    assert started.status_code == 201, started.json
    body = started.json
    assert {"id", "platform", "status", "url", "qr_url", "expires_at"} <= set(body)
    query = parse_qs(urlsplit(body["url"]).query)
    assert query["client_key"] == ["yc_douyin_app"] and query["response_type"] == ["code"]
    assert "?" not in query["redirect_uri"][0]
    assert len(query["state"][0]) >= 22  # >= 128 bits
    qr = hub.get(body["qr_url"], token=tokens["c1"])
    assert qr.status_code == 200 and qr.data.startswith(b"\x89PNG")
    assert hub.get(f"/api/v1/authorizations/{body['id']}", token=tokens["c1"]).json[
        "status"] == "pending"
    back = consent(body["url"], account="ou_dy_yuncheng")
    page = hub.client.get(back)
    assert page.status_code == 200 and "授权成功" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    done = hub.get(f"/api/v1/authorizations/{body['id']}", token=tokens["c1"]).json
    assert done["status"] == "completed" and done["account_id"]
    account = hub.get(f"/api/v1/accounts/{done['account_id']}", token=tokens["c1"]).json
    assert account["org"] == "c1" and account["name"] == "云城融媒"
    assert account["external_id"] == "ou_dy_yuncheng"
    auth = account["authorization"]
    assert auth["mode"] == "oauth" and auth["state"] == "authorized"
    assert "video.create.bind" in auth["scopes"] and auth["missing"] == []
    assert auth["expires_at"] and auth["token_expires_at"]
    text = json.dumps(account)
    assert "act." not in text and "rft." not in text
    with hub.runtime.db.session() as session:
        row = session.get(Account, done["account_id"])
        sealed = hub.runtime.box.open(row.credentials_sealed, bound_to=row.id)
        assert sealed["access_token"].startswith("act.") and sealed["open_id"] == "ou_dy_yuncheng"
        assert sealed["access_token"].encode() not in row.credentials_sealed
    # The callback replayed (a browser refresh) changes nothing.
    again = hub.client.get(back)
    assert again.status_code == 200 and "授权成功" in again.get_data(as_text=True)
    with hub.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 1
        actions = list(session.scalars(select(AuditEntry.action)))
        assert actions.count("account.authorize") == 1
        assert actions.count("account.authorized") == 1


def test_a_publishing_scope_left_unticked_makes_the_account_insufficient(hub, sandbox):
    tokens = _setup(hub, sandbox)
    connect_to_sandbox(hub, sandbox, douyin_scopes="user_info",
                       douyin_optional_scopes="video.create.bind,1")
    started = start(hub, "c1", "douyin", tokens["c1"]).json
    hub.client.get(consent(started["url"], account="ou_dy_police", scopes=()))
    done = hub.get(f"/api/v1/authorizations/{started['id']}", token=tokens["c1"]).json
    assert done["status"] == "completed"
    account = hub.get(f"/api/v1/accounts/{done['account_id']}").json
    auth = account["authorization"]
    assert auth["state"] == "insufficient" and auth["missing"] == ["video.create.bind"]
    assert auth["reauthorize"]["body"] == {"platform": "douyin",
                                           "account_id": done["account_id"]}
    listed = hub.get("/api/v1/accounts?auth=insufficient").json["items"]
    assert [a["id"] for a in listed] == [done["account_id"]]
    assert hub.get("/api/v1/accounts?auth=revoked").json["items"] == []
    bad = hub.get("/api/v1/accounts?auth=sideways")
    assert bad.status_code == 422 and error_of(bad)["details"]["field"] == "auth"
    summary = hub.get("/api/v1/accounts/authorization-summary?org=c1").json
    assert summary["states"]["insufficient"] == 1 and summary["modes"]["oauth"] == 1


def test_weibo_consent_and_denial(hub, sandbox):
    tokens = _setup(hub, sandbox)
    started = start(hub, "c1", "weibo", tokens["c1"]).json
    query = parse_qs(urlsplit(started["url"]).query)
    assert query["forcelogin"] == ["true"] and query["display"] == ["default"]
    page = hub.client.get(consent(started["url"], account="1404376560", decision="deny"))
    assert "已拒绝授权" in page.get_data(as_text=True)
    assert "/admin/orgs/c1/authorize" in page.get_data(as_text=True)
    denied = hub.get(f"/api/v1/authorizations/{started['id']}", token=tokens["c1"]).json
    assert denied["status"] == "denied" and denied["account_id"] is None
    done = authorize(hub, "c1", "weibo", "1404376560", tokens["c1"])
    assert done["status"] == "completed"
    account = hub.get(f"/api/v1/accounts/{done['account_id']}").json
    assert account["name"] == "云城发布" and account["external_id"] == "1404376560"
    assert account["authorization"]["expires_at"]


def test_tenancy_one_identity_one_org_and_reauthorisation_must_match(hub, sandbox):
    tokens = _setup(hub, sandbox)
    first = authorize(hub, "c1", "douyin", "ou_dy_yuncheng", tokens["c1"])
    assert first["status"] == "completed"
    # c2 cannot bind (nor rebind) the identity c1's account holds.
    taken = authorize(hub, "c2", "douyin", "ou_dy_yuncheng", tokens["c2"])
    assert taken["status"] == "failed" and taken["error"] == "identity_taken"
    with hub.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 1
        assert session.get(Account, first["account_id"]).org_id != taken["org"]
    # Re-authorising c1's account as another Douyin user is refused.
    wrong = authorize(hub, "c1", "douyin", "ou_dy_police", tokens["c1"],
                      account_id=first["account_id"])
    assert wrong["status"] == "failed" and wrong["error"] == "other_identity"
    right = authorize(hub, "c1", "douyin", "ou_dy_yuncheng", tokens["c1"],
                      account_id=first["account_id"])
    assert right["status"] == "completed" and right["account_id"] == first["account_id"]
    # c2's operator cannot re-authorise, nor even see, c1's account or attempts.
    refused = start(hub, "c2", "douyin", tokens["c2"], account_id=first["account_id"])
    assert refused.status_code == 403
    assert hub.get(f"/api/v1/authorizations/{first['id']}", token=tokens["c2"]).status_code == 403
    assert start(hub, "c1", "douyin", tokens["c2"]).status_code == 403
    assert start(hub, "c1", "douyin", tokens["editor"]).status_code == 403


def test_bad_requests_answer_in_the_error_shape(hub, sandbox):
    tokens = _setup(hub, sandbox)
    unknown = start(hub, "c1", "myspace", tokens["c1"])
    assert unknown.status_code == 422 and error_of(unknown)["details"]["field"] == "platform"
    no_starter = start(hub, "c1", "cityapp", tokens["c1"])
    assert no_starter.status_code == 422
    assert start(hub, "nowhere", "weibo").status_code == 404
    not_object = hub.post("/api/v1/orgs/c1/authorizations", ["weibo"], token=tokens["c1"])
    assert not_object.status_code == 422 and error_of(not_object)
    hub.runtime.settings = hub.runtime.settings.with_overrides(weibo_app_key="")
    unconfigured = start(hub, "c1", "weibo", tokens["c1"])
    assert unconfigured.status_code == 422 and error_of(unconfigured)["code"] == "not_configured"
    assert hub.client.get("/oauth/douyin/callback?state=forged&code=x").status_code == 400
    assert hub.client.get("/oauth/douyin/callback").status_code == 400
    assert hub.client.get("/oauth/myspace/callback?state=x").status_code == 404
    assert hub.get("/api/v1/authorizations/au_missing/qr.png").status_code == 404


def test_the_development_server_log_never_shows_a_callback_code_or_state(hub, caplog):
    import logging

    logger = logging.getLogger("werkzeug")
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('"%s" %s %s', "GET /oauth/douyin/callback?code=c0de&state=st4te HTTP/1.1",
                    "200", "-")
        logger.info('"%s" %s %s', "GET /p/it_1?state=kept HTTP/1.1", "200", "-")
    text = caplog.text
    assert "c0de" not in text and "st4te" not in text and "[redacted]" in text
    assert "state=kept" in text  # only callbacks are blanked


def test_the_weibo_qr_carries_the_phone_page_and_typed_in_tokens_replace_a_grant(hub, sandbox):
    tokens = _setup(hub, sandbox)
    started = start(hub, "c1", "weibo", tokens["c1"]).json
    assert "display=default" in started["url"]
    done = authorize(hub, "c1", "weibo", "1404376562", tokens["c1"])
    account_id = done["account_id"]
    with hub.runtime.db.session() as session:
        session.get(Account, account_id).auth_state = "expired"
    patched = hub.patch(f"/api/v1/accounts/{account_id}", {"credentials": {
        "access_token": "2.00typed_in_by_an_admin", "uid": "1404376562"}})
    assert patched.status_code == 200, patched.json
    auth = patched.json["authorization"]
    assert auth["mode"] == "secret" and auth["state"] == "authorized"
    assert auth["expires_at"] is None and auth["reauthorize"] is None


def test_the_qr_code_encodes_the_mobile_consent_page(hub, sandbox, monkeypatch):
    from hub.services import authorization_actions

    tokens = _setup(hub, sandbox)
    seen: list[str] = []
    real = authorization_actions.segno.make
    monkeypatch.setattr(authorization_actions.segno, "make",
                        lambda content, **kw: seen.append(content) or real(content, **kw))
    started = start(hub, "c1", "weibo", tokens["c1"]).json
    svg = hub.get(f"/api/v1/authorizations/{started['id']}/qr.svg", token=tokens["c1"])
    assert svg.status_code == 200 and b"<svg" in svg.data
    assert seen and "display=mobile" in seen[0] and "forcelogin=true" in seen[0]
    hub.client.get(consent(started["url"], account="1404376561", decision="deny"))
    gone = hub.get(f"/api/v1/authorizations/{started['id']}/qr.png", token=tokens["c1"])
    assert gone.status_code == 410 and error_of(gone)["code"] == "gone"


def test_a_code_that_expired_before_the_callback_fails_the_attempt(hub, sandbox):
    from sandbox.douyin import settings_for

    tokens = _setup(hub, sandbox)
    settings_for(sandbox.state).code_ttl_s = 0  # dead on arrival
    started = start(hub, "c1", "douyin", tokens["c1"]).json
    page = hub.client.get(consent(started["url"], account="ou_dy_yuncheng"))
    assert "授权未完成" in page.get_data(as_text=True)
    failed = hub.get(f"/api/v1/authorizations/{started['id']}", token=tokens["c1"]).json
    assert failed["status"] == "failed" and failed["error"].startswith("douyin_")
    assert failed["account_id"] is None


def test_an_unexpected_failure_in_the_exchange_fails_the_attempt_not_the_page(hub, sandbox,
                                                                            monkeypatch):
    from hub.services.onboarding import registry

    tokens = _setup(hub, sandbox)

    def broken(runtime, code, callback):
        raise KeyError("access_token")

    monkeypatch.setitem(registry.OAUTH_EXCHANGES, "douyin", broken)
    started = start(hub, "c1", "douyin", tokens["c1"]).json
    page = hub.client.get(consent(started["url"], account="ou_dy_yuncheng"))
    assert page.status_code == 200 and "授权未完成" in page.get_data(as_text=True)
    failed = hub.get(f"/api/v1/authorizations/{started['id']}", token=tokens["c1"]).json
    assert failed["status"] == "failed" and failed["error"] == "internal_error"
