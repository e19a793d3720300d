"""Append-only audit log, hash-chained: each entry's hash covers its content and the previous hash.

``record`` is called inside the transaction of the action it records, so an action and its
audit entry commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import g, has_request_context
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import AuditEntry, utcnow

GENESIS = "0" * 64
_CHAIN_LOCK = 727_001  # pg_advisory_xact_lock key: one writer extends the chain at a time


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                           default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    return {"at": entry.at.isoformat(), "actor_id": entry.actor_id, "actor_name": entry.actor_name,
            "org_id": entry.org_id, "action": entry.action, "target": entry.target,
            "item_id": entry.item_id, "outcome": entry.outcome, "source_ip": entry.source_ip,
            "details": entry.details}


def record(session: Session, action: str, *, outcome: str = "ok", target: str | None = None,
           item_id: str | None = None, details: dict[str, Any] | None = None,
           actor_id: str | None = None, actor_name: str | None = None,
           org_id: str | None = None, source_ip: str | None = None) -> AuditEntry:
    principal = getattr(g, "principal", None) if has_request_context() else None
    if principal is not None:
        actor_id = actor_id or principal.user_id
        actor_name = actor_name or principal.name
        org_id = org_id or principal.org_id
    if has_request_context():
        source_ip = source_ip or getattr(g, "source_ip", None)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    prev = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
                           ).scalar_one_or_none() or GENESIS
    entry = AuditEntry(at=utcnow(), actor_id=actor_id, actor_name=actor_name, org_id=org_id,
                       action=action, target=target, item_id=item_id, outcome=outcome,
                       source_ip=source_ip, details=details or {}, prev_hash=prev, hash="")
    entry.hash = entry_hash(prev, hashed_fields(entry))
    session.add(entry)
    session.flush()
    return entry
