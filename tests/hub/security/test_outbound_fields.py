"""Who may point an account somewhere, and where: api_base and the city app's webhook_url.

Only a province admin sets or changes them (a city or county admin gets 403, and may still
repeat the stored value); a host that is loopback, private, link-local, metadata or (for
api_base on a platform with a fixed API) not a platform host is a 422 naming the field, on
create, patch and import; a malformed URL is a 422 too, never a 500.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.hub.helpers import error_of, make_account, make_tree, wechat_account

from .support import make_user

PLATFORM_BASE = "https://api.weixin.qq.com"
WEBHOOK = "https://app.jiangcheng.gov.cn/yunchu/hook/app001"


def cityapp_account(org: str, name: str, webhook: str = WEBHOOK) -> dict[str, Any]:
    return {"org": org, "platform": "cityapp", "name": name,
            "credentials": {"webhook_url": webhook, "signing_secret": "whsec_c2VjcmV0LWtleQ=="}}


@pytest.fixture
def people(hub) -> dict[str, str]:
    make_tree(hub)
    return {"province": make_user(hub, "p-admin", ["admin"], org="yun")["token"],
            "city": make_user(hub, "c-admin", ["admin"], org="c1")["token"],
            "county": make_user(hub, "k-admin", ["admin"], org="c1-k1")["token"]}


def _denied(response, field: str) -> None:
    assert response.status_code == 403, response.get_json()
    error = error_of(response)
    assert error["code"] == "forbidden" and error["details"]["field"] == field
    assert error["message"].startswith("只有省级管理员")


@pytest.mark.parametrize("who", ["city", "county"])
def test_a_lower_admin_cannot_set_api_base_or_webhook_url(hub, people, who):
    org = "c1" if who == "city" else "c1-k1"
    token = people[who]
    _denied(hub.post("/api/v1/accounts", wechat_account(org, "a1", api_base=PLATFORM_BASE),
                     token=token), "api_base")
    _denied(hub.post("/api/v1/accounts", cityapp_account(org, "app1"), token=token),
            "credentials.webhook_url")
    _denied(hub.post("/api/v1/accounts/import", {"accounts": [
        wechat_account(org, "ok"), wechat_account(org, "a2", api_base=PLATFORM_BASE)]},
        token=token), "accounts[1].api_base")
    _denied(hub.post("/api/v1/accounts/import", {"accounts": [cityapp_account(org, "app2")]},
                     token=token), "accounts[0].credentials.webhook_url")
    plain = make_account(hub, org, "plain")["id"]
    _denied(hub.patch(f"/api/v1/accounts/{plain}", {"api_base": PLATFORM_BASE}, token=token),
            "api_base")
    app = hub.post("/api/v1/accounts", cityapp_account(org, "app3")).json["id"]
    _denied(hub.patch(f"/api/v1/accounts/{app}", {"credentials": {
        "webhook_url": "https://elsewhere.example.com/hook", "signing_secret": "whsec_eA=="}},
        token=token), "credentials.webhook_url")
    # Nothing was written by the refused calls.
    names = {a["name"] for a in hub.get(f"/api/v1/accounts?org={org}").json["items"]}
    assert names == {"plain", "app3"}
    assert hub.get(f"/api/v1/accounts/{plain}").json["api_base"] is None


def test_a_lower_admin_may_repeat_what_is_stored_and_edit_the_rest(hub, people):
    account = make_account(hub, "c1", "w1", api_base=PLATFORM_BASE)["id"]
    app = hub.post("/api/v1/accounts", cityapp_account("c1", "app1")).json["id"]
    token = people["city"]
    r = hub.patch(f"/api/v1/accounts/{account}", {"api_base": PLATFORM_BASE + "/",
                                                   "responsible_person": "张三"}, token=token)
    assert r.status_code == 200, r.json
    r = hub.patch(f"/api/v1/accounts/{app}", {"credentials": {
        "webhook_url": WEBHOOK, "signing_secret": "whsec_bmV3LXNlY3JldA=="}}, token=token)
    assert r.status_code == 200, r.json
    r = hub.post("/api/v1/accounts/import", {"accounts": [
        wechat_account("c1", "w1", api_base=PLATFORM_BASE), cityapp_account("c1", "app1")]},
        token=token)
    assert r.status_code == 200 and r.json == {"created": 0, "updated": 2}, r.json
    # Clearing api_base (back to the platform's default) is no redirection.
    r = hub.patch(f"/api/v1/accounts/{account}", {"api_base": None}, token=token)
    assert r.status_code == 200 and r.json["api_base"] is None, r.json


def test_a_province_admin_sets_them(hub, people):
    token = people["province"]
    r = hub.post("/api/v1/accounts", wechat_account("c1-k1", "a1", api_base=PLATFORM_BASE),
                 token=token)
    assert r.status_code == 201 and r.json["api_base"] == PLATFORM_BASE, r.json
    r = hub.post("/api/v1/accounts", cityapp_account("c1-k1", "app1"), token=token)
    assert r.status_code == 201, r.json
    r = hub.patch(f"/api/v1/accounts/{r.json['id']}", {"credentials": {
        "webhook_url": "https://other.jiangcheng.gov.cn/hook/a", "signing_secret": "whsec_eA=="}},
        token=token)
    assert r.status_code == 200, r.json


REFUSED_HOSTS = [
    "http://127.0.0.1:6379", "http://localhost:8080/wechat", "http://169.254.169.254/latest",
    "http://10.20.30.40", "http://192.168.1.10:8443", "http://100.64.0.7", "http://[::1]:8900",
    "http://[fe80::1]", "http://[fd00:ec2::254]", "http://0.0.0.0:80", "http://2130706433/",
    "http://[::ffff:127.0.0.1]/",
]


@pytest.mark.parametrize("url", REFUSED_HOSTS)
def test_internal_hosts_are_a_422_naming_the_field(hub, url):
    make_tree(hub)
    r = hub.post("/api/v1/accounts", wechat_account("c1", "a1", api_base=url))
    _invalid(r, "api_base")
    r = hub.post("/api/v1/accounts", cityapp_account("c1", "app1", webhook=url))
    _invalid(r, "credentials.webhook_url")
    r = hub.post("/api/v1/accounts/import", {"accounts": [
        wechat_account("c1", "ok"), cityapp_account("c1", "app2", webhook=url)]})
    _invalid(r, "accounts[1].credentials.webhook_url")
    account = make_account(hub, "c1", "w1")["id"]
    _invalid(hub.patch(f"/api/v1/accounts/{account}", {"api_base": url}), "api_base")
    assert hub.get(f"/api/v1/accounts/{account}").json["api_base"] is None


def test_api_base_must_be_a_platform_host(hub):
    make_tree(hub)
    r = hub.post("/api/v1/accounts", wechat_account(
        "c1", "a1", api_base="https://collector.example.com/cgi-bin"))
    error = _invalid(r, "api_base")
    assert error["details"]["reason"] == "not_platform_host"
    for base in ("https://api2.weixin.qq.com", "https://sh.api.weixin.qq.com/"):
        r = hub.post("/api/v1/accounts", wechat_account("c1", base, api_base=base))
        assert r.status_code == 201, r.json
    # The city app has no fixed API host: any public webhook host is fine.
    r = hub.post("/api/v1/accounts", cityapp_account(
        "c1", "app1", webhook="https://news.example.org/cityapp/hook/x"))
    assert r.status_code == 201, r.json


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999/", "http://a:b/",
                                 "http://[not-an-ip]/", "https://"])
def test_malformed_urls_are_a_422_never_a_500(hub, url):
    make_tree(hub)
    _invalid(hub.post("/api/v1/accounts", wechat_account("c1", "a1", api_base=url)), "api_base")
    _invalid(hub.post("/api/v1/accounts", cityapp_account("c1", "app1", webhook=url)),
             "credentials.webhook_url")
    _invalid(hub.post("/api/v1/accounts/import", {"accounts": [
        wechat_account("c1", "a2", api_base=url)]}), "accounts[0].api_base")
    account = make_account(hub, "c1", "w1")["id"]
    _invalid(hub.patch(f"/api/v1/accounts/{account}", {"api_base": url}), "api_base")


def _invalid(response, field: str) -> dict[str, Any]:
    assert response.status_code == 422, (response.status_code, response.get_json())
    error = error_of(response)
    assert error["code"] == "invalid" and error["details"]["field"] == field, error
    assert not error["message"].isascii(), error  # Chinese first, as the other messages
    return error
