"""GET /api/v1/audit, and the hook that records every 401/403 answer of the API as a denial.

The denied action's own transaction has rolled back, so a denial is written in a short
transaction of its own.
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, g, jsonify, request

from ..audit import AuditFilter, record_separately, search, to_json
from ..auth import current
from ..errors import invalid
from ..permissions import require
from ..validation import limit_arg
from . import api
from .common import cursor_arg, encode_cursor, rt

DENIALS = (401, 403)


@api.after_request
def _audit_denial(response: Response) -> Response:
    if response.status_code in DENIALS and not getattr(g, "audit_recorded", False):
        body = response.get_json(silent=True) or {}
        error = body.get("error") or {}
        details = {"method": request.method, "path": request.path,
                   "status": response.status_code, "code": error.get("code")}
        if isinstance(error.get("details"), dict) and error["details"].get("action"):
            details["action"] = error["details"]["action"]
        record_separately(rt().db, "access.denied", outcome="denied", target=request.path[:200],
                          details=details)
        g.audit_recorded = True
    return response


def _time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, f"{name} 必须是 RFC 3339 时间 ({name} must be an RFC 3339 time)") \
            from None
    if value.tzinfo is None:
        raise invalid(name, f"{name} 须带时区 ({name} needs a time zone, e.g. Z)")
    return value


@api.get("/audit")
def list_audit():
    """Audit entries, newest first: ?actor=&item=&action=&outcome=&since=&until=&limit=&cursor="""
    principal = current()
    require(principal, "audit.read")
    limit = limit_arg(default=100, maximum=1000)
    cursor = cursor_arg()
    before_id = None
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
            raise invalid("cursor", "cursor 无效 (cursor is not one this API returned)")
        before_id = int(cursor)  # at most 18 digits: inside every database's BIGINT
    where = AuditFilter(actor=request.args.get("actor") or None,
                        item=request.args.get("item") or None,
                        action=request.args.get("action") or None,
                        outcome=request.args.get("outcome") or None,
                        since=_time_arg("since"), until=_time_arg("until"),
                        org_path=principal.org_path, before_id=before_id)
    with rt().db.session() as session:
        rows = search(session, where, limit + 1)
        next_cursor = encode_cursor(str(rows[limit - 1][0].id)) if len(rows) > limit else None
        items = [to_json(entry, slug) for entry, slug in rows[:limit]]
    return jsonify({"items": items, "next_cursor": next_cursor})
