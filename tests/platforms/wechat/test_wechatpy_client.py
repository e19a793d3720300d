"""The other direction: the wechatpy SDK (a real WeChat client) driving the sandbox.

wechatpy 1.8 has no draft/freepublish helpers, so those go through its generic ``post()``;
its token fetch hard-codes api.weixin.qq.com, so the subclass points it at the sandbox.
"""

from __future__ import annotations

import io

import pytest
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from tests.platforms.samples import png_bytes
from tests.platforms.wechat.support import jpeg_bytes

APPID = "wx00000000000000c1"
SECRET = "wechatpy-secret"


class SandboxWeChatClient(WeChatClient):
    def __init__(self, api_base: str, appid: str = APPID, secret: str = SECRET):
        super().__init__(appid, secret, timeout=5)
        self.API_BASE_URL = api_base

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


@pytest.fixture
def client(sandbox) -> SandboxWeChatClient:
    return SandboxWeChatClient(f"{sandbox.url}/wechat/cgi-bin/")


def draft_article(client: SandboxWeChatClient) -> dict:
    cover = client.material.add("image", io.BytesIO(jpeg_bytes()))
    inline_url = client.media.upload_image(io.BytesIO(png_bytes()))
    return {
        "title": "市政府召开防汛工作会议",
        "author": "融媒体中心",
        "digest": "会议部署了本周强降雨应对工作。",
        "content": f'<p>正文</p><p><img src="{inline_url}"></p>',
        "content_source_url": "https://hub.example.gov.cn/p/it_flood?d=dl_sdk",
        "thumb_media_id": cover["media_id"],
        "need_open_comment": 1,
    }


def test_wechatpy_publishes_and_deletes_through_the_sandbox(sandbox, client):
    media_id = client.post("draft/add", data={"articles": [draft_article(client)]})["media_id"]
    [stored] = client.post("draft/get", data={"media_id": media_id})["news_item"]
    assert stored["title"] == "市政府召开防汛工作会议"  # wechatpy sends ensure_ascii=False
    assert '<img src="http://mmbiz.qpic.cn/' in stored["content"]

    submitted = client.post("freepublish/submit", data={"media_id": media_id})
    status = client.post("freepublish/get", data={"publish_id": submitted["publish_id"]})
    assert status["publish_status"] == 0
    [post] = sandbox.posts(platform="wechat", state="live")
    assert post["account"] == APPID and post["remote_id"] == status["article_id"]

    deleted = client.post("freepublish/delete", data={"article_id": status["article_id"]})
    assert deleted["errcode"] == 0
    gone = client.post("freepublish/get", data={"publish_id": submitted["publish_id"]})
    assert gone["publish_status"] == 5
    assert sandbox.posts(platform="wechat", state="live") == []


def test_wechatpy_retries_an_expired_token_by_itself(sandbox, client):
    first_token = client.access_token
    sandbox.advance_clock(7201)  # wechatpy's own clock does not know: it sends the old token
    assert client.post("draft/batchget", data={"offset": 0, "count": 20}) == {
        "total_count": 0,
        "item_count": 0,
        "item": [],
    }
    assert client.access_token != first_token


def test_wechatpy_sees_errors_in_the_envelope(sandbox, client):
    with pytest.raises(WeChatClientException) as caught:
        client.post("draft/get", data={"media_id": "nope"})
    assert caught.value.errcode == 40007
    assert " rid: " in caught.value.errmsg
