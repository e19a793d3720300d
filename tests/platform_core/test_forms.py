"""sandbox.forms against a real aiohttp server: the bodies clients send, and broken ones."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sandbox.forms import FilePart, PartMissing, media_type, read_form, read_part, stream_file_part

BOUNDARY = "b0undaryXyZ"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def call(
    reader: Callable[[web.Request], Any],
    body: Any,
    content_type: str | None = None,
    *,
    client_max_size: int = 1024**2,
) -> Any:
    """POST ``body`` to a loopback server whose handler runs ``reader(request)``.

    Returns what ``reader`` returned (awaited if need be), or raises what it raised. ``content_type`` None with a
    bytes body sends no Content-Type at all.
    """
    outcome: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.Response:
        try:
            result = reader(request)
            outcome["value"] = await result if inspect.isawaitable(result) else result
        except Exception as exc:  # handed to the test thread
            outcome["error"] = exc
        return web.Response(status=204)

    async def main() -> None:
        app = web.Application(client_max_size=client_max_size)
        app.router.add_post("/", handler)
        async with TestClient(TestServer(app)) as client:
            headers = {} if content_type is None else {"Content-Type": content_type}
            skip = ["Content-Type"] if content_type is None and isinstance(body, bytes) else []
            response = await client.post("/", data=body, headers=headers, skip_auto_headers=skip)
            assert response.status == 204

    asyncio.run(main())
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def multipart(*parts: tuple[list[str], bytes], close: bool = True) -> bytes:
    """A hand-built multipart body: (header lines, data) per part."""
    body = b""
    for headers, data in parts:
        head = "".join(f"{line}\r\n" for line in headers)
        body += f"--{BOUNDARY}\r\n{head}\r\n".encode() + data + b"\r\n"
    return body + (f"--{BOUNDARY}--\r\n".encode() if close else b"")


def text_part(name: str, value: str) -> tuple[list[str], bytes]:
    return [f'Content-Disposition: form-data; name="{name}"'], value.encode()


def file_part(name: str, data: bytes, filename: str = "a.bin") -> tuple[list[str], bytes]:
    return [f'Content-Disposition: form-data; name="{name}"; filename="{filename}"'], data


# ---------------------------------------------------------------- read_form


def test_urlencoded_fields_keep_order_blanks_and_repeats() -> None:
    body = "status=%E9%98%B2%E6%B1%9B+%E9%80%9A%E7%9F%A5&rip=&tag=a&tag=b&flag"
    form = call(read_form, body.encode(), "application/x-www-form-urlencoded; charset=UTF-8")
    assert list(form.items()) == [
        ("status", "防汛 通知"),
        ("rip", ""),
        ("tag", "a"),
        ("tag", "b"),
        ("flag", ""),
    ]
    assert form.getall("tag") == ["a", "b"]


@pytest.mark.parametrize(
    "body",
    [
        "a=1&b=&c&&=x&d=%zz&e=%E4%B8&f=%FF%E4%B8%AD&g=%2",  # blanks, bad escapes, bad UTF-8
        "f=a+b%2Bc&g=%26%3D&h=%2525E4&i=1;j=2&k=1#frag&l=?&m=\\x41",  # '+', '%26', ';', '#'
        "status=%25E3%2580%2590%25E6%25B5%258B%25E8%25AF%2595%25E3%2580%2591",  # Weibo's
    ],
)
def test_urlencoded_decodes_as_parse_qsl(body: str) -> None:
    form = call(read_form, body.encode(), "application/x-www-form-urlencoded")
    assert list(form.items()) == parse_qsl(body, keep_blank_values=True, errors="replace")


def test_urlencoded_with_another_charset() -> None:
    body = "city=%BD%AD%B3%C7&raw=" + "江城".encode("gbk").decode("latin-1")
    form = call(read_form, body.encode("latin-1"), "application/x-www-form-urlencoded; charset=GBK")
    assert dict(form) == {"city": "江城", "raw": "江城"}


def test_urlencoded_from_aiohttp_form_data() -> None:
    data = aiohttp.FormData({"access_token": "2.00tok", "status": "a&b=c 中"})
    form = call(read_form, data)
    assert dict(form) == {"access_token": "2.00tok", "status": "a&b=c 中"}


def test_multipart_with_a_file_and_non_ascii_text() -> None:
    data = aiohttp.FormData()
    data.add_field("access_token", "2.00tok")
    data.add_field("status", "【测试】防汛通知 ✓ http://127.0.0.1/p/1")
    data.add_field("pic", JPEG, filename="cover.jpg", content_type="image/jpeg")
    form = call(read_form, data)
    assert form["access_token"] == "2.00tok"
    assert form["status"] == "【测试】防汛通知 ✓ http://127.0.0.1/p/1"
    assert form["pic"] == FilePart("pic", "cover.jpg", "image/jpeg", JPEG)


def test_multipart_text_charsets_and_undecodable_bytes() -> None:
    gbk_headers = [
        'Content-Disposition: form-data; name="gbk"',
        "Content-Type: text/plain; charset=gbk",
    ]
    body = multipart(
        (gbk_headers, "江城".encode("gbk")),
        text_part("raw", "名字"),  # UTF-8 without a charset, as browsers send it
        (['Content-Disposition: form-data; name="bad"'], b"ok\xff"),
        (['Content-Disposition: form-data; name="empty"; filename=""'], b"no file"),
    )
    form = call(read_form, body, MULTIPART)
    assert dict(form) == {"gbk": "江城", "raw": "名字", "bad": "ok\ufffd", "empty": "no file"}


def test_rfc2231_filename_wins_over_the_plain_one() -> None:
    disposition = (
        'Content-Disposition: form-data; name="pic"; filename="x.jpg"; '
        "filename*=UTF-8''%E5%9B%BE%20%E7%89%87.jpg"
    )
    form = call(read_form, multipart(([disposition], JPEG)), MULTIPART)
    assert form["pic"] == FilePart("pic", "图 片.jpg", None, JPEG)


def test_boundary_lookalikes_preamble_and_quoted_boundary() -> None:
    tricky = b"\r\n--" + BOUNDARY.encode()[:-1] + b"\r\n--\r\n"
    body = b"a preamble line\r\n" + multipart(file_part("f", tricky), text_part("t", "v"))
    form = call(read_form, body, f'multipart/form-data; boundary="{BOUNDARY}"')
    assert form["f"].data == tricky and form["t"] == "v"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (multipart(text_part("a", "1")), "multipart/form-data"),  # no boundary
        (multipart(text_part("a", "1"), close=False), MULTIPART),  # no closing boundary
        (b"not multipart at all", MULTIPART),
        (b"", MULTIPART),
        (multipart((["Content-Disposition: form-data"], b"x")), MULTIPART),  # no name
    ],
    ids=["missing-boundary", "truncated", "garbage", "empty", "nameless-part"],
)
def test_malformed_multipart_raises_value_error(body: bytes, content_type: str) -> None:
    with pytest.raises(ValueError):
        call(read_form, body, content_type)


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "text/plain", "multipart/mixed; boundary=x"]
)
def test_other_content_types_give_an_empty_form(content_type: str | None) -> None:
    assert len(call(read_form, b"a=1&b=2", content_type)) == 0


def test_body_over_client_max_size_is_refused() -> None:
    data = aiohttp.FormData()
    data.add_field("pic", JPEG * 10, filename="big.jpg")
    with pytest.raises(web.HTTPRequestEntityTooLarge):
        call(read_form, data, client_max_size=64 * 1024)


def test_media_type_is_lower_cased_without_parameters() -> None:
    assert call(media_type, b"x", "Application/X-WWW-Form-Urlencoded ; charset=UTF-8") == (
        "application/x-www-form-urlencoded"
    )
    assert call(media_type, b"x", None) == ""


# ---------------------------------------------------------------- streamed parts


def video_body(video: bytes) -> bytes:
    return multipart(text_part("title", "标题"), file_part("video", video, "a.mp4"))


def stream(name: str, limit: int) -> Callable[[web.Request], Awaitable[Any]]:
    return lambda request: stream_file_part(request, name, limit)


def test_stream_file_part_hashes_the_named_part_across_chunks() -> None:
    video = bytes(range(251)) * 4_000  # ~1 MB: several 256 KiB reads, boundaries anywhere
    size, digest = call(stream("video", len(video)), video_body(video), MULTIPART)
    assert size == len(video) and digest == hashlib.sha256(video).digest()


def test_stream_file_part_is_not_bounded_by_client_max_size() -> None:
    video = b"\x00" * (300 * 1024)
    answer = call(stream("video", 1024**2), video_body(video), MULTIPART, client_max_size=1024)
    assert answer == (len(video), hashlib.sha256(video).digest())


def test_stream_file_part_over_the_limit_is_none() -> None:
    video = b"\x01" * 10_001
    assert call(stream("video", 10_000), video_body(video), MULTIPART) is None
    assert call(stream("video", 10_001), video_body(video), MULTIPART) is not None


def test_stream_file_part_missing_part() -> None:
    with pytest.raises(PartMissing) as caught:
        call(stream("image", 1024), video_body(b"data"), MULTIPART)
    assert isinstance(caught.value, LookupError)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\x00" * 100, "application/octet-stream"),
        (video_body(b"v"), "multipart/form-data"),
        (video_body(b"video")[:-30], MULTIPART),  # ends inside the part
    ],
    ids=["not-multipart", "missing-boundary", "truncated"],
)
def test_stream_file_part_malformed(body: bytes, content_type: str) -> None:
    with pytest.raises(ValueError):
        call(stream("video", 1024), body, content_type)


def test_read_part_returns_the_bytes_or_none_over_the_limit() -> None:
    data = aiohttp.FormData()
    data.add_field("media", JPEG, filename="x.jpg", content_type="image/jpeg")
    assert call(lambda request: read_part(request, "media", len(JPEG)), data) == JPEG
    body = multipart(file_part("media", JPEG))
    assert call(lambda request: read_part(request, "media", len(JPEG) - 1), body, MULTIPART) is None
