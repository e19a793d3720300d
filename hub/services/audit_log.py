"""Reading the audit log: who may, and the caller's scope (the entries of their own org
subtree, or all of them for a province-wide caller). The REST API and the admin UI call this."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from ..errors import invalid
from ..infra.runtime import Runtime
from ..security.audit import AuditFilter, search, to_json
from ..security.audit_denials import flush_closed
from ..security.auth import Principal
from ..security.permissions import require
from .paging import BAD_CURSOR, decode_cursor, encode_cursor


def require_reader(principal: Principal) -> None:
    require(principal, "audit.read")


def cursor_position(cursor: str | None) -> int | None:
    """The entry id a cursor of ``list_page`` stands for (entries older than it follow)."""
    value = decode_cursor(cursor)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise invalid("cursor", BAD_CURSOR)
    return int(value)  # at most 18 digits: inside every database's BIGINT


def list_page(runtime: Runtime, principal: Principal, where: AuditFilter,
              limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Entries newest first, within the caller's scope, and the next cursor."""
    require_reader(principal)
    where = replace(where, org_path=principal.org_path)
    flush_closed(runtime, time.time())  # the minutes of counted anonymous denials that have ended
    with runtime.db.session() as session:
        rows = search(session, where, limit + 1)
        next_cursor = encode_cursor(str(rows[limit - 1][0].id)) if len(rows) > limit else None
        return [to_json(entry, slug) for entry, slug in rows[:limit]], next_cursor
