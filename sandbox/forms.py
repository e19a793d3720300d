"""Request bodies of the emulated platforms, read cheaply and correctly.

aiohttp's ``request.post()``, ``request.multipart()`` and ``request.content_type`` parse
Content-Type and Content-Disposition headers with :mod:`email.headerregistry`. Its cache does
not help multipart bodies (a fresh boundary each time), so under benchmark load form parsing
was a quarter of the sandbox's CPU. This module reads the same bodies with python-multipart's
state machine and plain string handling:

- :func:`media_type`: the request's media type, from the raw ``Content-Type`` header.
- :func:`read_form`: a whole ``application/x-www-form-urlencoded`` or ``multipart/form-data``
  body as a ``MultiDict`` (what ``await request.post()`` gives), parts with a filename as
  :class:`FilePart`. The body is read with ``request.read()``, so the app's ``client_max_size``
  still answers ``web.HTTPRequestEntityTooLarge``.
- :func:`stream_file_part` and :func:`read_part`: one named part of a ``multipart/*`` body,
  streamed with a size limit of its own (uploads may be bigger than ``client_max_size``).

A malformed body raises ``ValueError`` and a missing part :class:`PartMissing` (a
``LookupError``); each platform turns them into its own error code.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from aiohttp import web
from multidict import MultiDict
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from yarl import URL

CHUNK_BYTES = 256 * 1024
# Bytes skipped before the first boundary at most (RFC 2046 allows a preamble; clients send none).
PREAMBLE_MAX_BYTES = 64 * 1024
URLENCODED = "application/x-www-form-urlencoded"
FORM_DATA = "multipart/form-data"

_EXTENDED_PARAM_RE = {
    key: re.compile(rf";\s*{key}\*\s*=\s*([^;]*)", re.IGNORECASE) for key in ("name", "filename")
}


@dataclass(frozen=True, slots=True)
class FilePart:
    """A multipart part sent with a filename (``web.FileField`` in aiohttp's ``post()``)."""

    name: str
    filename: str
    content_type: str | None
    data: bytes


class PartMissing(LookupError):
    """The multipart body is well formed but has no part of the wanted name."""


def media_type(request: web.BaseRequest) -> str:
    """The lower-cased media type of the request's ``Content-Type``; '' when there is none."""
    return request.headers.get("Content-Type", "").partition(";")[0].strip().lower()


async def read_form(request: web.BaseRequest) -> MultiDict[str | FilePart]:
    """The fields of an urlencoded or ``multipart/form-data`` body; empty for any other type.

    Text parts are decoded with their charset (default UTF-8, undecodable bytes replaced).
    Raises ``ValueError`` for a malformed multipart body and ``web.HTTPRequestEntityTooLarge``
    for a body over the app's ``client_max_size``.
    """
    kind, options = _content_type(request)
    if kind == URLENCODED:
        return _urlencoded(await request.read(), _charset(options.get(b"charset")))
    if kind != FORM_DATA:
        return MultiDict()
    reader = _FormReader(_boundary(options))
    reader.feed(await request.read())
    reader.finish()
    return reader.form


async def stream_file_part(
    request: web.BaseRequest, name: str, limit: int
) -> tuple[int, bytes] | None:
    """(size, SHA-256 digest) of the first part called ``name``; None once it exceeds ``limit``.

    Only that part's bytes are kept (hashed as they stream by), and reading stops at its end.
    Raises ``ValueError`` when the body is not well-formed ``multipart/*`` and
    :class:`PartMissing` when it has no such part.
    """
    digest = hashlib.sha256()
    size = await _stream_part(request, name, limit, digest.update)
    return None if size is None else (size, digest.digest())


async def read_part(request: web.BaseRequest, name: str, limit: int) -> bytes | None:
    """The bytes of the first part called ``name``; None once it exceeds ``limit`` bytes.

    Errors as :func:`stream_file_part`.
    """
    chunks: list[bytes] = []
    size = await _stream_part(request, name, limit, chunks.append)
    return None if size is None else b"".join(chunks)


# ---------------------------------------------------------------- internals


async def _stream_part(
    request: web.BaseRequest, name: str, limit: int, sink: Callable[[bytes], object]
) -> int | None:
    kind, options = _content_type(request)
    if not kind.startswith("multipart/"):
        raise ValueError(f"multipart body expected, not {kind or 'none'}")
    reader = _PartReader(_boundary(options), name, limit, sink)
    async for chunk in request.content.iter_chunked(CHUNK_BYTES):
        reader.feed(chunk)
        if reader.too_large:
            return None
        if reader.done:
            return reader.size
    reader.finish()
    raise PartMissing(f"{name} part missing")


def _urlencoded(body: bytes, charset: str) -> MultiDict[str | FilePart]:
    text = body.rstrip().decode(charset, errors="replace")
    if charset == "utf-8":
        # The same pairs as parse_qsl(keep_blank_values=True, errors="replace"), unquoted in C
        # by yarl (aiohttp's URL library): a third of parse_qsl's cost on percent-encoded text.
        return MultiDict(URL.build(query_string=text, encoded=True).query)
    return MultiDict(parse_qsl(text, keep_blank_values=True, encoding=charset, errors="replace"))


def _content_type(request: web.BaseRequest) -> tuple[str, dict[bytes, bytes]]:
    try:
        kind, options = parse_options_header(request.headers.get("Content-Type", ""))
    except UnicodeEncodeError:  # not latin-1: no parameter we could use
        return media_type(request), {}
    return kind.decode("latin-1"), options


def _boundary(options: dict[bytes, bytes]) -> bytes:
    boundary = options.get(b"boundary")
    if not boundary:
        raise ValueError("multipart Content-Type without a boundary")
    return boundary


def _charset(raw: bytes | None) -> str:
    if raw:
        try:
            return codecs.lookup(raw.decode("latin-1")).name
        except LookupError:
            pass
    return "utf-8"


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def _disposition(header: str) -> tuple[str | None, str | None]:
    """(name, filename) of a part's Content-Disposition; RFC 2231 ``key*=`` forms win."""
    _, options = parse_options_header(header)
    name, filename = _text(options.get(b"name")), _text(options.get(b"filename"))
    if "*" in header:
        name = _extended(header, "name") or name
        filename = _extended(header, "filename") or filename
    return name, filename


def _extended(header: str, key: str) -> str | None:
    """The value of ``key*=charset'lang'percent-encoded`` in ``header``, if present."""
    match = _EXTENDED_PARAM_RE[key].search(header)
    if match is None:
        return None
    charset, _, rest = match.group(1).strip().strip('"').partition("'")
    _, _, encoded = rest.partition("'")
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="replace")
    except LookupError:  # unknown charset
        return unquote(encoded, errors="replace")


class _MultipartReader(ABC):
    """Feeds a multipart body to python-multipart and hands on parts with their headers.

    Subclasses get :meth:`part_started`, :meth:`part_data` and :meth:`part_ended`.
    """

    def __init__(self, boundary: bytes) -> None:
        self.ended = False
        self._delimiter = b"--" + boundary
        self._preamble: bytes | None = b""  # None once the first boundary was found
        self._field = bytearray()
        self._value = bytearray()
        self._headers: dict[str, str] = {}
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._headers.clear,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self.part_ended,
                "on_end": self._on_end,
            },
        )

    def feed(self, chunk: bytes) -> None:
        if self._preamble is not None:
            chunk = self._skip_preamble(chunk)
            if not chunk:
                return
        self._parser.write(chunk)

    def finish(self) -> None:
        """Raise ``ValueError`` unless the closing boundary has been read."""
        if not self.ended:
            raise ValueError("multipart body ends before its closing boundary")

    @abstractmethod
    def part_started(self, name: str | None, filename: str | None,
                     headers: dict[str, str]) -> None: ...

    @abstractmethod
    def part_data(self, data: bytes) -> None: ...

    @abstractmethod
    def part_ended(self) -> None: ...

    def _skip_preamble(self, chunk: bytes) -> bytes:
        assert self._preamble is not None
        head = self._preamble + chunk if self._preamble else chunk
        at = head.find(self._delimiter)
        while at > 0 and head[at - 1] != 0x0A:  # a boundary starts a line
            at = head.find(self._delimiter, at + 1)
        if at >= 0 or len(head) > PREAMBLE_MAX_BYTES:
            self._preamble = None
            return head[at:] if at >= 0 else head
        self._preamble = head
        return b""

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        field = self._field.decode("latin-1").strip().lower()
        self._headers[field] = self._value.decode("latin-1").strip()
        self._field.clear()
        self._value.clear()

    def _on_headers_finished(self) -> None:
        name, filename = _disposition(self._headers.get("content-disposition", ""))
        self.part_started(name, filename, self._headers)

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.part_data(data[start:end])

    def _on_end(self) -> None:
        self.ended = True


class _FormReader(_MultipartReader):
    """Collects every part of a ``multipart/form-data`` body into :attr:`form`."""

    def __init__(self, boundary: bytes) -> None:
        super().__init__(boundary)
        self.form: MultiDict[str | FilePart] = MultiDict()
        self._name = ""
        self._filename: str | None = None
        self._type: str | None = None
        self._chunks: list[bytes] = []

    def part_started(self, name: str | None, filename: str | None, headers: dict[str, str]) -> None:
        if name is None:
            raise ValueError("multipart part without a name")
        self._name, self._filename = name, filename
        self._type = headers.get("content-type")
        self._chunks = []

    def part_data(self, data: bytes) -> None:
        self._chunks.append(data)

    def part_ended(self) -> None:
        data = b"".join(self._chunks)
        self._chunks = []
        if self._filename:  # as aiohttp: an empty filename makes a text field
            self.form.add(self._name, FilePart(self._name, self._filename, self._type, data))
            return
        charset = "utf-8"
        if self._type is not None:
            charset = _charset(parse_options_header(self._type)[1].get(b"charset"))
        self.form.add(self._name, data.decode(charset, errors="replace"))


class _PartReader(_MultipartReader):
    """Passes the bytes of one named part to ``sink`` and counts them against ``limit``."""

    def __init__(
        self, boundary: bytes, name: str, limit: int, sink: Callable[[bytes], object]
    ) -> None:
        super().__init__(boundary)
        self.size = 0
        self.found = self.done = self.too_large = False
        self._wanted, self._limit, self._sink = name, limit, sink
        self._inside = False

    def part_started(self, name: str | None, filename: str | None, headers: dict[str, str]) -> None:
        self._inside = not self.found and name == self._wanted
        self.found = self.found or self._inside

    def part_data(self, data: bytes) -> None:
        if not self._inside or self.too_large:
            return
        self.size += len(data)
        if self.size > self._limit:
            self.too_large = True
        else:
            self._sink(data)

    def part_ended(self) -> None:
        if self._inside:
            self._inside = False
            self.done = True
