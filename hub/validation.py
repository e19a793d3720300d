"""Small, explicit request-body checks that fail with api.md's 400/422 shape naming the field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask import request

from . import json_input
from .errors import ApiError, invalid
from .request_limits import read_body

_MISSING = object()


def json_body() -> dict[str, Any]:
    """The request's JSON object: 400 malformed, 413 over the route's size cap (checked before
    reading), 422 for a non-object, nesting past json_input.MAX_DEPTH or unstorable text."""
    raw = read_body()
    if not raw.strip():
        return {}
    body = json_input.loads(raw)
    if not isinstance(body, dict):
        raise ApiError(422, "请求体必须是 JSON 对象 (body must be a JSON object)", code="invalid")
    return body


def text(body: dict[str, Any], name: str, *, max_len: int, required: bool = True,
         default: str | None = None, min_len: int = 1, label: str | None = None) -> str | None:
    value = body.get(name, _MISSING)
    label = label or name
    if value is _MISSING or value is None:
        if required:
            raise invalid(name, f"缺少字段 {label} ({name} is required)")
        return default
    if not isinstance(value, str):
        raise invalid(name, f"{label} 必须是文本 ({name} must be a string)")
    value = value.strip()
    if required and len(value) < min_len:
        raise invalid(name, f"{label} 不能为空 ({name} must not be empty)")
    if len(value) > max_len:
        raise invalid(name, f"{label} 超过{max_len}字 ({name} longer than {max_len} characters)",
                      max_length=max_len, length=len(value))
    return value


def choice(body: dict[str, Any], name: str, options: Iterable[str], *, required: bool = True,
           default: str | None = None) -> str | None:
    options = tuple(options)
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise invalid(name, f"缺少字段 {name} ({name} is required)", allowed=list(options))
        return default
    if value not in options:
        raise invalid(name, f"{name} 只能是 {'、'.join(options)} ({name} must be one of "
                            f"{', '.join(options)})", allowed=list(options), value=str(value)[:100])
    return value


def flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise invalid(name, f"{name} 必须是 true 或 false ({name} must be a boolean)")
    return value


def string_list(body: dict[str, Any], name: str, *, max_items: int = 1000, max_len: int = 200,
                default: list[str] | None = None) -> list[str]:
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        return list(default or [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(name, f"{name} 必须是文本列表 ({name} must be a list of strings)")
    if len(value) > max_items:
        raise invalid(name, f"{name} 最多{max_items}项 ({name} has more than {max_items} entries)")
    for v in value:
        if len(v) > max_len:
            raise invalid(name, f"{name} 中的值过长 (an entry of {name} is longer than {max_len})")
    return value


def import_rows(raw: Any, name: str, *, most: int, noun: str) -> list[Any]:
    """The rows of a bulk import under ``name``: a list of at most ``most`` (``noun``: what a
    row is, in Chinese)."""
    if not isinstance(raw, list):
        raise invalid(name, f"{name} 必须是列表 ({name} must be a list)")
    if len(raw) > most:
        raise invalid(name, f"一次最多导入{most}个{noun} (at most {most} per call)")
    return raw


def timestamp(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(name, f"{name} 必须是 RFC 3339 时间 ({name} must be an RFC 3339 time)")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, f"{name} 不是合法的时间 ({name} is not an RFC 3339 time)") from None
    if parsed.tzinfo is None:
        raise invalid(name, f"{name} 必须带时区 ({name} needs a UTC offset)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-05:00 is past the calendar in UTC
        raise invalid(name, f"{name} 超出可表示的时间范围 ({name} is out of range)") from None


def limit_arg(default: int = 50, maximum: int = 1000) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid("limit", "limit 必须是正整数 (limit must be a positive integer)") from None
    if not 1 <= value <= maximum:
        raise invalid("limit", f"limit 必须在 1 到 {maximum} 之间 (limit must be 1..{maximum})")
    return value


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
