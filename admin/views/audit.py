"""The audit log for auditors and administrators: the API's own search, newest first."""

from __future__ import annotations

import json

from flask import render_template, request

from .. import apicall
from ..blueprint import admin_blueprint

PAGE = 100
FILTERS = ("actor", "item", "action", "outcome")


@admin_blueprint.get("/audit")
def audit() -> str:
    where = {name: (request.args.get(name) or "").strip()[:200] or None for name in FILTERS}
    data = apicall.call("GET", "/audit", query={
        **where, "limit": PAGE, "cursor": request.args.get("cursor") or None,
    }).raise_for_status().data
    rows = data.get("items", [])
    for row in rows:
        row["details_text"] = json.dumps(row.get("details") or {}, ensure_ascii=False,
                                         sort_keys=True)[:300]
    return render_template("admin/audit.html", rows=rows, where=where,
                           next_cursor=data.get("next_cursor"))
