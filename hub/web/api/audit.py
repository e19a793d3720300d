"""GET /api/v1/audit, and the hook that records every 401/403 answer of the API as a denial.

The denied action's own transaction has rolled back, so a denial of a known caller is written in
a short transaction of its own. Denials of anonymous callers are counted and summarised once a
minute instead (hub/security/audit_denials.py), so an unauthenticated flood cannot grow the log.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from flask import Response, g, jsonify, request

from hub.security.audit import AuditFilter, record_separately
from hub.security.audit_denials import denial_counter, flush_closed
from hub.security.auth import current
from hub.services import audit_log
from hub.validation import aware_time, field_message, limit_arg

from . import api
from .common import rt

DENIALS = (401, 403)
log = logging.getLogger("yunchu.audit")


@api.after_request
def _audit_denial(response: Response) -> Response:
    if response.status_code in DENIALS and not getattr(g, "audit_recorded", False):
        body = response.get_json(silent=True) or {}
        error = body.get("error") or {}
        details = {"method": request.method, "path": request.path,
                   "status": response.status_code, "code": error.get("code")}
        if isinstance(error.get("details"), dict) and error["details"].get("action"):
            details["action"] = error["details"]["action"]
        if getattr(g, "principal", None) is None and _counted(details):
            g.audit_recorded = True
            return response
        record_separately(rt().db, "access.denied", outcome="denied", target=request.path[:200],
                          details=details)
        g.audit_recorded = True
    return response


def _counted(details: dict) -> bool:
    """Count an anonymous denial for the minute's summary; False if Redis cannot take it."""
    runtime = rt()
    now = time.time()
    route = request.url_rule.rule if request.url_rule is not None else "(no route)"
    try:
        first_of_minute = denial_counter(runtime).count(
            method=request.method, route=route, status=details["status"],
            code=details["code"], source_ip=getattr(g, "source_ip", None) or request.remote_addr,
            now=now)
    except Exception:  # noqa: BLE001 - fall back to one entry for this denial
        log.exception("could not count an anonymous denial")
        return False
    if first_of_minute:
        flush_closed(runtime, now)
    return True


def _time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    return aware_time(raw, name, unreadable=field_message("field.time_type", name),
                      naive=field_message("audit.time_zone", name))


@api.get("/audit")
def list_audit():
    """Audit entries, newest first: ?actor=&item=&action=&outcome=&since=&until=&limit=&cursor="""
    principal = current()
    audit_log.require_reader(principal)  # before the query is read, as always
    limit = limit_arg(default=100, maximum=1000)
    before_id = audit_log.cursor_position(request.args.get("cursor"))
    where = AuditFilter(actor=request.args.get("actor") or None,
                        item=request.args.get("item") or None,
                        action=request.args.get("action") or None,
                        outcome=request.args.get("outcome") or None,
                        since=_time_arg("since"), until=_time_arg("until"), before_id=before_id)
    items, next_cursor = audit_log.list_page(rt(), principal, where, limit)
    return jsonify({"items": items, "next_cursor": next_cursor})
