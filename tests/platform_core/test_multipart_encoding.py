"""adapters.multipart: bodies that independent parsers read back exactly."""

from __future__ import annotations

import asyncio
import hashlib

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.multipart import FileParts, encode_file, encode_form
from channels.base import MediaBlob

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40


def blob(data: bytes = JPEG, filename: str = "cover.jpg") -> MediaBlob:
    return MediaBlob(name="cover", filename=filename, content_type="image/jpeg", size=len(data),
                     sha256=hashlib.sha256(data).hexdigest(), read=lambda: data)


def parse_with_aiohttp(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """What aiohttp's own server makes of the body (an independent multipart parser)."""

    async def main():
        async def handler(request: web.Request) -> web.Response:
            got = {}
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                got[part.name] = [part.filename, (await part.read()).hex()]
            return web.json_response(got)

        app = web.Application()
        app.router.add_post("/", handler)
        async with TestClient(TestServer(app)) as client:
            response = await client.post("/", data=body, headers={"Content-Type": content_type})
            return {k: (v[0], bytes.fromhex(v[1])) for k, v in (await response.json()).items()}

    return asyncio.run(main())


def test_fields_and_file_round_trip():
    form = encode_form([("access_token", "2.00abc"), ("status", "防汛 & 抗旱 http://x.cn/p?a=1")],
                       encode_file("pic", blob(), JPEG))
    assert form.content_type.startswith("multipart/form-data; boundary=")
    parsed = parse_with_aiohttp(form.body, form.content_type)
    assert parsed["access_token"] == (None, b"2.00abc")
    assert parsed["status"] == (None, "防汛 & 抗旱 http://x.cn/p?a=1".encode())
    assert parsed["pic"] == ("cover.jpg", JPEG)


def test_unusual_filenames_survive():
    for filename in ('say "hi".jpg', "封面图.jpg"):
        form = encode_form([], encode_file("media", blob(filename=filename), JPEG))
        parsed = parse_with_aiohttp(form.body, form.content_type)
        assert parsed["media"] == (filename, JPEG)


def test_file_parts_are_encoded_once_per_content_and_bounded():
    reads = []
    data = b"\xff\xd8" + b"x" * 1000

    def read() -> bytes:
        reads.append(1)
        return data

    parts = FileParts(entries=2)
    shared = MediaBlob(name="c", filename="c.jpg", content_type="image/jpeg", size=len(data),
                       sha256=hashlib.sha256(data).hexdigest(), read=read)
    first = parts.get("media", shared)
    assert parts.get("media", shared) is first and len(reads) == 1
    for n in range(3):  # three other images push the first one out
        other = b"\xff\xd8" + bytes([n]) * 10
        parts.get("media", MediaBlob(name="o", filename="o.jpg", content_type="image/jpeg",
                                     size=len(other), sha256=hashlib.sha256(other).hexdigest(),
                                     read=lambda other=other: other))
    parts.get("media", shared)
    assert len(reads) == 2


def test_a_cached_part_serves_many_forms_with_different_fields():
    parts = FileParts()
    encoded = [encode_form([("status", f"第{n}条")], parts.get("pic", blob())) for n in range(3)]
    assert len({form.content_type for form in encoded}) == 1  # one boundary, one cached part
    for n, form in enumerate(encoded):
        parsed = parse_with_aiohttp(form.body, form.content_type)
        assert parsed["status"][1].decode() == f"第{n}条" and parsed["pic"][1] == JPEG


def test_aiohttp_client_sends_it_unchanged():
    form = encode_form([("a", "1")], encode_file("pic", blob(), JPEG))

    async def main():
        seen = {}

        async def handler(request: web.Request) -> web.Response:
            seen["body"] = await request.read()
            seen["type"] = request.headers["Content-Type"]
            return web.Response()

        app = web.Application()
        app.router.add_post("/", handler)
        async with TestClient(TestServer(app)) as client:
            await client.post("/", data=form.body, headers=form.headers)
        return seen

    seen = asyncio.run(main())
    assert seen == {"body": form.body, "type": form.content_type}


def test_the_same_bytes_under_another_name_keep_their_own_name():
    parts = FileParts()
    first = parts.get("media", blob(filename="a.jpg"))
    second = parts.get("media", blob(filename="b.jpg"))
    assert b'filename="a.jpg"' in first.part and b'filename="b.jpg"' in second.part
