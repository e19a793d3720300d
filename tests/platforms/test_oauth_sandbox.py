"""The emulated Weibo and Douyin consent pages and token endpoints (authorization code flow)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from sandbox.douyin import settings_for

CALLBACK = "http://127.0.0.1:9/oauth/cb"
DAY = 86_400


def _query(response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def weibo_code(api: str, *, uid: str = "1404376560", decision: str = "approve",
               state: str = "st-1") -> dict[str, str]:
    params = {"client_id": "wb_app", "redirect_uri": CALLBACK, "state": state,
              "forcelogin": "true", "display": "default"}
    page = requests.get(f"{api}/oauth2/authorize", params=params, timeout=10)
    assert page.status_code == 200 and "同意授权" in page.text and "云城发布" in page.text
    answer = requests.post(f"{api}/oauth2/authorize", params=params,
                           data={"account": uid, "decision": decision},
                           allow_redirects=False, timeout=10)
    return _query(answer)


def test_weibo_consent_code_token_info_and_revoke(sandbox):
    api = sandbox.platform_url("weibo")
    back = weibo_code(api)
    assert back["state"] == "st-1"
    form = {"client_id": "wb_app", "client_secret": "wb_secret", "code": back["code"],
            "grant_type": "authorization_code", "redirect_uri": CALLBACK}
    token = requests.post(f"{api}/oauth2/access_token", data=form, timeout=10).json()
    assert token["uid"] == "1404376560" and isinstance(token["expires_in"], str)
    again = requests.post(f"{api}/oauth2/access_token", data=form, timeout=10).json()
    assert again["error_code"] == 21325
    info = requests.post(f"{api}/oauth2/get_token_info",
                         data={"access_token": token["access_token"]}, timeout=10).json()
    assert info["appkey"] == "wb_app" and info["uid"] == 1404376560
    assert 0 < info["expire_in"] <= int(token["expires_in"])
    sandbox.advance_clock(int(token["expires_in"]) + 60)
    info = requests.post(f"{api}/oauth2/get_token_info",
                         data={"access_token": token["access_token"]}, timeout=10).json()
    assert info["expire_in"] < 0
    fresh = weibo_code(api)
    form["code"] = fresh["code"]
    token = requests.post(f"{api}/oauth2/access_token", data=form, timeout=10).json()
    revoked = requests.post(f"{api}/oauth2/revokeoauth2",
                            data={"access_token": token["access_token"]}, timeout=10).json()
    assert revoked == {"result": "true"}
    info = requests.post(f"{api}/oauth2/get_token_info",
                         data={"access_token": token["access_token"]}, timeout=10).json()
    assert info["error_code"] == 21332


def test_weibo_token_lifetime_follows_the_app_level_and_the_owner(sandbox):
    from sandbox.weibo import emulator_for

    api = sandbox.platform_url("weibo")
    emulator = emulator_for(sandbox.state)
    emulator.settings.token_ttl_s = DAY  # an unaudited app: 测试 level
    emulator.settings.owner_uids = ("1404376561",)
    form = {"client_id": "wb_app", "client_secret": "wb_secret",
            "grant_type": "authorization_code", "redirect_uri": CALLBACK}
    plain = requests.post(f"{api}/oauth2/access_token", timeout=10,
                          data={**form, "code": weibo_code(api)["code"]}).json()
    owner = requests.post(f"{api}/oauth2/access_token", timeout=10,
                          data={**form, "code": weibo_code(api, uid="1404376561")["code"]}).json()
    assert plain["expires_in"] == str(DAY)
    assert int(owner["expires_in"]) == 5 * 365 * DAY


def test_weibo_denial_and_redirect_mismatch(sandbox):
    api = sandbox.platform_url("weibo")
    denied = weibo_code(api, decision="deny")
    assert denied["error"] == "access_denied" and denied["error_code"] == "21330"
    assert denied["state"] == "st-1"
    other = requests.get(f"{api}/oauth2/authorize", params={
        "client_id": "wb_app", "redirect_uri": "http://127.0.0.1:9/elsewhere"}, timeout=10)
    assert "21322" in other.text
    wrong_secret = requests.post(f"{api}/oauth2/access_token", data={
        "client_id": "wb_app", "client_secret": "first", "code": "x",
        "grant_type": "authorization_code", "redirect_uri": CALLBACK}, timeout=10).json()
    assert wrong_secret["error_code"] == 21325  # the secret is pinned now
    wrong_secret = requests.post(f"{api}/oauth2/access_token", data={
        "client_id": "wb_app", "client_secret": "second", "code": "x",
        "grant_type": "authorization_code", "redirect_uri": CALLBACK}, timeout=10).json()
    assert wrong_secret["error_code"] == 21324


def douyin_code(api: str, *, open_id: str = "ou_dy_yuncheng", ticked=("video.create.bind",),
                decision: str = "approve") -> dict[str, str]:
    params = {"client_key": "dy_app", "response_type": "code",
              "scope": "user_info,video.create.bind",
              "optionalScope": "video.delete,1,renew_refresh_token,0",
              "redirect_uri": CALLBACK, "state": "dy-state"}
    page = requests.get(f"{api}/platform/oauth/connect/", params=params, timeout=10)
    assert page.status_code == 200 and "video.delete" in page.text and "同意授权" in page.text
    answer = requests.post(f"{api}/platform/oauth/connect/", params=params,
                           data={"account": open_id, "decision": decision,
                                 "scope": list(ticked)},
                           allow_redirects=False, timeout=10)
    return _query(answer)


def douyin_form(api: str, path: str, **form) -> dict:
    return requests.post(f"{api}{path}", data=form, timeout=10).json()["data"]


def test_douyin_consent_tokens_refresh_and_renewal_limit(sandbox):
    api = sandbox.platform_url("douyin")
    back = douyin_code(api)
    assert back["state"] == "dy-state"
    as_json = requests.post(f"{api}/oauth/access_token/", json={
        "client_key": "dy_app", "client_secret": "dy_secret", "code": back["code"],
        "grant_type": "authorization_code"}, timeout=10).json()["data"]
    assert as_json["error_code"] == 10002  # form only
    data = douyin_form(api, "/oauth/access_token/", client_key="dy_app",
                       client_secret="dy_secret", code=back["code"],
                       grant_type="authorization_code")
    assert data["open_id"] == "ou_dy_yuncheng" and data["access_token"].startswith("act.")
    assert set(data["scope"].split(",")) == {"user_info", "video.create.bind"}
    again = douyin_form(api, "/oauth/access_token/", client_key="dy_app",
                        client_secret="dy_secret", code=back["code"],
                        grant_type="authorization_code")
    assert again["error_code"] != 0
    who = douyin_form(api, "/oauth/userinfo/", access_token=data["access_token"],
                      open_id="ou_dy_yuncheng")
    assert who["nickname"] == "云城融媒"
    refreshed = douyin_form(api, "/oauth/refresh_token/", client_key="dy_app",
                            grant_type="refresh_token", refresh_token=data["refresh_token"])
    assert refreshed["access_token"] != data["access_token"]
    refresh = data["refresh_token"]
    for _ in range(settings_for(sandbox.state).max_renewals):
        renewed = douyin_form(api, "/oauth/renew_refresh_token/", client_key="dy_app",
                              refresh_token=refresh)
        refresh = renewed["refresh_token"]
    limit = douyin_form(api, "/oauth/renew_refresh_token/", client_key="dy_app",
                        refresh_token=refresh)
    assert limit["error_code"] == 10020
    sandbox.advance_clock(31 * DAY)
    expired = douyin_form(api, "/oauth/refresh_token/", client_key="dy_app",
                          grant_type="refresh_token", refresh_token=refresh)
    assert expired["error_code"] == 10010


def test_douyin_rejects_query_in_redirect_and_unticked_scopes_are_lost(sandbox):
    api = sandbox.platform_url("douyin")
    bad = requests.get(f"{api}/platform/oauth/connect/", params={
        "client_key": "dy_app", "response_type": "code", "scope": "user_info",
        "redirect_uri": CALLBACK + "?org=x"}, timeout=10)
    assert "不能带参数" in bad.text
    back = douyin_code(api, ticked=())
    data = douyin_form(api, "/oauth/access_token/", client_key="dy_app",
                       client_secret="dy_secret", code=back["code"],
                       grant_type="authorization_code")
    assert "video.delete" not in data["scope"]  # pre-ticked, but the user unticked it
    kept = requests.post(f"{api}/_sandbox/oauth/untick", json={
        "open_id": "ou_dy_yuncheng", "scopes": ["video.create.bind"]}, timeout=10).json()
    assert kept["scopes"] == ["user_info"]
    denied = douyin_code(api, decision="deny")
    assert denied["error"] == "access_denied" and denied["state"] == "dy-state"


def test_douyin_minted_tokens_work_until_the_app_is_banned(sandbox):
    api = sandbox.platform_url("douyin")
    back = douyin_code(api, open_id="ou_dy_police")
    data = douyin_form(api, "/oauth/access_token/", client_key="dy_app",
                       client_secret="dy_secret", code=back["code"],
                       grant_type="authorization_code")
    listing = requests.get(f"{api}/api/douyin/v1/video/video_list/",
                           params={"open_id": "ou_dy_police", "cursor": 0, "count": 10},
                           headers={"access-token": data["access_token"]}, timeout=10).json()
    assert listing["data"]["error_code"] == 0
    settings_for(sandbox.state).app_banned = True
    banned = requests.get(f"{api}/api/douyin/v1/video/video_list/",
                          params={"open_id": "ou_dy_police", "cursor": 0, "count": 10},
                          headers={"access-token": data["access_token"]}, timeout=10).json()
    assert banned["data"]["error_code"] == 28001016
    refused = requests.get(f"{api}/platform/oauth/connect/", params={
        "client_key": "dy_app", "response_type": "code", "scope": "user_info",
        "redirect_uri": CALLBACK}, timeout=10)
    assert refused.status_code == 200  # the consent page itself is not an API call
    banned_user = requests.post(f"{api}/platform/oauth/connect/", params={
        "client_key": "dy_app", "response_type": "code", "scope": "user_info",
        "redirect_uri": CALLBACK}, data={"account": "ou_dy_banned", "decision": "approve"},
        allow_redirects=False, timeout=10)
    assert banned_user.status_code == 403 and "封禁" in banned_user.text
