"""/api/v1/safety: the versioned negative list (负面清单) and the rescan of live items."""

from __future__ import annotations

from flask import jsonify

from ..audit import record
from ..auth import current
from ..permissions import require
from ..request_limits import bulk_json
from ..services import safety as safety_service
from ..validation import json_body
from . import api
from .common import rt


@api.get("/safety/terms")
def get_safety_terms():
    """The current negative list: terms by category, canonical names, version."""
    principal = current()
    require(principal, "safety.read")
    with rt().db.session() as session:
        data = safety_service.list_json(safety_service.current_list(session))
    return jsonify(data)


@api.put("/safety/terms")
@bulk_json
def put_safety_terms():
    """Replace the list: {version: current + 1, terms: [{term, category, action}],
    canonical_names?}. 409 when ``version`` is not the next one. The answer carries ``rescan``:
    the live items that hit the new list."""
    principal = current()
    require(principal, "safety.manage")
    if not principal.province_wide:
        require(principal, "safety.manage", org_path="/")  # one list for the whole province
    body = json_body()
    with rt().db.session() as session:
        row = safety_service.replace_list(session, body, principal.user_id)
        record(session, "safety.update", target=f"safety_list:{row.version}",
               details={"version": row.version, "terms": len(row.terms),
                        "canonical_names": len(row.canonical_names)})
        data = safety_service.list_json(row)
        # The list changed: report at once which live items now hit it.
        data["rescan"] = safety_service.rescan(session, org_path=principal.org_path)
    return jsonify(data)


@api.post("/safety/rescan")
def rescan_safety():
    """Screen every live item (approved, not withdrawn) in the caller's subtree against the
    current list; lists those that hit, so an administrator can withdraw them."""
    principal = current()
    require(principal, "safety.rescan")
    json_body()
    with rt().db.session() as session:
        data = safety_service.rescan(session, org_path=principal.org_path)
        record(session, "safety.rescan", details={"list_version": data["list_version"],
                                                  "scanned": data["scanned"],
                                                  "matched": data["matched"]})
    return jsonify(data)
