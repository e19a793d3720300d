"""The emulated Weibo on the wire: validation, tokens, limits, ids, delete semantics."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from sandbox.weibo import default_settings, emulator_for, uid_for_token
from tests.platforms.samples import png_bytes

TOKEN = "2.00sandbox_user_a"
LINK = "http://127.0.0.1:8000/p/it_1"


@pytest.fixture
def api(sandbox) -> str:
    return sandbox.platform_url("weibo")


def share(api: str, text: str, *, token: str = TOKEN, files=None, **extra):
    form = {"access_token": token, "status": quote(text, safe=""), "rip": "211.156.0.1", **extra}
    return requests.post(f"{api}/2/statuses/share.json", data=form, files=files, timeout=10)


def assert_error(response, status: int, code: int, path: str = "/2/statuses/share.json"):
    assert response.status_code == status
    body = response.json()
    assert body["error_code"] == code and body["request"] == path and body["error"]


def test_share_returns_a_status_with_big_ids(api, sandbox):
    response = share(api, f"【测试】你好 {LINK}")
    assert response.status_code == 200
    status = response.json()
    assert status["id"] > 2**53 and len(status["idstr"]) == 16
    assert str(status["id"]) == status["idstr"] == status["mid"]
    assert status["user"]["idstr"] == uid_for_token(TOKEN)
    assert status["created_at"].endswith(" +0800 " + status["created_at"][-4:])
    [post] = sandbox.posts(platform="weibo")
    assert post["text"] == post["title"] == f"【测试】你好 {LINK}"


def test_length_is_140_with_ascii_counting_half(api):
    link = f" {LINK}"  # 29 ASCII characters
    assert share(api, "a" * (280 - len(link)) + link).status_code == 200
    assert_error(share(api, "b" * (281 - len(link)) + link), 400, 20012)
    assert_error(share(api, "字" * 126 + link), 400, 20012)  # 126 + 14.5 -> 141


def test_topics_rips_links_and_empty_text_are_checked(api):
    assert_error(share(api, f"#防汛# 通知 {LINK}"), 400, 10008)
    assert_error(share(api, "没有链接的微博"), 400, 10017)
    assert_error(share(api, "外站链接 https://example.com/p/1"), 400, 10017)
    assert_error(share(api, "  "), 400, 20008)
    form = {"access_token": TOKEN, "status": quote(f"无IP {LINK}")}
    response = requests.post(f"{api}/2/statuses/share.json", data=form, timeout=10)
    assert_error(response, 400, 10016)


def test_safe_domains_include_the_hub_public_host(monkeypatch):
    monkeypatch.setenv("YUNCHU_PUBLIC_URL", "https://News.Jiangcheng.gov.cn/")
    assert "news.jiangcheng.gov.cn" in default_settings().safe_domains


def test_picture_must_be_a_small_jpeg_png_or_gif_in_multipart(api, sandbox):
    ok = share(api, f"图 {LINK}", files={"pic": ("c.png", png_bytes(), "image/png")})
    assert ok.status_code == 200 and "original_pic" in ok.json()
    bad = share(api, f"图2 {LINK}", files={"pic": ("c.webp", b"RIFF0000WEBP", "image/webp")})
    assert_error(bad, 400, 20005)
    assert_error(share(api, f"图3 {LINK}", pic="not-a-file"), 400, 20007)
    emulator_for(sandbox.state).settings.max_pic_bytes = 64
    big = share(api, f"图4 {LINK}", files={"pic": ("c.png", png_bytes() + b"\0" * 64, "image/png")})
    assert_error(big, 400, 20006)


def test_repeat_content_is_refused_for_consecutive_posts(api, sandbox):
    assert share(api, f"甲 {LINK}").status_code == 200
    assert_error(share(api, f"甲 {LINK}"), 400, 20019)
    assert share(api, f"甲 {LINK}", token="2.00another_user").status_code == 200
    assert share(api, f"乙 {LINK}").status_code == 200
    assert share(api, f"甲 {LINK}").status_code == 200  # not consecutive any more
    emulator_for(sandbox.state).settings.repeat_window_s = 3600
    assert share(api, f"丙 {LINK}").status_code == 200
    assert_error(share(api, f"甲 {LINK}"), 400, 20019)  # within the window


def test_destroy_semantics(api, sandbox):
    status = share(api, f"删 {LINK}").json()
    url = f"{api}/2/statuses/destroy.json"
    other = requests.post(url, data={"access_token": "2.00x", "id": status["idstr"]}, timeout=10)
    assert_error(other, 403, 20102, "/2/statuses/destroy.json")
    first = requests.post(url, data={"access_token": TOKEN, "id": status["idstr"]}, timeout=10)
    assert first.status_code == 200 and first.json()["idstr"] == status["idstr"]
    again = requests.post(url, data={"access_token": TOKEN, "id": status["idstr"]}, timeout=10)
    assert_error(again, 400, 20101, "/2/statuses/destroy.json")
    show = requests.get(
        f"{api}/2/statuses/show.json",
        params={"access_token": TOKEN, "id": status["idstr"]},
        timeout=10,
    )
    assert_error(show, 400, 20101, "/2/statuses/show.json")
    assert sandbox.stats()["weibo"]["deleted"] == 1


def test_timeline_is_own_live_posts_newest_first_in_pages(api):
    ids = [share(api, f"第{n}条 {LINK}").json()["idstr"] for n in range(5)]
    share(api, f"别人的 {LINK}", token="2.00another_user")
    requests.post(
        f"{api}/2/statuses/destroy.json", data={"access_token": TOKEN, "id": ids[0]}, timeout=10
    )
    url = f"{api}/2/statuses/user_timeline.json"
    headers = {"Authorization": f"OAuth2 {TOKEN}"}  # the header form is accepted too
    page1 = requests.get(url, params={"count": 3}, headers=headers, timeout=10).json()
    page2 = requests.get(url, params={"count": 3, "page": 2}, headers=headers, timeout=10).json()
    assert page1["total_number"] == 4
    assert [s["idstr"] for s in page1["statuses"] + page2["statuses"]] == ids[:0:-1]


def test_oauth_tokens_expire_on_the_sandbox_clock(api, sandbox):
    authorize = requests.get(
        f"{api}/oauth2/authorize",
        params={"client_id": "app1", "redirect_uri": "http://127.0.0.1/cb", "uid": "1404376560"},
        allow_redirects=False,
        timeout=10,
    )
    assert authorize.status_code == 302
    code = parse_qs(urlsplit(authorize.headers["Location"]).query)["code"][0]
    form = {
        "client_id": "app1",
        "client_secret": "s",
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://127.0.0.1/cb",
    }
    issued = requests.post(f"{api}/oauth2/access_token", data=form, timeout=10).json()
    assert issued["uid"] == "1404376560" and issued["expires_in"] == str(30 * 86_400)
    reused = requests.post(f"{api}/oauth2/access_token", data=form, timeout=10)
    assert_error(reused, 400, 21325, "/oauth2/access_token")
    assert share(api, f"授权 {LINK}", token=issued["access_token"]).status_code == 200
    assert sandbox.posts(platform="weibo")[0]["account"] == "1404376560"
    sandbox.advance_clock(30 * 86_400)
    assert_error(share(api, f"过期 {LINK}", token=issued["access_token"]), 401, 21327)


def test_revoked_and_missing_tokens(api, sandbox):
    sandbox.revoke("weibo", uid_for_token(TOKEN))
    assert_error(share(api, f"撤销 {LINK}"), 401, 21332)
    response = requests.post(f"{api}/2/statuses/share.json", data={"status": "x"}, timeout=10)
    assert_error(response, 400, 10006)


def test_hourly_limits_per_user_and_per_app(api, sandbox):
    settings = emulator_for(sandbox.state).settings
    settings.requests_per_user_hour = 2
    assert share(api, f"一 {LINK}").status_code == 200
    assert share(api, f"二 {LINK}").status_code == 200
    assert_error(share(api, f"三 {LINK}"), 403, 10023)
    sandbox.advance_clock(3600)
    assert share(api, f"三 {LINK}").status_code == 200
    settings.requests_per_app_hour = 1
    assert_error(share(api, f"四 {LINK}", token="2.00another_user"), 403, 10022)


def test_busy_fault_uses_the_weibo_envelope(api, sandbox):
    sandbox.config(faults={"busy": 1.0})
    assert_error(share(api, f"忙 {LINK}"), 503, 10009)
    assert sandbox.posts(platform="weibo") == []


def test_reset_forgets_module_memory(api, sandbox):
    emulator_for(sandbox.state).settings.posts_per_user_hour = 0
    assert_error(share(api, f"限 {LINK}"), 403, 10024)
    sandbox.reset()
    assert emulator_for(sandbox.state).settings.posts_per_user_hour == 30
    assert share(api, f"限 {LINK}").status_code == 200
