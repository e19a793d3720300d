"""Users' messages the emulated WeChat pushes to the hub (the message server, 消息服务器).

When the chatter (sandbox/chatter.py) has ``messages_per_day`` above 0, every WeChat app
registered with a ``callback_url`` and ``callback_token`` (its 服务器配置), and every account
authorised to a 第三方平台 registered with a ``message_url`` (``$APPID$`` = the authorizer),
gets its users' messages as they fall due on the sandbox clock: XML with ``ToUserName``,
``FromUserName`` (the user's openid), ``CreateTime``, ``MsgType``, ``Content``, ``MsgId``,
signed (``signature``; ``msg_signature`` over the ciphertext in safe mode) and, with an
EncodingAESKey, encrypted, as WeChat does. A push that gets no 2xx within 5 s is tried again,
three tries in all; each answer is recorded (``GET /wechat/_sandbox/messages``): whether the
body was ``success`` or empty, as WeChat requires, and how long it took.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from adapters.wechat_crypto import encrypt, signature
from sandbox.chatter import SimComment, chatter_of
from sandbox.core import SandboxState
from sandbox.replies import book_of
from sandbox.wechat_events import _cdata

log = logging.getLogger("sandbox.wechat.messages")

TRIES = 3
TIMEOUT_S = 5.0
TICK_S = 0.5
MSG_ID_BASE = 23_000_000_000_000_000


@dataclass(frozen=True)
class Target:
    appid: str  # the account (authorizer) the users write to
    url: str
    token: str
    aes_key: str | None
    trailer: str  # the appid sealed into the ciphertext (the component's, when delegated)


def message_xml(appid: str, message: SimComment, msg_id: int) -> bytes:
    return (f"<xml><ToUserName>{_cdata('gh_' + appid)}</ToUserName>"
            f"<FromUserName>{_cdata('o' + message.user[:27])}</FromUserName>"
            f"<CreateTime>{int(message.at)}</CreateTime><MsgType>{_cdata('text')}</MsgType>"
            f"<Content>{_cdata(message.text)}</Content><MsgId>{msg_id}</MsgId></xml>").encode()


class MessagePusher:
    def __init__(self, state: SandboxState, component: Any) -> None:
        self.state = state
        self.component = component
        self._task: asyncio.Task | None = None
        self._since: dict[str, float] = {}
        self._pushed: dict[str, int] = {}
        self.answers: list[dict[str, Any]] = []
        chatter_of(state).on_configure(self.start)
        state.on_reset(self.reset)

    def reset(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._since.clear()
        self._pushed.clear()
        self.answers = []

    def start(self) -> None:
        if chatter_of(self.state).config.messages_per_day <= 0:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def targets(self) -> list[Target]:
        found = [Target(appid, str(data["callback_url"]), str(data["callback_token"]),
                        data.get("callback_aes_key"), appid)
                 for appid, data in self.state.accounts.registrations("wechat")
                 if data.get("callback_url") and data.get("callback_token")]
        for app in getattr(self.component, "apps", {}).values():
            if not app.message_url:
                continue
            found += [Target(g.authorizer, app.message_url.replace("$APPID$", g.authorizer),
                             app.token, app.aes_key, app.appid)
                      for g in app.grants.values() if not g.revoked]
        return found

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while chatter_of(self.state).config.messages_per_day > 0:
                for target in self.targets():
                    await self._push_due(session, target)
                await asyncio.sleep(TICK_S)

    async def _push_due(self, session: aiohttp.ClientSession, target: Target) -> None:
        since = self._since.setdefault(target.appid, self.state.clock.now())
        messages = chatter_of(self.state).messages(target.appid, since)
        done = self._pushed.get(target.appid, 0)
        for number, message in enumerate(messages[done:], start=done + 1):
            spread = int(hashlib.sha256(target.appid.encode()).hexdigest()[:12], 16) % 10**9
            msg_id = MSG_ID_BASE + spread * 10**6 + number
            await self._deliver(session, target, message_xml(target.appid, message, msg_id))
            self._pushed[target.appid] = number
            # The customer-service window (sandbox/replies.py) runs from what users sent.
            book_of(self.state).heard(target.appid, "o" + message.user[:27], message.at)

    async def _deliver(self, session: aiohttp.ClientSession, target: Target,
                       event: bytes) -> None:
        for attempt in range(1, TRIES + 1):
            timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
            query = {"signature": signature(target.token, timestamp, nonce),
                     "timestamp": timestamp, "nonce": nonce}
            body = event
            if target.aes_key:
                sealed = encrypt(target.aes_key, target.trailer, event)
                body = (f"<xml><ToUserName><![CDATA[gh_{target.appid}]]></ToUserName>"
                        f"<Encrypt><![CDATA[{sealed}]]></Encrypt></xml>").encode()
                query.update(encrypt_type="aes",
                             msg_signature=signature(target.token, timestamp, nonce, sealed))
            started = time.monotonic()
            try:
                async with session.post(target.url, params=query, data=body,
                                        headers={"Content-Type": "text/xml"}) as answer:
                    text = (await answer.read()).decode(errors="replace")
                    took = time.monotonic() - started
                    self.answers.append({"appid": target.appid, "attempt": attempt,
                                         "status": answer.status, "took_s": round(took, 3),
                                         "acknowledged": answer.status < 300
                                         and text in ("success", "")})
                    if answer.status < 300:
                        return
            except (aiohttp.ClientError, TimeoutError):
                self.answers.append({"appid": target.appid, "attempt": attempt,
                                     "status": None, "took_s": TIMEOUT_S,
                                     "acknowledged": False})
        log.info("a user message was not delivered after %d tries", TRIES)

    async def report(self, request: web.Request) -> web.Response:
        return web.json_response({"pushed": dict(self._pushed), "answers": self.answers[-200:]})
