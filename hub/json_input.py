"""Strict parsing of a JSON request body: bounded depth, and no text a database cannot store.

orjson parses (in C, itself refusing nesting past 1,024); then one iterative walk refuses
nesting deeper than ``MAX_DEPTH`` and any string or key holding NUL (PostgreSQL cannot store
it) or a lone surrogate (no UTF-8 encoding exists for it), naming the field. orjson refuses an
escaped lone surrogate outright, so such a body is parsed once more by the standard library,
only to find and name the field.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from .errors import ApiError, invalid
from .messages import Message

MAX_DEPTH = 64

# NUL, and the UTF-16 surrogate range, which never stands alone in valid text.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(field: str) -> ApiError:
    field = field[:200]
    return invalid(field, Message("json.unstorable", terms=("name",), name=field),
                   reason="unstorable_character")


def malformed() -> ApiError:
    return ApiError(400, Message("json.malformed"), code="malformed_json")


def too_deep() -> ApiError:
    return ApiError(422, Message("json.too_deep", max_depth=MAX_DEPTH),
                    code="too_deep", details={"max_depth": MAX_DEPTH})


def loads(raw: bytes) -> Any:
    """The parsed body, or ApiError: 400 malformed, 422 too deep or unstorable text."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        _name_the_problem(raw)
        raise malformed() from None
    check(value)
    return value


def check(value: Any) -> None:
    """Raise ApiError for nesting past MAX_DEPTH or a NUL/lone surrogate anywhere in ``value``."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            if UNSTORABLE.search(node):
                raise unstorable_text(path or "body")
        elif isinstance(node, dict):
            if depth > MAX_DEPTH:
                raise too_deep()
            for key, item in node.items():
                field = f"{path}.{key}" if path else str(key)
                if UNSTORABLE.search(key):
                    raise unstorable_text(path or "body")
                if isinstance(item, str | dict | list):
                    stack.append((item, field, depth + 1))
        elif isinstance(node, list):
            if depth > MAX_DEPTH:
                raise too_deep()
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node)
                         if isinstance(item, str | dict | list))


def _name_the_problem(raw: bytes) -> None:
    """After orjson refused ``raw``: raise the 422 a standard-library parse can pin on a field
    (a lone surrogate escape, or nesting that exhausts the stack); otherwise return."""
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        raise too_deep() from None
    except ValueError:  # includes UnicodeDecodeError
        return
    check(value)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
