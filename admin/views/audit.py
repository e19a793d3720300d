"""The audit log for auditors and administrators: the same search as the API's /audit
(hub/services/audit_log.py), newest first."""

from __future__ import annotations

import json

from flask import g, render_template, request

from hub.security.audit import AuditFilter
from hub.services import audit_log

from ..blueprint import admin_blueprint
from ..web import runtime

PAGE = 100
FILTERS = ("actor", "item", "action", "outcome")


@admin_blueprint.get("/audit")
def audit() -> str:
    where = {name: (request.args.get(name) or "").strip()[:200] or None for name in FILTERS}
    audit_log.require_reader(g.principal)
    before_id = audit_log.cursor_position(request.args.get("cursor"))
    rows, next_cursor = audit_log.list_page(runtime(), g.principal,
                                            AuditFilter(**where, before_id=before_id), PAGE)
    for row in rows:
        row["details_text"] = json.dumps(row.get("details") or {}, ensure_ascii=False,
                                         sort_keys=True)[:300]
    return render_template("admin/audit.html", rows=rows, where=where, next_cursor=next_cursor)
