"""The hub as a WeChat 第三方平台, end to end against the sandbox over real HTTP, on
PostgreSQL and Redis: ticket pushes, the one component token, 扫码授权 through the consent
page, publishing and withdrawing through an authorised account, cancellation, and the
org boundary."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from adapters.wechat_component import TicketUnavailable
from adapters.wechat_crypto import encrypt
from hub.models import Account, Authorization, Org, PlatformSecret
from hub.services.onboarding import attempts
from hub.services.onboarding.registry import starter_for
from hub.services.wechat_component import setup, tickets
from sandbox.wechat_component import FIXTURES, ComponentSandbox
from tests.plugins.hub import database_url_for, make_hub

from .conftest import API_REDIS_DB, PUBLIC_URL
from .support import ApiRig

APPID = "wxc0mp0nent0000001"
SECRET = "component-secret-0123456789abcdef"
TOKEN = "ComponentToken01"
AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"
ALL_FUNCSETS = ["1", "2", "3", "7", "11", "15"]


@pytest.fixture
def wx(redis_server_url: str, sandbox, tmp_path: Path,
       request: pytest.FixtureRequest) -> Iterator[WxRig]:
    redis_url = redis_server_url.rsplit("/", 1)[0] + f"/{API_REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    hub = make_hub(database_url_for(request, "postgres", tmp_path), redis_url, tmp_path,
                   public_url=PUBLIC_URL, outbound_allow=sandbox.allow_entry,
                   api_bases=(("wechat", sandbox.platform_url("wechat")),),
                   wechat_component_appid=APPID, wechat_component_secret=SECRET,
                   wechat_component_token=TOKEN, wechat_component_aes_key=AES_KEY,
                   wechat_component_login_base=sandbox.platform_url("wechat"))
    rig = ApiRig(hub=hub, sandbox=sandbox)
    rig.build_tree()
    server = make_server("127.0.0.1", 0, hub.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WxRig(rig, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        hub.runtime.close()


class WxRig:
    def __init__(self, rig: ApiRig, live: str) -> None:
        self.rig = rig
        self.live = live
        self.runtime = rig.hub.runtime
        self.sandbox = rig.sandbox

    @property
    def component(self) -> ComponentSandbox:
        hooks = self.sandbox.state._reset_hooks
        return next(h.__self__ for h in hooks if isinstance(h.__self__, ComponentSandbox))

    def register(self, **options: Any) -> dict[str, Any]:
        r = requests.post(f"{self.sandbox.platform_url('wechat')}/_component/apps/{APPID}",
                          json={"secret": SECRET, "token": TOKEN, "aes_key": AES_KEY,
                                "event_url": f"{self.live}/wechat/component/events",
                                "domain": "127.0.0.1", **options}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def stored_ticket(self) -> str | None:
        with self.runtime.db.session() as session:
            return tickets.load(session, self.runtime.box)

    def org_id(self, slug: str) -> str:
        with self.runtime.db.session() as session:
            return session.scalar(select(Org.id).where(Org.slug == slug))

    def begin(self, org: str, account: Account | None = None) -> tuple[str, str]:
        """Start an attempt as the generic onboarding API does: (attempt id, link)."""
        starter = starter_for("wechat")
        assert starter is not None
        begun = starter(self.runtime, callback_url=f"{self.live}/oauth/wechat/callback",
                        account=account)
        with self.runtime.db.session() as session:
            attempt = attempts.create(session, self.runtime.box, org_id=self.org_id(org),
                                      platform="wechat", secret=begun.secret,
                                      expires_in=begun.expires_in, started_by=None,
                                      account_id=account.id if account else None)
            return attempt.id, begun.url

    def consent(self, link: str, *, authorizer: str = FIXTURES[0].appid,
                funcsets: list[str] = ALL_FUNCSETS, decision: str = "approve"
                ) -> requests.Response:
        """What the admin does: open the link from a hub page, pick the account, press."""
        page = requests.get(link, headers={"Referer": f"{self.live}/admin/onboarding"},
                            timeout=10)
        assert page.status_code == 200, page.text
        assert "同意授权" in page.text and "拒绝" in page.text
        query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
        form = {"component_appid": query["component_appid"],
                "pre_auth_code": query["pre_auth_code"], "redirect_uri": query["redirect_uri"],
                "authorizer_appid": authorizer, "funcset": funcsets, "decision": decision}
        return requests.post(f"{self.sandbox.platform_url('wechat')}/cgi-bin/componentloginpage"
                             "/confirm", data=form, timeout=30)

    def consent_page_status(self, link: str) -> int:
        return requests.get(link, headers={"Referer": f"{self.live}/x"}, timeout=10).status_code

    def attempt(self, attempt_id: str) -> Authorization:
        with self.runtime.db.session() as session:
            attempt = session.get(Authorization, attempt_id)
            session.expunge(attempt)
            return attempt

    def account_of(self, appid: str) -> Account | None:
        with self.runtime.db.session() as session:
            account = session.scalar(select(Account).where(Account.external_id == appid))
            if account is not None:
                session.expunge(account)
            return account

    def pushes(self, info_type: str) -> list[dict[str, Any]]:
        return [p for p in self.component.apps[APPID].pushes if p["info_type"] == info_type]


def wait_for(check: Callable[[], Any], what: str, limit_s: float = 20) -> Any:
    """Pushes travel on their own thread: wait for what they bring (not a speed check)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def onboarded(wx: WxRig, org: str = "c1-k1", **consent: Any) -> tuple[str, Account]:
    attempt_id, link = wx.begin(org)
    answer = wx.consent(link, **consent)
    assert answer.status_code in (200, 202), answer.text
    authorizer = consent.get("authorizer", FIXTURES[0].appid)
    wait_for(lambda: any(p["ok"] for p in wx.pushes("authorized")), "authorized push answered")
    account = wait_for(lambda: wx.account_of(authorizer), "account bound")
    return attempt_id, account


# ---------------------------------------------------------------- tickets and the token


def test_ticket_push_is_stored_sealed_and_answered_success(wx: WxRig) -> None:
    wx.register()
    assert wx.pushes("component_verify_ticket")[-1]["ok"]  # the hub answered exactly "success"
    issued = list(wx.component.apps[APPID].tickets)
    assert wx.stored_ticket() == issued[-1]
    with wx.runtime.db.session() as session:
        row = session.get(PlatformSecret, tickets.TICKET)
        assert issued[-1].encode() not in row.value_sealed
    r = requests.post(f"{wx.sandbox.platform_url('wechat')}/_component/apps/{APPID}/push_ticket",
                      timeout=10)
    assert r.json() == {"ok": True}
    assert wx.stored_ticket() == list(wx.component.apps[APPID].tickets)[-1] != issued[-1]


def _signed_event(xml: bytes, *, token: str = TOKEN) -> tuple[dict[str, str], bytes]:
    sealed = encrypt(AES_KEY, APPID, xml)
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    sign = lambda *parts: hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: E731
    query = {"signature": sign(token, timestamp, nonce), "timestamp": timestamp,
             "nonce": nonce, "encrypt_type": "aes",
             "msg_signature": sign(token, timestamp, nonce, sealed)}
    return query, f"<xml><AppId>{APPID}</AppId><Encrypt>{sealed}</Encrypt></xml>".encode()


def _ticket_xml(ticket: str) -> bytes:
    return (f"<xml><AppId>{APPID}</AppId><CreateTime>{int(time.time())}</CreateTime>"
            f"<InfoType>component_verify_ticket</InfoType>"
            f"<ComponentVerifyTicket>{ticket}</ComponentVerifyTicket></xml>").encode()


def test_bad_signature_replay_and_foreign_appid_are_refused(wx: WxRig) -> None:
    client = wx.rig.hub.client
    query, body = _signed_event(_ticket_xml("ticket@@@first"))
    first = client.post("/wechat/component/events", query_string=query, data=body,
                        content_type="text/xml")
    assert first.status_code == 200 and first.get_data(as_text=True) == "success"
    assert wx.stored_ticket() == "ticket@@@first"

    query2, body2 = _signed_event(_ticket_xml("ticket@@@second"))
    assert client.post("/wechat/component/events", query_string=query2, data=body2,
                       content_type="text/xml").status_code == 200
    # The first request again: acknowledged, not acted on.
    again = client.post("/wechat/component/events", query_string=query, data=body,
                        content_type="text/xml")
    assert again.get_data(as_text=True) == "success"
    assert wx.stored_ticket() == "ticket@@@second"

    forged, forged_body = _signed_event(_ticket_xml("ticket@@@forged"), token="WrongToken")
    refused = client.post("/wechat/component/events", query_string=forged, data=forged_body,
                          content_type="text/xml")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "bad_signature"

    other = encrypt(AES_KEY, "wxsomeoneelse00001", _ticket_xml("ticket@@@other"))
    q, _ = _signed_event(b"")
    sign = lambda *p: hashlib.sha1("".join(sorted(p)).encode()).hexdigest()  # noqa: E731
    q["msg_signature"] = sign(TOKEN, q["timestamp"], q["nonce"], other)
    wrong_appid = client.post("/wechat/component/events", query_string=q,
                              data=f"<xml><Encrypt>{other}</Encrypt></xml>".encode(),
                              content_type="text/xml")
    assert wrong_appid.status_code == 400
    assert wx.stored_ticket() == "ticket@@@second"


def test_one_component_token_fetch_serves_every_thread(wx: WxRig) -> None:
    wx.register()
    got: list[str] = []

    def fetch() -> None:
        got.append(setup.run(wx.runtime, lambda client: client.component_token()))

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 4 and len(set(got)) == 1
    assert wx.component.apps[APPID].tokens_today == 1


def test_expired_ticket_asks_for_a_push_and_says_so(wx: WxRig) -> None:
    wx.register(push_interval_s=10**9)
    wx.sandbox.advance_clock(13 * 3600)  # the only ticket is now older than 12 h
    pushed = len(wx.pushes("component_verify_ticket"))
    with pytest.raises(TicketUnavailable) as refused:
        setup.run(wx.runtime, lambda client: client.component_token())
    assert refused.value.code == 61005 and "component_verify_ticket" in refused.value.reason
    wait_for(lambda: len(wx.pushes("component_verify_ticket")) > pushed, "ticket pushed")
    assert setup.run(wx.runtime, lambda client: client.component_token())


# ---------------------------------------------------------------- 扫码授权


def test_authorise_publish_withdraw_then_cancel_excludes_the_account(wx: WxRig) -> None:
    wx.register()
    attempt_id, account = onboarded(wx)
    attempt = wx.attempt(attempt_id)
    assert attempt.status == attempts.COMPLETED and attempt.account_id == account.id
    assert account.org_id == wx.org_id("c1-k1") and account.name == FIXTURES[0].nick_name
    assert account.auth_mode == "component" and account.auth_state == "authorized"
    assert account.auth_scopes == [1, 2, 3, 7, 11, 15] and account.auth_missing == []
    credentials = wx.runtime.box.open(account.credentials_sealed, bound_to=account.id)
    assert credentials["authorizer_refresh_token"].startswith("refreshtoken@@@")
    assert "secret" not in credentials

    # The redirect again (a browser refresh): nothing happens twice.
    replay = requests.get(wx.live + "/oauth/wechat/callback", timeout=10, params={
        "auth_code": next(iter(wx.component.apps[APPID].auth_codes)), "expires_in": "600"})
    assert replay.status_code in (200, 202)
    with wx.runtime.db.session() as session:
        assert len(session.scalars(select(Account).where(Account.platform == "wechat")).all()) == 1

    rig = wx.rig
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    rig.drain()
    live = wx.sandbox.posts(platform="wechat", account=FIXTURES[0].appid, state="live")
    assert len(live) == 1
    r = rig.hub.post(f"/api/v1/items/{item}/withdraw", {"reason": "内容有误"})
    assert r.status_code == 202, r.json
    rig.drain()
    assert wx.sandbox.posts(platform="wechat", account=FIXTURES[0].appid, state="live") == []

    cancel = requests.post(f"{wx.sandbox.platform_url('wechat')}/_component/apps/{APPID}"
                           f"/revoke/{FIXTURES[0].appid}", timeout=10)
    assert cancel.json() == {"ok": True}
    revoked = wx.account_of(FIXTURES[0].appid)
    assert revoked.auth_state == "revoked" and revoked.auth_error and revoked.auth_changed_at

    second = rig.item("c1")
    preview = rig.hub.post(f"/api/v1/items/{second}/push/preview",
                           {"targets": {"orgs": ["c1-k1"]}})
    assert preview.status_code == 200, preview.json
    assert preview.json["skip_codes"] == {"auth_revoked": 1}
    pushed = rig.pushed(second, {"orgs": ["c1-k1"]})
    assert pushed["skipped"] == 1 and pushed["skip_codes"] == {"auth_revoked": 1}
    rows = rig.deliveries(f"/api/v1/dispatches/{pushed['dispatch_id']}/deliveries")
    assert len(rows) == 1 and rows[0]["state"] == "skipped", rows
    assert "授权已撤销" in str(rows[0]), rows


def test_a_grant_without_publishing_func_sets_is_insufficient_and_excluded(wx: WxRig) -> None:
    wx.register()
    _, account = onboarded(wx, authorizer=FIXTURES[1].appid, funcsets=["1", "11"])
    assert account.auth_state == "insufficient"
    assert {"publish", "delete"} <= set(account.auth_missing)
    item = wx.rig.item("c1")
    pushed = wx.rig.pushed(item, {"orgs": ["c1-k1"]})
    assert pushed["skip_codes"] == {"auth_insufficient": 1}


def test_unverified_account_misses_verified_only_capabilities(wx: WxRig) -> None:
    wx.register()
    _, account = onboarded(wx, authorizer=FIXTURES[2].appid)
    assert account.auth_state == "authorized"
    assert set(account.auth_missing) == {"statistics", "comments"}


def test_an_org_never_binds_an_account_held_by_another_org(wx: WxRig) -> None:
    wx.register()
    _, account = onboarded(wx, org="c1-k1")
    attempt_id, link = wx.begin("c2-k1")
    answer = wx.consent(link)
    assert answer.status_code == 409 and "其他单位" in answer.text
    # Already authorised to the hub: WeChat calls this one an update.
    wait_for(lambda: any(p["ok"] for p in wx.pushes("updateauthorized")), "push answered")
    attempt = wx.attempt(attempt_id)
    assert attempt.status == attempts.FAILED and "其他单位" in attempt.error
    held = wx.account_of(FIXTURES[0].appid)
    assert held.org_id == account.org_id == wx.org_id("c1-k1")
    with wx.runtime.db.session() as session:
        assert session.scalar(select(Account.id).where(
            Account.org_id == wx.org_id("c2-k1"))) is None
    # The platform replaced the refresh token on that consent: the holder keeps working.
    grant = wx.component.apps[APPID].grants[FIXTURES[0].appid]
    credentials = wx.runtime.box.open(held.credentials_sealed, bound_to=held.id)
    assert credentials["authorizer_refresh_token"] == grant.refresh_token
    assert held.auth_state == "authorized"


def test_refusal_denies_the_attempt_and_a_used_code_reads_as_used(wx: WxRig) -> None:
    wx.register()
    attempt_id, link = wx.begin("c1-k1")
    answer = wx.consent(link, decision="deny")
    assert answer.status_code == 200 and "拒绝" in answer.text
    assert wx.attempt(attempt_id).status == attempts.DENIED
    again = wx.consent_page_status(link)
    assert again == 400  # the pre-auth code is spent

    unknown = requests.get(wx.live + "/oauth/wechat/callback", timeout=10,
                           params={"auth_code": "queryauthcode@@@never-issued"})
    assert unknown.status_code == 400 and "已使用或已过期" in unknown.text


def test_consent_page_refuses_other_domains_and_auth_type_with_biz_appid(wx: WxRig) -> None:
    wx.register()
    _, link = wx.begin("c1-k1")
    bare = requests.get(link, timeout=10)  # no Referer: a bare redirect from elsewhere
    assert bare.status_code == 400 and "授权入口页所在域名：空" in bare.text
    both = requests.get(link + "&biz_appid=" + FIXTURES[0].appid, timeout=10,
                        headers={"Referer": wx.live + "/"})
    assert both.status_code == 400 and "biz_appid" in both.text



# ---------------------------------------------------------------- what business calls learn


def test_cancel_without_the_push_is_learned_from_the_token_refresh(wx: WxRig) -> None:
    """The unauthorized push never arrived: the old token is refused (40001), the refresh
    answers 61003, and the account is revoked by the delivery's outcome."""
    wx.register()
    _, account = onboarded(wx)
    grant = wx.component.apps[APPID].grants[FIXTURES[0].appid]
    wx.sandbox.call_in_server(setattr, grant, "revoked", True)
    item = wx.rig.item("c1")
    wx.rig.pushed(item, {"orgs": ["c1-k1"]})
    wx.rig.drain()
    revoked = wx.account_of(FIXTURES[0].appid)
    assert revoked.auth_state == "revoked" and "取消" in revoked.auth_error
    assert revoked.flagged_reason is None  # the authorisation, not the credentials, failed
    assert wx.sandbox.posts(platform="wechat", account=FIXTURES[0].appid) == []


def test_a_func_set_the_platform_gates_marks_the_account_insufficient(
        wx: WxRig, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub was told publishing needs only 11; WeChat wants 7 for freepublish (61007)."""
    settings = wx.runtime.settings.with_overrides(
        wechat_component_funcsets="publish=11,delete=11")
    monkeypatch.setattr(wx.runtime, "settings", settings)
    wx.register()
    _, account = onboarded(wx, funcsets=["1", "11"])
    assert account.auth_state == "authorized"
    item = wx.rig.item("c1")
    wx.rig.pushed(item, {"orgs": ["c1-k1"]})
    wx.rig.drain()
    marked = wx.account_of(FIXTURES[0].appid)
    assert marked.auth_state == "insufficient" and "权限集" in marked.auth_error


def test_component_api_refusals_the_hub_reports(wx: WxRig) -> None:
    wx.register(ip_whitelist=["10.0.0.1"], push_interval_s=10**9)
    with pytest.raises(Exception) as outside:
        setup.run(wx.runtime, lambda client: client.component_token())
    assert getattr(outside.value, "code", None) == 61004
    assert "白名单" in outside.value.reason

    wx.register(token_daily_limit=1, push_interval_s=10**9)
    assert setup.run(wx.runtime, lambda client: client.component_token())
    wx.runtime.redis.flushdb()  # forget the token: the next call must fetch
    with pytest.raises(Exception) as capped:
        setup.run(wx.runtime, lambda client: client.component_token())
    assert getattr(capped.value, "code", None) == 45009


def test_reauthorising_an_account_locks_the_page_to_it(wx: WxRig) -> None:
    wx.register()
    _, account = onboarded(wx, funcsets=["1", "11"])
    assert account.auth_state == "insufficient"
    attempt_id, link = wx.begin("c1-k1", account=account)
    query = parse_qs(urlsplit(link).query)
    assert query["biz_appid"] == [FIXTURES[0].appid] and "auth_type" not in query
    answer = wx.consent(link)  # the page lists only that account
    assert answer.status_code in (200, 202), answer.text
    wait_for(lambda: wx.attempt(attempt_id).status == attempts.COMPLETED, "re-authorised")
    again = wx.account_of(FIXTURES[0].appid)
    assert again.id == account.id and again.auth_state == "authorized"
    assert again.auth_scopes == [1, 2, 3, 7, 11, 15]


def test_the_token_is_renewed_once_before_it_expires(wx: WxRig) -> None:
    wx.register()
    first = setup.run(wx.runtime, lambda client: client.component_token())
    component = setup.component_of(wx.runtime.settings)
    assert component is not None
    # Inside the renewal window: the token still works, its "fresh" mark has lapsed.
    wx.runtime.redis.delete("yunchu:tok:" + component.token_key + ":fresh")
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(setup.run(
        wx.runtime, lambda client: client.component_token()))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wx.component.apps[APPID].tokens_today == 2  # one renewal, whoever noticed
    renewed = setup.run(wx.runtime, lambda client: client.component_token())
    assert renewed != first and set(got) <= {first, renewed}


def test_a_redirect_without_its_key_waits_for_the_push_which_binds_once(wx: WxRig) -> None:
    """WeChat may drop the redirect URI's query: the redirect exchanges the code and parks
    the answer; the push (the code is single use) binds from it."""
    wx.register()
    app = wx.component.apps[APPID]
    wx.sandbox.call_in_server(setattr, app, "event_url", "http://127.0.0.1:9/gone")
    attempt_id, link = wx.begin("c1-k1")
    page = requests.get(link, headers={"Referer": wx.live + "/"}, timeout=10)
    assert page.status_code == 200
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    sent = requests.post(f"{wx.sandbox.platform_url('wechat')}/cgi-bin/componentloginpage"
                         "/confirm", allow_redirects=False, timeout=10, data={
                             "component_appid": APPID, "pre_auth_code": query["pre_auth_code"],
                             "redirect_uri": query["redirect_uri"], "funcset": ALL_FUNCSETS,
                             "authorizer_appid": FIXTURES[1].appid, "decision": "approve"})
    auth_code = parse_qs(urlsplit(sent.headers["Location"]).query)["auth_code"][0]
    callback = wx.live + "/oauth/wechat/callback"
    waiting = requests.get(callback, params={"auth_code": auth_code, "expires_in": "600"},
                           timeout=10)
    assert waiting.status_code == 202 and wx.account_of(FIXTURES[1].appid) is None
    assert wx.attempt(attempt_id).status == attempts.PENDING

    event = (f"<xml><AppId>{APPID}</AppId><CreateTime>{int(time.time())}</CreateTime>"
             f"<InfoType>authorized</InfoType><AuthorizerAppid>{FIXTURES[1].appid}"
             f"</AuthorizerAppid><AuthorizationCode>{auth_code}</AuthorizationCode>"
             f"<AuthorizationCodeExpiredTime>600</AuthorizationCodeExpiredTime>"
             f"<PreAuthCode>{query['pre_auth_code']}</PreAuthCode></xml>").encode()
    signed, body = _signed_event(event)
    answer = wx.rig.hub.client.post("/wechat/component/events", query_string=signed, data=body,
                                    content_type="text/xml")
    assert answer.get_data(as_text=True) == "success"
    account = wx.account_of(FIXTURES[1].appid)
    assert account is not None and account.org_id == wx.org_id("c1-k1")
    assert account.name == FIXTURES[1].nick_name and account.auth_state == "authorized"
    assert wx.attempt(attempt_id).status == attempts.COMPLETED
    done = requests.get(callback, params={"auth_code": auth_code}, timeout=10)
    assert done.status_code == 200 and FIXTURES[1].nick_name in done.text


def _token_health(wx: WxRig, account_id: str) -> tuple[Any, Any]:
    with wx.runtime.db.session() as session:
        row = session.get(Account, account_id)
        return row.auth_token_expires_at, row.auth_refreshed_at


def test_a_worker_refresh_of_the_authorizer_token_is_recorded_on_the_account(
        wx: WxRig) -> None:
    from datetime import timedelta

    from adapters.tokens import TOKEN_PREFIX
    from hub.models import utcnow

    wx.register()
    _, account = onboarded(wx)
    long_ago = utcnow() - timedelta(days=3)

    def backdate() -> None:
        with wx.runtime.db.session() as session:
            row = session.get(Account, account.id)
            row.auth_token_expires_at = row.auth_refreshed_at = long_ago

    # The cached authorizer token has run out: the worker fetches a new one.
    backdate()
    cache = wx.runtime.redis
    dropped = [key for key in cache.scan_iter(f"{TOKEN_PREFIX}wechat-authorizer:*")
               if b":lock:" not in key]
    if dropped:
        cache.delete(*dropped)
    before = utcnow()
    item = wx.rig.item("c1")
    wx.rig.pushed(item, {"orgs": ["c1-k1"]})
    wx.rig.drain()
    assert len(wx.sandbox.posts(platform="wechat", account=FIXTURES[0].appid)) == 1
    expires_at, refreshed_at = _token_health(wx, account.id)
    assert refreshed_at >= before
    # The sandbox's authorizer tokens last 7200 s from the fetch.
    assert before + timedelta(seconds=7000) < expires_at < utcnow() + timedelta(seconds=7300)
    health = wx.rig.hub.get(f"/api/v1/accounts/{account.id}").json["authorization"]
    assert health["token_expires_at"] and health["last_refresh"]

    # A push served from the cache refreshes nothing and writes nothing about it.
    backdate()
    second = wx.rig.item("c1")
    wx.rig.pushed(second, {"orgs": ["c1-k1"]})
    wx.rig.drain()
    assert len(wx.sandbox.posts(platform="wechat", account=FIXTURES[0].appid)) == 2
    assert _token_health(wx, account.id) == (long_ago, long_ago)


def _collect_reach(wx: WxRig, account: Account) -> Any:
    from hub.fanout.executor import Executor
    from hub.fanout.loop import LoopThread
    from hub.services.reach import runner

    loop = LoopThread()
    executor = Executor(wx.runtime, "reach-component")
    loop.run(executor.start())
    try:
        return loop.run(runner.run(executor, "wechat", [account.id]))
    finally:
        loop.run(executor.close())
        loop.stop()


def test_reach_is_collected_with_the_authorizer_token_and_its_func_sets(wx: WxRig) -> None:
    """Reach collection takes the delegated account's token path, as publishing does; a grant
    without func sets 7 and 2 is refused by the platform (61007) and reported, not retried."""
    wx.register()
    _, account = onboarded(wx)
    report = _collect_reach(wx, account)
    assert report.collected == 1 and report.errors == {}, report
    assert report.calls["datacube/getbizsummary"] >= 1
    assert report.calls["datacube/getusercumulate"] >= 1
    _, narrow = onboarded(wx, authorizer=FIXTURES[1].appid, funcsets=["1", "11"])
    refused = _collect_reach(wx, narrow)
    assert refused.collected == 0 and sum(refused.errors.values()) == 1, refused
