"""The emulated 第三方平台 over HTTP, checked with wechatpy's own crypto: pushes, codes, tokens,
refresh tokens, cancellation and func-set gating."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import to_text
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sandbox.wechat_component import FIXTURES

APPID = "wxc0mp0nent00000aa"
SECRET = "component-secret-aa"
TOKEN = "SandboxToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class Receiver:
    """The hub's event URL, played by wechatpy: decrypts each push, answers ``success``."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)

        @Request.application
        def app(request: Request) -> Response:
            args = request.args
            xml = crypto.decrypt_message(request.get_data(), args["msg_signature"],
                                         args["timestamp"], args["nonce"])
            self.events.append(dict(xmltodict.parse(to_text(xml))["xml"]))
            return Response("success")

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("InfoType") == kind]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()
    made.server.server_close()


class Component:
    def __init__(self, sandbox, receiver: Receiver, **options: Any) -> None:
        self.base = f"{sandbox.url}/wechat"
        r = requests.post(f"{self.base}/_component/apps/{APPID}", timeout=10, json={
            "secret": SECRET, "token": TOKEN, "aes_key": AES_KEY, "event_url": receiver.url,
            "domain": "hub.example", **options})
        assert r.status_code == 200, r.text
        self.receiver = receiver

    def api(self, name: str, token: str | None = None, **body: Any) -> dict[str, Any]:
        params = {"component_access_token": token} if token else None
        return requests.post(f"{self.base}/cgi-bin/component/{name}", params=params, timeout=10,
                             json={"component_appid": APPID, **body}).json()

    def token(self) -> str:
        ticket = self.receiver.of("component_verify_ticket")[-1]["ComponentVerifyTicket"]
        answer = self.api("api_component_token", component_appsecret=SECRET,
                          component_verify_ticket=ticket)
        assert answer["expires_in"] == 7200, answer
        return answer["component_access_token"]

    def approve(self, token: str, authorizer: str = FIXTURES[0].appid,
                funcsets: tuple[str, ...] = ("7", "11")) -> tuple[str, requests.Response]:
        code = self.api("api_create_preauthcode", token)["pre_auth_code"]
        form = {"component_appid": APPID, "pre_auth_code": code,
                "redirect_uri": "https://hub.example/oauth/wechat/callback?k=abc",
                "authorizer_appid": authorizer, "funcset": list(funcsets), "decision": "approve"}
        before = len(self.receiver.events)
        answer = requests.post(f"{self.base}/cgi-bin/componentloginpage/confirm", data=form,
                               allow_redirects=False, timeout=10)
        # The push travels on its own: wait for it to arrive (not a speed check).
        deadline = time.monotonic() + 20
        while len(self.receiver.events) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        return code, answer


def test_pushes_decrypt_with_wechatpy_and_tickets_rotate(sandbox, receiver: Receiver) -> None:
    Component(sandbox, receiver)
    requests.post(f"{sandbox.url}/wechat/_component/apps/{APPID}/push_ticket", timeout=10)
    tickets = [e["ComponentVerifyTicket"] for e in receiver.of("component_verify_ticket")]
    assert len(tickets) == 2 and len(set(tickets)) == 2
    assert all(t.startswith("ticket@@@") for t in tickets)
    assert all(e["AppId"] == APPID for e in receiver.events)


def test_tickets_expire_after_12_hours_and_unknown_ones_are_invalid(sandbox, receiver) -> None:
    component = Component(sandbox, receiver, push_interval_s=10**9)
    ticket = receiver.of("component_verify_ticket")[-1]["ComponentVerifyTicket"]
    assert component.api("api_component_token", component_appsecret=SECRET,
                         component_verify_ticket="ticket@@@nope")["errcode"] == 61006
    sandbox.advance_clock(12 * 3600 + 1)
    assert component.api("api_component_token", component_appsecret=SECRET,
                         component_verify_ticket=ticket)["errcode"] == 61005


def test_consent_codes_tokens_and_cancellation(sandbox, receiver: Receiver) -> None:
    component = Component(sandbox, receiver)
    token = component.token()
    pre_auth, answer = component.approve(token)
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    query = parse_qs(target.query)
    assert query["k"] == ["abc"] and query["expires_in"] == ["600"]
    auth_code = query["auth_code"][0]
    pushed = component.receiver.of("authorized")
    assert pushed and pushed[-1]["PreAuthCode"] == pre_auth
    assert pushed[-1]["AuthorizationCode"] == auth_code

    # The pre-auth code is spent; the auth code works once.
    form = {"component_appid": APPID, "pre_auth_code": pre_auth, "redirect_uri": "x",
            "decision": "approve"}
    assert requests.post(f"{component.base}/cgi-bin/componentloginpage/confirm", data=form,
                         timeout=10).status_code == 400
    info = component.api("api_query_auth", token, authorization_code=auth_code)
    assert info["authorization_info"]["func_info"] == [
        {"funcscope_category": {"id": 7}}, {"funcscope_category": {"id": 11}}]
    assert component.api("api_query_auth", token,
                         authorization_code=auth_code)["errcode"] == 61009
    refresh = info["authorization_info"]["authorizer_refresh_token"]
    renewed = component.api("api_authorizer_token", token, authorizer_appid=FIXTURES[0].appid,
                            authorizer_refresh_token=refresh)
    assert renewed["authorizer_refresh_token"] == refresh and renewed["expires_in"] == 7200
    assert component.api("api_authorizer_token", token, authorizer_appid=FIXTURES[0].appid,
                         authorizer_refresh_token="refreshtoken@@@wrong")["errcode"] == 61023

    # The authorizer token works on business calls, within the granted func sets.
    business = f"{component.base}/cgi-bin/"
    access = renewed["authorizer_access_token"]
    assert requests.post(business + "freepublish/batchget", params={"access_token": access},
                         json={"offset": 0, "count": 20}, timeout=10).json()["total_count"] == 0

    requests.post(f"{component.base}/_component/apps/{APPID}/revoke/{FIXTURES[0].appid}",
                  timeout=10)
    assert component.receiver.of("unauthorized")[-1]["AuthorizerAppid"] == FIXTURES[0].appid
    assert component.api("api_authorizer_token", token, authorizer_appid=FIXTURES[0].appid,
                         authorizer_refresh_token=refresh)["errcode"] == 61003
    old = requests.post(business + "freepublish/batchget", params={"access_token": access},
                        json={"offset": 0, "count": 20}, timeout=10).json()
    assert old["errcode"] == 40001


def test_missing_func_set_answers_61007(sandbox, receiver: Receiver) -> None:
    component = Component(sandbox, receiver)
    token = component.token()
    _, answer = component.approve(token, funcsets=("11",))
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["auth_code"][0]
    access = component.api("api_query_auth", token,
                           authorization_code=code)["authorization_info"]
    reply = requests.post(f"{component.base}/cgi-bin/freepublish/batchget",
                          params={"access_token": access["authorizer_access_token"]},
                          json={"offset": 0, "count": 20}, timeout=10).json()
    assert reply["errcode"] == 61007


def test_whitelist_and_a_re_authorisation_keeps_the_old_refresh_token_briefly(
        sandbox, receiver: Receiver) -> None:
    component = Component(sandbox, receiver)
    token = component.token()
    _, first = component.approve(token)
    code = parse_qs(urlsplit(first.headers["Location"]).query)["auth_code"][0]
    old = component.api("api_query_auth", token,
                        authorization_code=code)["authorization_info"]["authorizer_refresh_token"]
    component.approve(token)
    assert receiver.of("updateauthorized")
    body = {"authorizer_appid": FIXTURES[0].appid, "authorizer_refresh_token": old}
    assert "authorizer_access_token" in component.api("api_authorizer_token", token, **body)
    sandbox.advance_clock(301)
    assert component.api("api_authorizer_token", token, **body)["errcode"] == 61023

    Component(sandbox, receiver, ip_whitelist=["10.1.2.3"])
    refused = component.api("api_create_preauthcode", token)
    assert refused["errcode"] == 61004 and "requestIP: 127.0.0.1" in refused["errmsg"]
