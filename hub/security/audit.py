"""Append-only audit log, chained with a key kept outside the database.

Each entry's MAC is HMAC-SHA256 (hub/security/audit_key.py) over its content and the previous entry's MAC,
so an entry cannot be edited, removed or inserted, nor the chain recomputed, without the audit
key. Entries written before the key existed (``key_id`` NULL) form a plain SHA-256 prefix that
the first keyed entry seals: it covers the prefix's last hash.

``record`` is called inside the transaction of the action it records, so an action and its
audit entry commit together or not at all. ``record_separately`` is for outcomes whose own
transaction rolls back (a denied request, a failed login). Appends are serialised on every
database (see ``_lock_chain``). The chain head (last id, last MAC, entry count) is kept in its
own row; after each commit a signed checkpoint of the tail goes outside the database
(hub/security/audit_checkpoint.py), so ``verify`` also notices entries removed from the end of the log.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context
from sqlalchemy import Select, event, func, select, text, update
from sqlalchemy.orm import Session

from ..models import AuditEntry, Org, utcnow
from ..models.audit_head import AuditHead
from .audit_checkpoint import Checkpoint, CheckpointStore
from .audit_key import AuditKey, canonical

if TYPE_CHECKING:
    from ..infra.db import Database

log = logging.getLogger("yunchu.audit")

GENESIS = "0" * 64
_CHAIN_LOCK = 727_001  # pg_advisory_xact_lock key: one writer extends the chain at a time
_HEAD_ID = 1
SESSION_KEY = "audit"  # Session.info entry holding the AuditSeal (set up by the Runtime)


@dataclass(frozen=True)
class AuditSeal:
    """What appending to and verifying the chain needs from outside the database."""

    key: AuditKey
    checkpoints: CheckpointStore


def seal_of(session: Session) -> AuditSeal:
    seal = session.info.get(SESSION_KEY)
    if seal is None:
        raise RuntimeError("this session has no audit key: open it through Runtime.db")
    return seal


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The unkeyed SHA-256 of entries written before the chain was keyed (legacy rows)."""
    return hashlib.sha256((prev_hash + canonical(fields)).encode()).hexdigest()


def hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    return {"at": entry.at.isoformat(), "actor_id": entry.actor_id, "actor_name": entry.actor_name,
            "org_id": entry.org_id, "action": entry.action, "target": entry.target,
            "item_id": entry.item_id, "outcome": entry.outcome, "source_ip": entry.source_ip,
            "details": entry.details}


def _lock_chain(session: Session) -> None:
    """Hold the chain until this transaction ends, so no two writers extend the same tail.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the database write lock, taken by a
    write before the head is read (the driver runs a transaction's leading reads outside it, so
    without this two writers would both read the same head and fork the chain).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    else:
        session.execute(update(AuditHead).where(AuditHead.id == _HEAD_ID)
                        .values(last_id=AuditHead.last_id)
                        .execution_options(synchronize_session=False))


def record(session: Session, action: str, *, outcome: str = "ok", target: str | None = None,
           item_id: str | None = None, details: dict[str, Any] | None = None,
           actor_id: str | None = None, actor_name: str | None = None,
           org_id: str | None = None, source_ip: str | None = None,
           anonymous: bool = False) -> AuditEntry:
    """Append an entry; ``anonymous``: take no actor or address from the current request."""
    seal = seal_of(session)
    in_request = has_request_context() and not anonymous
    principal = getattr(g, "principal", None) if in_request else None
    if principal is not None:
        actor_id = actor_id or principal.user_id
        actor_name = actor_name or principal.name
        org_id = org_id or principal.org_id
    if in_request:
        source_ip = source_ip or getattr(g, "source_ip", None)
    checkpoint = seal.checkpoints.read().newest  # read before locking: Redis is not held up
    _lock_chain(session)
    head = session.execute(select(AuditHead).where(AuditHead.id == _HEAD_ID)
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if head is not None:
        prev = head.last_hash
    else:
        prev = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
                               ).scalar_one_or_none() or GENESIS
    if checkpoint is not None and not _checkpoint_holds(session, checkpoint):
        session.info["audit_tampered"] = True
    entry = AuditEntry(at=utcnow(), actor_id=actor_id, actor_name=actor_name, org_id=org_id,
                       action=action, target=target, item_id=item_id, outcome=outcome,
                       source_ip=source_ip, details=details or {}, prev_hash=prev, hash="",
                       key_id=seal.key.key_id)
    entry.hash = seal.key.entry_mac(prev, hashed_fields(entry))
    session.add(entry)
    session.flush()
    if head is None:
        count = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        session.add(AuditHead(id=_HEAD_ID, last_id=entry.id, last_hash=entry.hash,
                              entries=count))
    else:
        head.last_id, head.last_hash, head.entries = entry.id, entry.hash, head.entries + 1
    session.flush()
    _checkpoint_after_commit(session, entry.id, entry.hash)
    return entry


def _checkpoint_holds(session: Session, checkpoint: Checkpoint) -> bool:
    """Whether the checkpointed entry is still in the log unchanged (else the tail was cut)."""
    stored = session.execute(select(AuditEntry.hash).where(AuditEntry.id == checkpoint.last_id)
                             ).scalar_one_or_none()
    if stored == checkpoint.mac:
        return True
    log.critical("audit log tampered with: checkpointed entry %s is %s; the checkpoint stays "
                 "there until an operator has looked (run `yunchu audit verify`)",
                 checkpoint.last_id, "missing" if stored is None else "changed")
    return False


def _checkpoint_after_commit(session: Session, last_id: int, mac: str) -> None:
    info = session.info
    info["audit_tail"] = (last_id, mac)
    if info.get("audit_listening"):
        return
    info["audit_listening"] = True

    def committed(done: Session) -> None:
        tail = done.info.pop("audit_tail", None)
        if tail is not None and not done.info.get("audit_tampered"):
            seal_of(done).checkpoints.advance(*tail)

    def rolled_back(done: Session) -> None:
        done.info.pop("audit_tail", None)

    event.listen(session, "after_commit", committed)
    event.listen(session, "after_rollback", rolled_back)


def record_separately(db: Database, action: str, **fields: Any) -> None:
    """Record in a transaction of its own; never raises (the caller is already answering)."""
    try:
        with db.session() as session:
            record(session, action, **fields)
    except Exception:  # noqa: BLE001 - auditing a denial must not turn it into a 500
        log.exception("could not write the audit entry for %s", action)


def seal_legacy_prefix(session: Session) -> AuditEntry | None:
    """If the newest entry predates the audit key, append a keyed entry that seals the plain
    SHA-256 prefix (its MAC covers the prefix's last hash). Run once at start after an upgrade."""
    last = session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)
                           ).scalar_one_or_none()
    if last is None or last.key_id is not None:
        return None
    legacy = session.execute(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.key_id.is_(None))).scalar_one()
    return record(session, "audit.keyed", target=str(last.id),
                  details={"legacy_entries": legacy, "legacy_last_id": last.id,
                           "legacy_last_hash": last.hash})


def reseal(db: Database, reason: str) -> AuditEntry:
    """Acknowledge the log as it is now: append an ``audit.resealed`` entry naming what verify
    found and the checkpoint it replaces, and move every checkpoint to that entry. Problems inside
    the chain stay visible to verify; only the checkpoint moves on."""
    with db.session() as session:
        found = verify_chain(session)
        old = found.checkpoint
        entry = record(session, "audit.resealed", outcome="ok",
                       details={"reason": reason, "problems": found.problems[:50],
                                "previous_checkpoint": old.payload() if old else None})
    seal_of(session).checkpoints.replace(entry.id, entry.hash)
    return entry


@dataclass
class Verification:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    entries: int = 0
    legacy_entries: int = 0
    checkpoint: Checkpoint | None = None
    checkpoint_sources: list[str] = field(default_factory=list)


def verify(session: Session) -> tuple[bool, list[str]]:
    """Walk the chain; report every entry that was edited, removed or inserted out of order."""
    result = verify_chain(session)
    return result.ok, result.problems


def verify_chain(session: Session) -> Verification:
    seal = seal_of(session)
    reading = seal.checkpoints.read()
    result = Verification(checkpoint=reading.newest, checkpoint_sources=reading.sources)
    problems = result.problems
    prev_hash, prev_id, keyed_seen = GENESIS, 0, False
    foreign: dict[str, list[int]] = {}
    checkpoint_mac: str | None = None
    query = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    for entry in session.execute(query).scalars():
        if entry.prev_hash != prev_hash:
            problems.append(f"entry {entry.id}: chain broken after entry {prev_id} "
                            f"(an entry was removed or reordered)")
        if entry.key_id is None:
            result.legacy_entries += 1
            if keyed_seen:
                problems.append(f"entry {entry.id}: unkeyed entry after keyed ones (written or "
                                f"rewritten without the audit key)")
            elif entry_hash(entry.prev_hash, hashed_fields(entry)) != entry.hash:
                problems.append(f"entry {entry.id}: content does not match its hash (edited)")
        elif entry.key_id != seal.key.key_id:
            keyed_seen = True
            foreign.setdefault(entry.key_id, []).append(entry.id)
        else:
            keyed_seen = True
            if seal.key.entry_mac(entry.prev_hash, hashed_fields(entry)) != entry.hash:
                problems.append(f"entry {entry.id}: content does not match its MAC (edited, or "
                                f"recomputed without the audit key)")
        if reading.newest is not None and entry.id == reading.newest.last_id:
            checkpoint_mac = entry.hash
        prev_hash, prev_id, result.entries = entry.hash, entry.id, result.entries + 1
    for key_id, ids in foreign.items():
        problems.append(f"wrong audit key: {len(ids)} entries (ids {ids[0]}–{ids[-1]}) were "
                        f"sealed with key {key_id}, but the configured key is "
                        f"{seal.key.key_id}; verify with the key the hub writes with "
                        f"(YUNCHU_AUDIT_KEY, else YUNCHU_SECRET_KEY or <data dir>/secret.key)")
    _check_head(session, result, prev_id, prev_hash)
    problems.extend(reading.problems)
    _check_checkpoint(result, keyed_seen, checkpoint_mac)
    result.ok = not problems
    return result


def _check_head(session: Session, result: Verification, last_id: int, last_hash: str) -> None:
    head = session.get(AuditHead, _HEAD_ID)
    if head is None:
        if result.entries:
            result.problems.append("chain head is missing (the head record was removed)")
        return
    if (head.last_id, head.last_hash) != (last_id, last_hash):
        result.problems.append(f"chain ends at entry {last_id} but its head records entry "
                               f"{head.last_id} (the newest entries were removed)")
    if head.entries != result.entries:
        result.problems.append(f"chain has {result.entries} entries but its head counts "
                               f"{head.entries} (entries were removed or added outside the log)")


def _check_checkpoint(result: Verification, keyed_seen: bool, mac: str | None) -> None:
    checkpoint = result.checkpoint
    if checkpoint is None:
        if keyed_seen:
            result.problems.append(
                "no audit checkpoint found outside the database (Redis or <data dir>/"
                "audit.checkpoint): removal of the newest entries cannot be ruled out")
        return
    if mac is None:
        result.problems.append(
            f"entry {checkpoint.last_id}, checkpointed at {checkpoint.at}, is missing from the "
            f"log (the newest entries were removed)")
    elif mac != checkpoint.mac:
        result.problems.append(
            f"entry {checkpoint.last_id} differs from its checkpoint of {checkpoint.at} (the "
            f"log was rewritten from there)")


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
            "details": entry.details, "hash": entry.hash, "key_id": entry.key_id}
