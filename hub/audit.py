"""Append-only audit log, hash-chained: each entry's hash covers its content and the previous hash.

``record`` is called inside the transaction of the action it records, so an action and its
audit entry commit together or not at all. ``record_separately`` is for outcomes whose own
transaction rolls back (a denied request, a failed login). The chain head (last id, last hash,
entry count) is kept in its own row and updated with every append, so ``verify`` also notices
entries removed from the end of the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context
from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from .models import AuditEntry, Org, utcnow
from .models.audit_head import AuditHead

if TYPE_CHECKING:
    from .db import Database

log = logging.getLogger("yunchu.audit")

GENESIS = "0" * 64
_CHAIN_LOCK = 727_001  # pg_advisory_xact_lock key: one writer extends the chain at a time
_HEAD_ID = 1


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
    head = session.get(AuditHead, _HEAD_ID)
    if head is not None:
        prev = head.last_hash
    else:
        prev = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
                               ).scalar_one_or_none() or GENESIS
    entry = AuditEntry(at=utcnow(), actor_id=actor_id, actor_name=actor_name, org_id=org_id,
                       action=action, target=target, item_id=item_id, outcome=outcome,
                       source_ip=source_ip, details=details or {}, prev_hash=prev, hash="")
    entry.hash = entry_hash(prev, hashed_fields(entry))
    session.add(entry)
    session.flush()
    if head is None:
        count = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        session.add(AuditHead(id=_HEAD_ID, last_id=entry.id, last_hash=entry.hash,
                              entries=count))
    else:
        head.last_id, head.last_hash, head.entries = entry.id, entry.hash, head.entries + 1
    session.flush()
    return entry


def record_separately(db: Database, action: str, **fields: Any) -> None:
    """Record in a transaction of its own; never raises (the caller is already answering)."""
    try:
        with db.session() as session:
            record(session, action, **fields)
    except Exception:  # noqa: BLE001 - auditing a denial must not turn it into a 500
        log.exception("could not write the audit entry for %s", action)


def verify(session: Session) -> tuple[bool, list[str]]:
    """Walk the chain; report every entry that was edited, removed or inserted out of order."""
    problems: list[str] = []
    prev_hash, prev_id, count = GENESIS, 0, 0
    query = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    for entry in session.execute(query).scalars():
        if entry.prev_hash != prev_hash:
            problems.append(f"entry {entry.id}: chain broken after entry {prev_id} "
                            f"(an entry was removed or reordered)")
        if entry_hash(entry.prev_hash, hashed_fields(entry)) != entry.hash:
            problems.append(f"entry {entry.id}: content does not match its hash (edited)")
        prev_hash, prev_id, count = entry.hash, entry.id, count + 1
    head = session.get(AuditHead, _HEAD_ID)
    if head is None:
        if count:
            problems.append("chain head is missing (the head record was removed)")
    else:
        if (head.last_id, head.last_hash) != (prev_id, prev_hash):
            problems.append(f"chain ends at entry {prev_id} but its head records entry "
                            f"{head.last_id} (the newest entries were removed)")
        if head.entries != count:
            problems.append(f"chain has {count} entries but its head counts {head.entries} "
                            f"(entries were removed or added outside the log)")
    return not problems, problems


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # user id or name
    item: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." (e.g. "item.")
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    org_path: str | None = None  # the caller's scope; None: the whole province
    before_id: int | None = None  # cursor: entries older than this id


def search(session: Session, where: AuditFilter, limit: int) -> list[tuple[AuditEntry, str | None]]:
    """Entries newest first, with the slug of the actor's org."""
    query: Select = (select(AuditEntry, Org.slug).outerjoin(Org, Org.id == AuditEntry.org_id)
                     .order_by(AuditEntry.id.desc()).limit(limit))
    if where.actor:
        query = query.where((AuditEntry.actor_id == where.actor)
                            | (AuditEntry.actor_name == where.actor))
    if where.item:
        query = query.where((AuditEntry.item_id == where.item)
                            | (AuditEntry.target == where.item))
    if where.action:
        if where.action.endswith("."):
            query = query.where(AuditEntry.action.startswith(where.action, autoescape=True))
        else:
            query = query.where(AuditEntry.action == where.action)
    if where.outcome:
        query = query.where(AuditEntry.outcome == where.outcome)
    if where.since:
        query = query.where(AuditEntry.at >= where.since)
    if where.until:
        query = query.where(AuditEntry.at < where.until)
    if where.org_path is not None:
        query = query.where(Org.path.startswith(where.org_path, autoescape=True))
    if where.before_id is not None:
        query = query.where(AuditEntry.id < where.before_id)
    return [(entry, slug) for entry, slug in session.execute(query)]


def to_json(entry: AuditEntry, org_slug: str | None) -> dict[str, Any]:
    return {"id": str(entry.id), "at": entry.at.isoformat().replace("+00:00", "Z"),
            "actor": {"id": entry.actor_id, "name": entry.actor_name},
            "org": org_slug, "action": entry.action, "target": entry.target,
            "item": entry.item_id, "outcome": entry.outcome, "source_ip": entry.source_ip,
            "details": entry.details, "hash": entry.hash}
