"""The emulated WeChat API over HTTP: envelope, tokens, quotas, drafts, async publish, delete."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.platforms.samples import png_bytes
from tests.platforms.wechat.support import jpeg_bytes

APPID = "wx00000000000000aa"
SECRET = "s3cr3t-aa"


class Api:
    """A bare WeChat client: token in the query string, JSON bodies, multipart uploads."""

    def __init__(self, sandbox, appid: str = APPID, secret: str = SECRET):
        self.base = f"{sandbox.url}/wechat/cgi-bin/"
        self.appid = appid
        self.secret = secret
        self.token: str | None = None

    def stable_token(self, force: bool = False) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        if force:
            body["force_refresh"] = True
        return requests.post(self.base + "stable_token", json=body, timeout=5).json()

    def classic_token(self) -> dict[str, Any]:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        return requests.get(self.base + "token", params=params, timeout=5).json()

    def login(self) -> Api:
        self.token = self.stable_token()["access_token"]
        return self

    def raw(self, path: str, body: Any = None, *, token: str | None = None, **kw: Any):
        params = {
            "access_token": token if token is not None else self.token,
            **kw.pop("params", {}),
        }
        if body is not None:
            kw["data"] = json.dumps(body, ensure_ascii=False).encode()
        return requests.post(self.base + path, params=params, timeout=5, **kw)

    def call(self, path: str, body: Any = None, **kw: Any) -> dict[str, Any]:
        reply = self.raw(path, body, **kw)
        assert reply.status_code == 200
        return reply.json()

    def count(self, token: str | None = None) -> dict[str, Any]:
        params = {"access_token": token if token is not None else self.token}
        return requests.get(self.base + "draft/count", params=params, timeout=5).json()

    def upload(self, path: str, data: bytes, **params: str) -> dict[str, Any]:
        return self.call(path, files={"media": ("x.bin", data)}, params=params)

    def cover(self) -> str:
        return self.upload("material/add_material", jpeg_bytes(), type="image")["media_id"]

    def draft(self, **article: Any) -> str:
        fields = {
            "title": "市政府召开防汛工作会议",
            "content": "<p>正文</p>",
            "thumb_media_id": self.cover(),
            **article,
        }
        answer = self.call("draft/add", {"articles": [fields]})
        assert "media_id" in answer, answer
        return answer["media_id"]

    def publish(self, **article: Any) -> str:
        answer = self.call("freepublish/submit", {"media_id": self.draft(**article)})
        assert answer["errcode"] == 0, answer
        return answer["publish_id"]

    def status(self, publish_id: str | int) -> dict[str, Any]:
        return self.call("freepublish/get", {"publish_id": publish_id})


def assert_refused(answer: dict[str, Any], code: int) -> None:
    assert answer["errcode"] == code, answer
    assert " rid: " in answer["errmsg"]


@pytest.fixture
def api(sandbox) -> Api:
    return Api(sandbox).login()


# ---------------------------------------------------------------- envelope and tokens


def test_refusals_are_http_200_envelopes_with_a_rid_suffix(sandbox, api):
    reply = api.raw("draft/batchget", {"count": 1}, token="not-a-token")
    assert reply.status_code == 200
    assert_refused(reply.json(), 40001)
    assert_refused(api.call("draft/add", {"articles": []}, token=""), 41001)
    assert sandbox.stats()["wechat"]["errors"] == 2


def test_token_only_counts_in_the_query_string(sandbox, api):
    reply = requests.post(
        api.base + "draft/batchget",
        json={"offset": 0, "count": 1},
        headers={"Authorization": f"Bearer {api.token}"},
        timeout=5,
    )
    assert_refused(reply.json(), 41001)


def test_stable_token_is_stable_and_force_refresh_replaces_it(sandbox, api):
    again = api.stable_token()
    assert again["access_token"] == api.token
    assert 7100 < again["expires_in"] <= 7200
    forced = api.stable_token(force=True)["access_token"]
    assert forced != api.token
    assert_refused(api.call("freepublish/batchget", {"count": 1}), 40001)
    assert_refused(api.stable_token(force=True), 45011)  # 30 s between forced refreshes
    assert "errcode" not in api.call("freepublish/batchget", {"count": 1}, token=forced)


def test_stable_token_expires_on_the_sandbox_clock(sandbox, api):
    sandbox.advance_clock(7200)
    assert_refused(api.call("freepublish/batchget", {"count": 1}), 42001)
    renewed = api.stable_token()["access_token"]
    assert renewed != api.token


def test_classic_token_rotates_and_the_old_one_lives_five_more_minutes(sandbox, api):
    first = api.classic_token()["access_token"]
    second = api.classic_token()["access_token"]
    assert first != second
    assert api.count(token=first) == {"total_count": 0}
    sandbox.advance_clock(301)
    assert_refused(api.count(token=first), 40001)
    assert api.count(token=second) == {"total_count": 0}
    assert api.count() == {"total_count": 0}  # the stable token is unaffected


def test_credentials_register_on_first_use_and_must_match(sandbox, api):
    assert_refused(Api(sandbox, secret="other").stable_token(), 40125)
    assert_refused(Api(sandbox, secret="other").classic_token(), 40125)
    sandbox.revoke("wechat", APPID)
    assert_refused(api.count(), 40001)
    assert_refused(api.stable_token(), 40125)


def test_ip_whitelist_switch(sandbox):
    sandbox.register("wechat", APPID, ip_blocked=True)
    assert_refused(Api(sandbox).stable_token(), 40164)


# ---------------------------------------------------------------- media and drafts


def test_uploads_check_format_and_size(sandbox, api):
    image = api.upload("material/add_material", jpeg_bytes(), type="image")
    assert image["url"].startswith("http://mmbiz.qpic.cn/")
    assert_refused(api.upload("material/add_material", b"not an image", type="image"), 40005)
    assert_refused(api.upload("material/add_material", png_bytes(), type="thumb"), 40005)
    big = jpeg_bytes() + b"\0" * (64 * 1024)
    assert_refused(api.upload("material/add_material", big, type="thumb"), 40009)
    assert api.upload("media/uploadimg", png_bytes())["url"].startswith("http://mmbiz.qpic.cn/")
    assert_refused(api.upload("media/uploadimg", b"GIF89a" + b"\0" * 10), 40005)
    assert_refused(api.upload("media/uploadimg", jpeg_bytes() + b"\0" * 1024 * 1024), 40009)
    assert_refused(api.call("media/uploadimg", {"media": "x"}), 41005)


def test_draft_add_enforces_the_article_rules(sandbox, api):
    thumb = api.cover()

    def add(**changes: Any) -> dict[str, Any]:
        article = {"title": "标题", "content": "<p>正文</p>", "thumb_media_id": thumb, **changes}
        return api.call("draft/add", {"articles": [article]})

    assert_refused(add(title="题" * 33), 45003)
    assert_refused(add(author="作" * 17), 45110)
    assert_refused(add(digest="摘" * 129), 45004)
    assert_refused(add(content="字" * 20_000), 45002)
    assert_refused(add(thumb_media_id="nope"), 40007)
    assert_refused(add(title=""), 44003)
    reply = api.raw("draft/add", data=b"{not json")
    assert_refused(reply.json(), 47001)
    assert "media_id" in add(title="题" * 32, author="作" * 16, digest="摘" * 128)


def test_draft_add_is_not_idempotent(sandbox, api):
    first, second = api.draft(), api.draft()
    assert first != second
    assert api.count() == {"total_count": 2}
    listed = api.call("draft/batchget", {"offset": 0, "count": 20, "no_content": 1})
    assert [item["media_id"] for item in listed["item"]] == [second, first]
    assert "content" not in listed["item"][0]["content"]["news_item"][0]


def test_draft_content_is_filtered_like_wechat(sandbox, api):
    hosted = api.upload("media/uploadimg", jpeg_bytes())["url"]
    content = (
        f'<p>一</p><script>alert(1)</script><img src="{hosted}">'
        '<img src="https://elsewhere.example.com/x.jpg"><img src="{{media:img1}}">'
    )
    media_id = api.draft(content=content)
    [article] = api.call("draft/get", {"media_id": media_id})["news_item"]
    assert article["content"] == f'<p>一</p><img src="{hosted}">'


def test_unicode_escapes_are_stored_literally(sandbox, api):
    article = {"title": "市政府", "content": "<p>正文</p>", "thumb_media_id": api.cover()}
    escaped = json.dumps({"articles": [article]}, ensure_ascii=True).encode()
    media_id = api.raw("draft/add", data=escaped).json()["media_id"]
    [stored] = api.call("draft/get", {"media_id": media_id})["news_item"]
    assert stored["title"] == "\\u5e02\\u653f\\u5e9c"


# ---------------------------------------------------------------- publishing


def test_publish_is_asynchronous_on_the_sandbox_clock(sandbox, api):
    sandbox.register("wechat", APPID, publish_delay_s=30)
    media_id = api.draft(digest="摘要")
    submitted = api.call("freepublish/submit", {"media_id": media_id})
    publish_id = submitted["publish_id"]
    assert isinstance(publish_id, str) and submitted["errcode"] == 0
    assert_refused(api.call("draft/get", {"media_id": media_id}), 40007)  # left the draft box
    assert api.status(publish_id) == {"publish_id": int(publish_id), "publish_status": 1}
    assert sandbox.posts(platform="wechat") == []
    sandbox.advance_clock(30)
    done = api.status(int(publish_id))
    assert done["publish_status"] == 0 and done["fail_idx"] == []
    [item] = done["article_detail"]["item"]
    assert item["idx"] == 1 and item["article_url"].startswith("https://mp.weixin.qq.com/s?")
    [post] = sandbox.posts(platform="wechat", state="live")
    assert post["account"] == APPID and post["remote_id"] == done["article_id"]
    assert post["title"] == "市政府召开防汛工作会议" and post["text"] == "摘要"


def test_scripted_publish_failure(sandbox, api):
    sandbox.register("wechat", APPID, publish_status=3)
    failed = api.status(api.publish())
    assert failed["publish_status"] == 3 and failed["fail_idx"] == [1]
    assert "article_id" not in failed
    assert sandbox.posts(platform="wechat") == []


def test_submit_twice_publishes_twice(sandbox, api):
    api.publish()
    api.publish()
    stats = sandbox.stats()["wechat"]
    assert stats["live"] == 2 and stats["duplicates"] == 1


def test_delete_semantics(sandbox, api):
    publish_id = api.publish(content_source_url="https://hub.example/p/1?d=dl_9")
    article_id = api.status(publish_id)["article_id"]
    assert_refused(api.call("freepublish/delete", {"article_id": "nope"}), 40007)
    assert api.call("freepublish/delete", {"article_id": article_id, "index": 0})["errcode"] == 0
    assert api.status(publish_id)["publish_status"] == 5
    assert_refused(api.call("freepublish/delete", {"article_id": article_id}), 40007)
    [item] = api.call("freepublish/getarticle", {"article_id": article_id})["news_item"]
    assert item["is_deleted"] is True
    assert item["content_source_url"] == "https://hub.example/p/1?d=dl_9"
    listed = api.call("freepublish/batchget", {"offset": 0, "count": 20, "no_content": 1})
    assert listed["total_count"] == 1 and listed["item"][0]["article_id"] == article_id
    assert sandbox.posts(platform="wechat", state="live") == []
    assert len(sandbox.posts(platform="wechat", state="deleted")) == 1


def test_delete_is_unauthorised_for_unverified_accounts(sandbox, api):
    sandbox.register("wechat", APPID, can_delete=False)
    article_id = api.status(api.publish())["article_id"]
    assert_refused(api.call("freepublish/delete", {"article_id": article_id}), 48001)


def test_daily_quota_and_clear_quota(sandbox, api):
    articles = [api.status(api.publish())["article_id"] for _ in range(11)]
    for article_id in articles[:10]:
        assert api.call("freepublish/delete", {"article_id": article_id})["errcode"] == 0
    assert_refused(api.call("freepublish/delete", {"article_id": articles[10]}), 45009)
    assert_refused(api.call("clear_quota", {"appid": "wx-someone-else"}), 40013)
    assert api.call("clear_quota", {"appid": APPID})["errcode"] == 0
    assert api.call("freepublish/delete", {"article_id": articles[10]})["errcode"] == 0


def test_per_minute_limit(sandbox, api):
    sandbox.register("wechat", APPID, minute_limit=2)
    api.count()
    api.count()
    assert_refused(api.count(), 45011)
    sandbox.advance_clock(60)
    assert api.count() == {"total_count": 0}


# ---------------------------------------------------------------- faults and reset


@pytest.mark.parametrize(("fault", "code"), [("busy", -1), ("rate_limit", 45011)])
def test_faults_in_the_wechat_envelope(sandbox, api, fault, code):
    sandbox.config(faults={fault: 1.0})
    assert_refused(api.count(), code)
    assert api.stable_token()["access_token"] == api.token  # token calls are not faulted
    assert sandbox.stats()["wechat"]["errors"] == 1


def test_http_5xx_fault_is_an_html_gateway_page(sandbox, api):
    sandbox.config(faults={"http_5xx": 1.0})
    reply = api.raw("draft/batchget", {"count": 1})
    assert reply.status_code in (502, 503)
    assert reply.headers["Content-Type"].startswith("text/html")
    assert sandbox.stats()["wechat"]["errors"] == 1


def test_reset_forgets_tokens_and_posts(sandbox, api):
    api.publish()
    sandbox.reset()
    assert_refused(api.count(), 40001)
    assert sandbox.posts(platform="wechat") == []


def test_force_refresh_is_limited_to_twenty_a_day(sandbox, api):
    for _ in range(20):
        assert "access_token" in api.stable_token(force=True)
        sandbox.advance_clock(31)
    assert_refused(api.stable_token(force=True), 45009)


def test_delete_by_one_based_index_removes_one_article(sandbox, api):
    thumb = api.cover()
    articles = [
        {"title": f"第{n}篇", "content": "<p>正文</p>", "thumb_media_id": thumb} for n in (1, 2)
    ]
    media_id = api.call("draft/add", {"articles": articles})["media_id"]
    publish_id = api.call("freepublish/submit", {"media_id": media_id})["publish_id"]
    article_id = api.status(publish_id)["article_id"]
    assert api.call("freepublish/delete", {"article_id": article_id, "index": 2})["errcode"] == 0
    remaining = api.status(publish_id)
    assert remaining["publish_status"] == 0
    assert [item["idx"] for item in remaining["article_detail"]["item"]] == [1]
    assert len(sandbox.posts(platform="wechat", state="live")) == 1
    assert api.call("freepublish/delete", {"article_id": article_id, "index": 1})["errcode"] == 0
    assert api.status(publish_id)["publish_status"] == 5
    assert sandbox.posts(platform="wechat", state="live") == []
