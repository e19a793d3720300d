"""adapters.http.call against tiny misbehaving servers on loopback."""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters.base import AccountMisconfigured, AdapterError, OutcomeUnknown, Retryable
from adapters.http import HttpReply, call, dumps, retry_after_seconds, safe_url
from tests.plugins.services import free_port

TOKEN = "SECRET-TOKEN-123"
FAST = aiohttp.ClientTimeout(total=1.0, connect=0.5)
# A safety net for the test itself: a call that hangs fails the test instead of stalling it.
HANG_GUARD_S = 10

RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request_head(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


def run_against_raw_server(handler: RawHandler, **call_kw: Any) -> HttpReply:
    """Serve ``handler`` on a loopback port, make one call to it, return the reply or raise."""

    async def scenario() -> HttpReply:
        async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
                pass  # the client gave up, or the test ended: expected in these scenarios
            finally:
                writer.close()

        server = await asyncio.start_server(guarded, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await one_call(
                f"http://127.0.0.1:{port}/api/send?access_token={TOKEN}", **call_kw
            )
        finally:
            server.close()

    return asyncio.run(scenario())


def run_against_app(app: web.Application, **call_kw: Any) -> HttpReply:
    async def scenario() -> HttpReply:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            return await one_call(
                f"http://127.0.0.1:{port}/api/send?access_token={TOKEN}", **call_kw
            )
        finally:
            await runner.cleanup()

    return asyncio.run(scenario())


async def one_call(url: str, **call_kw: Any) -> HttpReply:
    options: dict[str, Any] = {"timeout": FAST, "params": {"openid": "o1", "token": TOKEN}}
    options.update(call_kw)
    method = options.pop("method", "GET")
    async with aiohttp.ClientSession() as session, asyncio.timeout(HANG_GUARD_S):
        return await call(session, method, url, platform="wechat", **options)


def assert_no_secret(error: AdapterError) -> None:
    for rendered in (str(error), repr(error), error.reason, *map(str, error.args)):
        assert TOKEN not in rendered
        assert "access_token" not in rendered
    # the original aiohttp exception (whose text may quote the full URL) is not chained
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None


def response_head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# ---------------------------------------------------------------- answers that are not failures


def test_html_error_page_is_a_reply_with_no_json() -> None:
    async def bad_gateway(request: web.Request) -> web.Response:
        return web.Response(
            status=502, text="<html><body><h1>502 Bad Gateway</h1></body></html>",
            content_type="text/html",
        )  # fmt: skip

    app = web.Application()
    app.router.add_get("/api/send", bad_gateway)
    reply = run_against_app(app)

    assert reply.status == 502 and not reply.ok
    assert reply.json is None
    assert b"Bad Gateway" in reply.body
    assert reply.headers["Content-Type"].startswith("text/html")


def test_json_is_parsed_whatever_the_content_type_and_garbage_is_none() -> None:
    async def plain(request: web.Request) -> web.Response:
        return web.Response(text='{"errcode":0,"media_id":"m1"}', content_type="text/plain")

    async def lying(request: web.Request) -> web.Response:
        return web.Response(body=b"\xff\xfe{not json", content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/send", plain)
    assert run_against_app(app).json == {"errcode": 0, "media_id": "m1"}
    app = web.Application()
    app.router.add_get("/api/send", lying)
    assert run_against_app(app).json is None


def test_json_payload_goes_out_as_readable_utf8_and_params_reach_the_server() -> None:
    seen: dict[str, Any] = {}

    async def echo(request: web.Request) -> web.Response:
        seen["body"] = await request.read()
        seen["content_type"] = request.headers["Content-Type"]
        seen["query"] = dict(request.query)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/api/send", echo)
    reply = run_against_app(app, method="POST", json={"title": "政务公开", "n": 1})

    assert reply.ok and reply.json == {"ok": True}
    assert seen["body"] == '{"title":"政务公开","n":1}'.encode()
    assert seen["content_type"] == "application/json; charset=utf-8"
    assert seen["query"] == {"access_token": TOKEN, "openid": "o1", "token": TOKEN}


def test_a_mapping_goes_out_urlencoded_as_aiohttp_would_send_it() -> None:
    seen: dict[str, Any] = {}

    async def echo(request: web.Request) -> web.Response:
        seen["content_type"] = request.headers["Content-Type"]
        seen["form"] = dict(await request.post())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/api/send", echo)
    form = {"access_token": TOKEN, "status": "政务 公开&a=b", "id": 5}
    reply = run_against_app(app, method="POST", data=form)

    assert reply.ok
    assert seen["content_type"] == "application/x-www-form-urlencoded"
    assert seen["form"] == {"access_token": TOKEN, "status": "政务 公开&a=b", "id": "5"}


def test_reply_repr_never_shows_the_body() -> None:
    async def token_endpoint(request: web.Request) -> web.Response:
        return web.json_response({"access_token": TOKEN, "expires_in": 7200})

    app = web.Application()
    app.router.add_get("/api/send", token_endpoint)
    reply = run_against_app(app)
    assert reply.json["access_token"] == TOKEN
    assert TOKEN not in repr(reply)


def test_a_small_compressed_body_that_inflates_past_max_body_is_refused() -> None:
    bomb = gzip.compress(b"0" * 5_000_000)  # ~5 KB on the wire, 5 MB inflated

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(response_head(**{"Content-Length": str(len(bomb)),
                                      "Content-Encoding": "gzip"}) + bomb)
        await writer.drain()

    with pytest.raises(Retryable) as caught:
        run_against_raw_server(handler, max_body=100_000)
    assert "100000" in caught.value.reason


def test_a_compressed_answer_within_max_body_is_inflated() -> None:
    body = gzip.compress(b'{"errcode":0}')

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(response_head(**{"Content-Length": str(len(body)),
                                      "Content-Encoding": "gzip"}) + body)
        await writer.drain()

    assert run_against_raw_server(handler).json == {"errcode": 0}


def test_a_body_of_exactly_max_body_bytes_is_accepted() -> None:
    async def sized(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 1000)

    app = web.Application()
    app.router.add_get("/api/send", sized)
    assert len(run_against_app(app, max_body=1000).body) == 1000


# ---------------------------------------------------------------- not sent: plain Retryable


def test_refused_port_is_retryable_and_not_sent() -> None:
    port = free_port()  # bound then released: nothing listens there

    async def scenario() -> None:
        await one_call(f"http://127.0.0.1:{port}/api/send?access_token={TOKEN}")

    with pytest.raises(Retryable) as caught:
        asyncio.run(scenario())
    assert type(caught.value) is Retryable and caught.value.sent is False
    assert f"127.0.0.1:{port}/api/send" in caught.value.reason
    assert_no_secret(caught.value)


def test_connect_timeout_is_retryable_and_not_sent() -> None:
    # A listener whose accept queue is full: the kernel drops further SYNs, connect() hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = [socket.socket() for _ in range(3)]
    for filler in fillers:
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))

    async def scenario() -> None:
        await one_call(
            f"http://127.0.0.1:{port}/api/send?access_token={TOKEN}",
            timeout=aiohttp.ClientTimeout(total=5, connect=0.3),
        )

    try:
        with pytest.raises(Retryable, match="连接超时") as caught:
            asyncio.run(scenario())
    finally:
        for open_socket in (*fillers, listener):
            open_socket.close()
    assert type(caught.value) is Retryable and caught.value.sent is False
    assert_no_secret(caught.value)


@pytest.mark.parametrize(
    "api_base",
    ["wechat-api.example/cgi-bin", "ftp://api.example/cgi-bin", "http://[::1/cgi-bin"],
)
def test_unusable_url_is_an_account_misconfiguration(api_base: str) -> None:
    async def scenario() -> None:
        await one_call(f"{api_base}?access_token={TOKEN}")

    with pytest.raises(AccountMisconfigured) as caught:
        asyncio.run(scenario())
    assert_no_secret(caught.value)


# ---------------------------------------------------------------- too large


def test_enormous_body_with_content_length_is_refused_before_reading() -> None:
    async def huge(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5_000_000)

    app = web.Application()
    app.router.add_get("/api/send", huge)
    with pytest.raises(Retryable, match="响应过大") as caught:
        run_against_app(app, max_body=1_000_000)
    assert not isinstance(caught.value, OutcomeUnknown) and caught.value.sent is True
    assert_no_secret(caught.value)


def test_endless_chunked_body_stops_at_max_body() -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(response_head(Transfer_Encoding="chunked"))
        chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
        while True:
            writer.write(chunk)
            await writer.drain()

    with pytest.raises(Retryable, match="响应过大") as caught:
        run_against_raw_server(endless, max_body=500_000)
    assert_no_secret(caught.value)


# ---------------------------------------------------------------- sent, outcome unknown


def test_slow_loris_body_drip_hits_the_total_timeout() -> None:
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(response_head(Content_Length="100000"))
        while True:  # a byte at a time, often enough that no read timeout ever fires
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    with pytest.raises(OutcomeUnknown) as caught:
        run_against_raw_server(drip, timeout=aiohttp.ClientTimeout(total=1.0, sock_read=0.5))
    assert "超时" in caught.value.reason
    assert_no_secret(caught.value)


def test_slow_loris_header_drip_hits_the_total_timeout() -> None:
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"p" * 100_000:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)

    with pytest.raises(OutcomeUnknown) as caught:
        run_against_raw_server(drip)
    assert_no_secret(caught.value)


def test_silent_server_is_a_read_timeout_after_sending() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        await asyncio.sleep(HANG_GUARD_S)

    with pytest.raises(OutcomeUnknown) as caught:
        run_against_raw_server(silent, timeout=aiohttp.ClientTimeout(total=5, sock_read=0.3))
    assert caught.value.sent is True
    assert_no_secret(caught.value)


def test_truncated_body_is_outcome_unknown() -> None:
    async def truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(response_head(Content_Length="100") + b'{"errcode":0,')
        await writer.drain()

    with pytest.raises(OutcomeUnknown, match="响应不完整") as caught:
        run_against_raw_server(truncated)
    assert_no_secret(caught.value)


def send_rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # RST, not FIN


@pytest.mark.parametrize("answered_bytes", [0, 100])
def test_connection_reset_after_the_request_is_outcome_unknown(answered_bytes: int) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        if answered_bytes:
            writer.write(response_head(Content_Length="5000") + b"x" * answered_bytes)
            await writer.drain()
            await asyncio.sleep(0.05)
        send_rst(writer)

    with pytest.raises(OutcomeUnknown) as caught:
        run_against_raw_server(reset)
    assert "超时" not in caught.value.reason  # the reset itself was recognised, not a timeout
    assert_no_secret(caught.value)


def test_server_hanging_up_without_an_answer_is_outcome_unknown() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)

    with pytest.raises(OutcomeUnknown, match="断开") as caught:
        run_against_raw_server(hang_up, method="POST", json={"title": "x"})
    assert_no_secret(caught.value)


def test_garbage_status_line_is_outcome_unknown() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()

    with pytest.raises(OutcomeUnknown, match="无法解析") as caught:
        run_against_raw_server(garbage)
    assert_no_secret(caught.value)


# ---------------------------------------------------------------- helpers


def test_retry_after_reads_seconds_and_dates_and_falls_back() -> None:
    assert retry_after_seconds({"Retry-After": "30"}) == 30
    assert retry_after_seconds({"Retry-After": " 2.5 "}) == 2.5
    assert retry_after_seconds({"Retry-After": "-4"}) == 0
    assert retry_after_seconds({}, default=3.0) == 3.0
    assert retry_after_seconds(None) == 1.0
    assert retry_after_seconds({"Retry-After": "soon"}, default=7) == 7
    assert retry_after_seconds({"Retry-After": "inf"}, default=7) == 7
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 100 < retry_after_seconds({"Retry-After": later}) <= 120
    earlier = format_datetime(datetime.now(UTC) - timedelta(seconds=120), usegmt=True)
    assert retry_after_seconds({"Retry-After": earlier}) == 0


def test_dumps_is_compact_utf8_json() -> None:
    assert dumps({"标题": "你好", "n": [1, 2]}) == '{"标题":"你好","n":[1,2]}'.encode()


def test_safe_url_drops_query_fragment_and_credentials() -> None:
    url = f"https://user:pw@api.weixin.qq.com/cgi-bin/draft/add?access_token={TOKEN}#frag"
    assert safe_url(url) == "https://api.weixin.qq.com/cgi-bin/draft/add"
