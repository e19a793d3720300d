"""What a principal may do with the negative list (负面清单): read it, replace it (one list
for the whole province, so only a province-wide administrator) and rescan the live items of
their subtree against it, each with its audit entry. The REST API and the admin UI call these."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..security.audit import record
from ..security.auth import Principal
from ..security.permissions import require
from . import safety as safety_service


def current(session: Session, principal: Principal) -> dict[str, Any]:
    """The current list: terms by category, canonical names, version."""
    require(principal, "safety.read")
    return safety_service.list_json(safety_service.current_list(session))


def require_editor(principal: Principal) -> None:
    require(principal, "safety.manage")
    if not principal.province_wide:
        require(principal, "safety.manage", org_path="/")  # one list for the whole province


def replace(session: Session, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Save {version: current + 1, terms, canonical_names?} as the next version (409 when
    ``version`` is not the next one). The answer carries ``rescan``: the live items that hit
    the new list."""
    require_editor(principal)
    row = safety_service.replace_list(session, body, principal.user_id)
    record(session, "safety.update", target=f"safety_list:{row.version}",
           details={"version": row.version, "terms": len(row.terms),
                    "canonical_names": len(row.canonical_names)})
    data = safety_service.list_json(row)
    data["rescan"] = safety_service.rescan(session, org_path=principal.org_path)
    return data


def require_rescanner(principal: Principal) -> None:
    require(principal, "safety.rescan")


def rescan(session: Session, principal: Principal) -> dict[str, Any]:
    """Screen every live item (approved, not withdrawn) in the caller's subtree against the
    current list; lists those that hit."""
    require_rescanner(principal)
    data = safety_service.rescan(session, org_path=principal.org_path)
    record(session, "safety.rescan", details={"list_version": data["list_version"],
                                              "scanned": data["scanned"],
                                              "matched": data["matched"]})
    return data
