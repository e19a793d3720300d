"""The versioned negative list: read, replace (new version), screen item versions, rescan live items.

A compiled ``Screen`` is cached in-process per list version (keyed by database and the row's
creation time, so a recreated database never reuses a stale automaton).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import ApiError, conflict, invalid
from ..messages import Message
from ..models import LIVE, Delivery, Item, ItemVersion, Org, SafetyList
from ..screening import CATEGORIES, DEFAULT_ACTIONS, Hit, Screen, Term
from ..screening.captions import captions
from ..screening.text import compact
from ..validation import rfc3339

MAX_TERMS = 50_000
MAX_NAMES = 10_000
MAX_TERM_LEN = 100
ACTIONS = ("block", "warn")
TYPO_ACTION = "warn"

_cache: OrderedDict[tuple[str, int, str], Screen] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 8


def current_list(session: Session) -> SafetyList | None:
    return session.execute(select(SafetyList).order_by(SafetyList.version.desc()).limit(1)
                           ).scalar_one_or_none()


COMMENT_KEYS = ("comments", "comments_after")
MAX_COMMENT_LINES = 20
MAX_COMMENT_LEN = 200


def current_version(session: Session) -> int:
    return session.execute(select(func.coalesce(func.max(SafetyList.version), 0))).scalar_one()


def parse_terms(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        raise invalid("terms", Message("safety.terms_list"))
    if len(raw) > MAX_TERMS:
        raise invalid("terms", Message("safety.terms_limit", max_terms=MAX_TERMS))
    seen: dict[str, int] = {}
    terms: list[dict[str, str]] = []
    for index, entry in enumerate(raw):
        where = f"terms[{index}]"
        if not isinstance(entry, dict):
            raise invalid(where, Message("safety.term_object"))
        term = entry.get("term")
        if not isinstance(term, str) or not term.strip() or len(term) > MAX_TERM_LEN:
            raise invalid(f"{where}.term", Message("safety.term_length", max_len=MAX_TERM_LEN))
        key = compact(term)
        if not key:
            raise invalid(f"{where}.term", Message("safety.term_letters"))
        if key in seen:
            raise invalid(f"{where}.term", Message("safety.term_duplicate", term=term,
                                                     first=seen[key]))
        seen[key] = index
        category = entry.get("category")
        if category not in CATEGORIES:
            raise invalid(f"{where}.category", Message("safety.unknown_category"),
                          allowed=sorted(CATEGORIES))
        action = entry.get("action", DEFAULT_ACTIONS[category])
        if action not in ACTIONS:
            raise invalid(f"{where}.action", Message("safety.action", terms=("name", "block", "warn"),
                                                       name="action", block="block", warn="warn"))
        stored: dict[str, Any] = {"term": term.strip(), "category": category,
                                  "action": action}
        for key in COMMENT_KEYS:  # the editor's comment lines, kept with the term
            if key in entry:
                stored[key] = _comments(entry[key], f"{where}.{key}")
        terms.append(stored)
    return terms


def _comments(raw: Any, where: str) -> list[str]:
    if (not isinstance(raw, list) or len(raw) > MAX_COMMENT_LINES
            or not all(isinstance(c, str) and len(c) <= MAX_COMMENT_LEN for c in raw)):
        raise invalid(where, f"注释须为不超过{MAX_COMMENT_LINES}行、每行不超过{MAX_COMMENT_LEN}字"
                             f"的文本列表 (comments: up to {MAX_COMMENT_LINES} lines of "
                             f"{MAX_COMMENT_LEN} characters)")
    return [c.strip() for c in raw]


def parse_names(raw: Any) -> list[str]:
    if not isinstance(raw, list) or len(raw) > MAX_NAMES:
        raise invalid("canonical_names", f"canonical_names 必须是不超过{MAX_NAMES}项的列表 "
                                         f"(canonical_names: a list of up to {MAX_NAMES})")
    names: list[str] = []
    for index, name in enumerate(raw):
        if not isinstance(name, str) or not compact(name) or len(name) > MAX_TERM_LEN:
            raise invalid(f"canonical_names[{index}]", "规范名称必须是非空文本 "
                                                       "(each canonical name is a non-empty string)")
        names.append(name.strip())
    return list(dict.fromkeys(names))


def replace_list(session: Session, body: dict[str, Any], user_id: str | None) -> SafetyList:
    """Store the next version; 409 unless ``body.version`` is exactly the current one + 1."""
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise invalid("version", Message("safety.version"))
    terms = parse_terms(body.get("terms"))
    current = current_list(session)
    current_number = current.version if current else 0
    if version != current_number + 1:
        raise conflict(f"负面清单已是第{current_number}版，新版本号应为{current_number + 1} "
                       f"(the list is at version {current_number}; send {current_number + 1})",
                       code="version_conflict", current_version=current_number)
    if "canonical_names" in body:
        names = parse_names(body["canonical_names"])
    else:
        names = list(current.canonical_names) if current else []
    row = SafetyList(version=version, terms=terms, canonical_names=names, created_by=user_id)
    session.add(row)
    session.flush()
    return row


def list_json(row: SafetyList | None) -> dict[str, Any]:
    if row is None:
        return {"version": 0, "terms": [], "canonical_names": [], "created_at": None,
                "created_by": None, "categories": CATEGORIES}
    return {"version": row.version, "terms": list(row.terms),
            "canonical_names": list(row.canonical_names), "created_at": rfc3339(row.created_at),
            "created_by": row.created_by, "categories": CATEGORIES}


def screen(session: Session) -> Screen:
    """The compiled current list (cached per version)."""
    head = session.execute(select(SafetyList.version, SafetyList.created_at)
                           .order_by(SafetyList.version.desc()).limit(1)).first()
    if head is None:
        return Screen([], version=0)
    key = (str(session.get_bind().url), head[0], head[1].isoformat())
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    row = session.get(SafetyList, head[0])
    assert row is not None
    compiled = Screen([Term(t["term"], t["category"], t["action"]) for t in row.terms],
                      row.canonical_names, typo_action=TYPO_ACTION, version=row.version)
    with _cache_lock:
        _cache[key] = compiled
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled


def version_fields(version: ItemVersion) -> dict[str, str]:
    """The texts screened: title, summary, body text, then each caption."""
    fields = {"title": version.title, "summary": version.summary, "body": version.body_text}
    for index, caption in enumerate(captions(version.body_html)):
        fields[f"captions[{index}]"] = caption
    return fields


def scan_version(session: Session, version: ItemVersion) -> tuple[int, list[Hit]]:
    compiled = screen(session)
    if compiled.empty:
        return compiled.version, []
    return compiled.version, compiled.scan(version_fields(version))


def blocking(hits: list[Hit]) -> list[Hit]:
    return [h for h in hits if h.action == "block"]


def warnings(hits: list[Hit]) -> list[Hit]:
    return [h for h in hits if h.action == "warn"]


def blocked_error(list_version: int, hits: list[Hit]) -> ApiError:
    return ApiError(422, Message("safety.blocked"), code="safety_blocked",
                    details={"list_version": list_version,
                             "hits": [h.to_json() for h in hits]})


def summary_json(list_version: int, hits: list[Hit]) -> dict[str, Any]:
    return {"list_version": list_version, "hits": [h.to_json() for h in hits],
            "blocked": any(h.action == "block" for h in hits),
            "needs_override": any(h.action == "warn" for h in hits)}


RESCAN_LIMIT = 1000


def rescan(session: Session, *, org_path: str | None) -> dict[str, Any]:
    """Every live item (approved, not withdrawn) whose approved text hits the current list."""
    compiled = screen(session)
    query = (select(Item, ItemVersion, Org.slug)
             .join(ItemVersion, (ItemVersion.item_id == Item.id)
                   & (ItemVersion.version == Item.approved_version))
             .join(Org, Org.id == Item.org_id)
             .where(Item.approved_version.is_not(None), Item.status != "withdrawn")
             .order_by(Item.id))
    if org_path is not None:
        query = query.where(Org.path.startswith(org_path, autoescape=True))
    scanned, found = 0, []
    if not compiled.empty:
        for item, version, slug in session.execute(query.execution_options(yield_per=500)):
            scanned += 1
            hits = compiled.scan(version_fields(version))
            if hits:
                found.append((item, version, slug, hits))
    else:
        scanned = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    live = _live_counts(session, [f[0].id for f in found[:RESCAN_LIMIT]])
    items = [{"id": item.id, "org": slug, "title": version.title, "status": item.status,
              "version": version.version, "live_deliveries": live.get(item.id, 0),
              "blocked": any(h.action == "block" for h in hits),
              "hits": [h.to_json() for h in hits]}
             for item, version, slug, hits in found[:RESCAN_LIMIT]]
    return {"list_version": compiled.version, "scanned": scanned, "matched": len(found),
            "items": items, "truncated": len(found) > RESCAN_LIMIT}


def _live_counts(session: Session, item_ids: list[str]) -> dict[str, int]:
    if not item_ids:
        return {}
    rows = session.execute(select(Delivery.item_id, func.count()).where(
        Delivery.item_id.in_(item_ids), Delivery.state.in_(LIVE)).group_by(Delivery.item_id))
    return {item_id: count for item_id, count in rows}


def item_hits_json(session: Session, version: ItemVersion) -> dict[str, Any]:
    """An item's standing against the *current* list (which may be newer than the one its
    reviewers saw): the ``safety_hits`` of its API JSON."""
    list_version, hits = scan_version(session, version)
    return {"list_version": list_version, "hits": [h.to_json() for h in hits],
            "blocked": any(h.action == "block" for h in hits)}


MAX_OVERRIDE_REASON = 1000


@dataclass(frozen=True)
class PushOverride:
    """A province admin's decision to push despite blocking hits, with the reason audited."""

    reason: str


def parse_push_override(body: dict[str, Any]) -> PushOverride | None:
    """``override_safety: true`` with ``override_reason`` in a push (or preview) body."""
    flag = body.get("override_safety", False)
    if not isinstance(flag, bool):
        raise invalid("override_safety", Message("safety.override_flag"))
    if not flag:
        return None
    reason = body.get("override_reason")
    if not isinstance(reason, str) or not reason.strip():
        raise invalid("override_reason", Message("safety.override_reason"))
    if len(reason) > MAX_OVERRIDE_REASON:
        raise invalid("override_reason", Message("safety.override_reason_length",
                                                 max_len=MAX_OVERRIDE_REASON))
    return PushOverride(reason=reason.strip())


def push_gate(session: Session, version: ItemVersion, principal: Any,
              override: PushOverride | None) -> dict[str, Any] | None:
    """Refuse a push of a version that hits blocking terms of the current list (422
    ``negative_list_hit``), unless a province-wide admin overrides it with a reason. Warn hits
    do not stop a push (the final reviewer already had to give a reason for them). Returns
    what an override let through, for the audit log, else None."""
    list_version, hits = scan_version(session, version)
    blocked = blocking(hits)
    if not blocked:
        return None
    terms = [h.to_json() for h in blocked]
    if override is None:
        raise ApiError(422, Message("safety.push_blocked"),
                       code="negative_list_hit",
                       details={"list_version": list_version, "hits": terms})
    if not (principal.has("admin") and principal.province_wide):
        raise ApiError(403, Message("safety.override_not_allowed"), code="override_not_allowed",
                       details={"list_version": list_version, "hits": terms})
    return {"list_version": list_version, "reason": override.reason,
            "terms": sorted({h.term for h in blocked})}
