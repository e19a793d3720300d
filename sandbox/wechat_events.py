"""The ``PUBLISHJOBFINISH`` event the emulated WeChat pushes when a publish job ends
(docs/platforms/wechat.md, "Publish events").

An app registered with ``callback_url`` (its 服务器配置 URL) and ``callback_token`` (the
令牌 both sides know) gets one XML event per finished ``freepublish/submit``, success or
failure, POSTed with ``?signature=&timestamp=&nonce=&openid=`` (``signature``: the SHA-1 of
the sorted, concatenated token, timestamp and nonce). That is plaintext mode; with
``callback_aes_key`` (the EncodingAESKey) it is safe mode: the body carries ``<Encrypt>``, and
the query adds ``encrypt_type=aes`` and ``msg_signature`` (``adapters.wechat_crypto``). Like
WeChat, a delivery that gets no 2xx within 5 s is tried again, three tries in all; the
answer's body is not read for meaning.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from adapters.wechat_crypto import encrypt, signature

log = logging.getLogger("sandbox.wechat.events")

TRIES = 3
TIMEOUT_S = 5.0
ADMIN_OPENID = "o_sandbox_admin"  # the FromUserName of system events


def publish_event_xml(appid: str, publish_id: int, status: int, *, article_id: str | None,
                      urls: list[str], fail_idx: list[int], now: float) -> bytes:
    """The event as WeChat words it: CDATA for strings, bare numbers."""
    if status == 0:
        items = "".join(f"<item><idx>{idx}</idx><article_url>{_cdata(url)}</article_url></item>"
                        for idx, url in enumerate(urls, start=1))
        detail = (f"<article_id>{_cdata(article_id or '')}</article_id>"
                  f"<article_detail><count>{len(urls)}</count>{items}</article_detail>")
    else:
        detail = "".join(f"<fail_idx>{idx}</fail_idx>" for idx in fail_idx)
    return (f"<xml><ToUserName>{_cdata('gh_' + appid)}</ToUserName>"
            f"<FromUserName>{_cdata(ADMIN_OPENID)}</FromUserName>"
            f"<CreateTime>{int(now)}</CreateTime><MsgType>{_cdata('event')}</MsgType>"
            f"<Event>{_cdata('PUBLISHJOBFINISH')}</Event><PublishEventInfo>"
            f"<publish_id>{publish_id}</publish_id><publish_status>{status}</publish_status>"
            f"{detail}</PublishEventInfo></xml>").encode()


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class EventSender:
    """Sends events in the background; keeps its tasks so none is collected mid-flight."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()
        self.sent = 0
        self.failed = 0

    def send_when_due(self, appid: str, settings: dict[str, Any],
                      due_in: Callable[[], float | None], build: Callable[[], bytes]) -> None:
        """Deliver ``build()`` once ``due_in()`` says 0 (seconds to wait; None: abandon, e.g.
        the sandbox was reset). Checked at least every half second, so a test that moves the
        sandbox clock forward gets its event at once too."""
        task = asyncio.get_running_loop().create_task(self._send(appid, settings, due_in, build))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, appid: str, settings: dict[str, Any],
                    due_in: Callable[[], float | None], build: Callable[[], bytes]) -> None:
        while True:
            wait = due_in()
            if wait is None:
                return
            if wait <= 0:
                break
            await asyncio.sleep(min(wait, 0.5))
        event = build()
        url, token = str(settings["callback_url"]), str(settings.get("callback_token", ""))
        aes_key = settings.get("callback_aes_key")
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for _ in range(TRIES):
                timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
                query = {"signature": signature(token, timestamp, nonce),
                         "timestamp": timestamp, "nonce": nonce, "openid": ADMIN_OPENID}
                body = event
                if aes_key:  # safe mode, sealed afresh for each try's signature
                    sealed = encrypt(str(aes_key), appid, event)
                    body = (f"<xml><ToUserName><![CDATA[gh_{appid}]]></ToUserName>"
                            f"<Encrypt><![CDATA[{sealed}]]></Encrypt></xml>").encode()
                    query.update(encrypt_type="aes",
                                 msg_signature=signature(token, timestamp, nonce, sealed))
                try:
                    async with session.post(url, params=query, data=body,
                                            headers={"Content-Type": "text/xml"}) as answer:
                        await answer.read()
                        if answer.status < 300:
                            self.sent += 1
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
        self.failed += 1
        log.info("PUBLISHJOBFINISH not delivered after %d tries", TRIES)
