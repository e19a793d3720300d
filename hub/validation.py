"""Small, explicit request-body checks that fail with the API's 400/422 shape naming the field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask import request

from . import json_input
from .errors import ApiError, invalid
from .messages import Message
from .web.request_limits import read_body

_MISSING = object()


def field_message(key: str, name: str, **values: Any) -> Message:
    """A catalog message about field ``name``; the UI shows field names in its own language."""
    return Message(key, terms=("name", "label"), name=name, **values)


def json_body() -> dict[str, Any]:
    """The request's JSON object: 400 malformed, 413 over the route's size cap (checked before
    reading), 422 for a non-object, nesting past json_input.MAX_DEPTH or unstorable text."""
    raw = read_body()
    if not raw.strip():
        return {}
    body = json_input.loads(raw)
    if not isinstance(body, dict):
        raise ApiError(422, Message("field.not_object"), code="invalid")
    return body


def text(body: dict[str, Any], name: str, *, max_len: int, required: bool = True,
         default: str | None = None, min_len: int = 1, label: str | None = None) -> str | None:
    value = body.get(name, _MISSING)
    label = label or name
    if value is _MISSING or value is None:
        if required:
            raise invalid(name, field_message("field.required", name, label=label))
        return default
    if not isinstance(value, str):
        raise invalid(name, field_message("field.not_text", name, label=label))
    value = value.strip()
    if required and len(value) < min_len:
        raise invalid(name, field_message("field.empty", name, label=label))
    if len(value) > max_len:
        raise invalid(name, field_message("field.too_long", name, label=label, max_len=max_len),
                      max_length=max_len, length=len(value))
    return value


def choice(body: dict[str, Any], name: str, options: Iterable[str], *, required: bool = True,
           default: str | None = None) -> str | None:
    options = tuple(options)
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise invalid(name, field_message("field.required", name, label=name), allowed=list(options))
        return default
    if value not in options:
        raise invalid(name, field_message("field.choice", name, options_zh="、".join(options),
                                   options_en=", ".join(options)),
                      allowed=list(options), value=str(value)[:100])
    return value


def flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise invalid(name, field_message("field.boolean", name))
    return value


def string_list(body: dict[str, Any], name: str, *, max_items: int = 1000, max_len: int = 200,
                default: list[str] | None = None) -> list[str]:
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        return list(default or [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(name, field_message("field.string_list", name))
    if len(value) > max_items:
        raise invalid(name, field_message("field.list_too_long", name, max_items=max_items))
    for v in value:
        if len(v) > max_len:
            raise invalid(name, field_message("field.entry_too_long", name, max_len=max_len))
    return value


def import_rows(raw: Any, name: str, *, most: int) -> list[Any]:
    """The rows of a bulk import under ``name`` ("accounts" or "orgs"): a list of at most
    ``most``; the messages are the catalog's ``import.<name>_list`` and ``_limit``."""
    if not isinstance(raw, list):
        raise invalid(name, Message(f"import.{name}_list"))
    if len(raw) > most:
        raise invalid(name, Message(f"import.{name}_limit", most=most))
    return raw


def timestamp(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(name, field_message("field.time_type", name))
    parsed = aware_time(value, name)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-05:00 is past the calendar in UTC
        raise invalid(name, field_message("field.time_range", name)) from None


def aware_time(raw: str, name: str, *, unreadable: Message | None = None,
               naive: Message | None = None) -> datetime:
    """``raw`` as an ISO 8601 time that names its zone ("Z" allowed), else a 422 naming
    ``name``: ``unreadable`` or ``naive`` says why (by default the ``field.time_*`` ones)."""
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        if unreadable is None:
            unreadable = field_message("field.time_invalid", name)
        raise invalid(name, unreadable) from None
    if value.tzinfo is None:
        raise invalid(name, field_message("field.time_zone", name) if naive is None else naive)
    return value


def limit_arg(default: int = 50, maximum: int = 1000) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid("limit", field_message("field.limit_integer", "limit")) from None
    if not 1 <= value <= maximum:
        raise invalid("limit", field_message("field.limit_range", "limit", maximum=maximum))
    return value


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
