"""The sandbox's PUBLISHJOBFINISH events, checked with wechatpy (a real WeChat SDK): its
signature check and its XML parser, not ours."""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

from tests.platforms.wechat.test_sandbox import APPID, Api

TOKEN = "Callback0Token"


class Receiver:
    """A loopback HTTP server that records every request; answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                receiver.requests.append((query, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "7")
                self.end_headers()
                self.wfile.write(b"success")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callbacks/wechat/acc_1"

    def wait(self, count: int, timeout: float = 10) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def _event(request: tuple[dict[str, str], bytes]) -> dict[str, Any]:
    query, body = request
    check_signature(TOKEN, query["signature"], query["timestamp"], query["nonce"])  # raises
    assert abs(int(query["timestamp"]) - time.time()) < 60 and query["openid"]
    # wechatpy has no class for this event (an UnknownMessage): its parsed fields.
    data = parse_message(body)._data
    assert data["MsgType"] == "event"
    return data


def test_a_finished_publish_is_pushed_as_a_signed_event(sandbox, receiver):
    sandbox.register("wechat", APPID, publish_delay_s=30, callback_url=receiver.url,
                     callback_token=TOKEN)
    api = Api(sandbox).login()
    publish_id = api.publish()
    time.sleep(0.7)
    assert receiver.requests == []  # still publishing: nothing to say yet
    sandbox.advance_clock(30)
    [request] = receiver.wait(1)
    event = _event(request)
    assert event["Event"] == "PUBLISHJOBFINISH" and event["ToUserName"] == "gh_" + APPID
    info = event["PublishEventInfo"]
    done = api.status(publish_id)  # the same facts as freepublish/get
    assert info["publish_id"] == publish_id and info["publish_status"] == "0"
    assert info["article_id"] == done["article_id"]
    assert info["article_detail"]["item"]["article_url"] == \
        done["article_detail"]["item"][0]["article_url"]


def test_safe_mode_events_are_encrypted_for_the_app(sandbox, receiver):
    key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    sandbox.register("wechat", APPID, callback_url=receiver.url, callback_token=TOKEN,
                     callback_aes_key=key)
    publish_id = Api(sandbox).login().publish()
    query, body = receiver.wait(1)[0]
    check_signature(TOKEN, query["signature"], query["timestamp"], query["nonce"])
    assert query["encrypt_type"] == "aes" and b"PUBLISHJOBFINISH" not in body
    plain = WeChatCrypto(TOKEN, key, APPID).decrypt_message(
        body, query["msg_signature"], query["timestamp"], query["nonce"])  # raises if wrong
    info = parse_message(plain)._data["PublishEventInfo"]
    assert info["publish_id"] == publish_id and info["publish_status"] == "0"


def test_a_failed_publish_says_which_articles_failed(sandbox, receiver):
    sandbox.register("wechat", APPID, publish_status=4, callback_url=receiver.url,
                     callback_token=TOKEN)
    Api(sandbox).login().publish()
    info = _event(receiver.wait(1)[0])["PublishEventInfo"]
    assert info["publish_status"] == "4" and info["fail_idx"] == "1"
    assert "article_id" not in info


def test_an_unanswered_event_is_tried_three_times(sandbox, receiver):
    receiver.status = 500
    sandbox.register("wechat", APPID, callback_url=receiver.url, callback_token=TOKEN)
    Api(sandbox).login().publish()
    requests = receiver.wait(3)
    time.sleep(0.3)
    assert len(requests) == 3
    assert len({query["nonce"] for query, _ in requests}) == 3  # each try signed afresh
    assert len({body for _, body in requests}) == 1


def test_no_events_without_a_callback_url(sandbox, receiver):
    Api(sandbox).login().publish()
    time.sleep(0.5)
    assert receiver.requests == []
