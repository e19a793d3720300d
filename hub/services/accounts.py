"""Platform accounts: validation, sealed credentials, bulk import of thousands in one call."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import ApiError, invalid, not_found
from ..infra.crypto import CredentialBox
from ..infra.ids import new_id
from ..messages import Message
from ..models import ACCOUNT_STATUSES, Account, Org, utcnow
from ..platforms import names as platform_names
from ..platforms import spec as platform_spec
from ..validation import field_message
from . import account_identity, auth_health
from .inspection import LEDGER_FIELDS, WINDOW_DAYS, verdict
from .media_urls import callback_url

_MAX_CREDENTIAL_LEN = 4096


@dataclass
class AccountSpec:
    org: str
    platform: str
    name: str
    credentials: dict[str, str] | None = field(repr=False, default=None)
    api_base: str | None = None
    status: str | None = None
    ledger: dict[str, Any] = field(default_factory=dict)


def parse_account(body: Any, *, where: str = "", partial: bool = False) -> AccountSpec:
    prefix = f"{where}." if where else ""
    if not isinstance(body, dict):
        raise invalid(where or "account", Message("accounts.object"))
    org = body.get("org")
    platform = body.get("platform")
    name = body.get("name")
    if partial and name is not None and not isinstance(name, str):
        raise invalid(f"{prefix}name", Message("accounts.name_text"))
    if not partial:
        if not isinstance(org, str) or not org:
            raise invalid(f"{prefix}org", Message("accounts.org_required"))
        known = platform_names()
        if platform not in known:
            raise invalid(f"{prefix}platform", field_message(
                "field.choice", "platform", options_zh="、".join(known), options_en=", ".join(known)))
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise invalid(f"{prefix}name", Message("accounts.name_required"))
    credentials = body.get("credentials")
    if credentials is not None or not partial:
        credentials = _check_credentials(platform, credentials, f"{prefix}credentials")
    api_base = body.get("api_base")
    if api_base is not None:
        api_base = _check_url(api_base, f"{prefix}api_base")
    status = body.get("status")
    if status is not None and status not in ACCOUNT_STATUSES:
        raise invalid(f"{prefix}status", field_message(
            "field.choice", "status", options_zh="、".join(ACCOUNT_STATUSES),
            options_en=", ".join(ACCOUNT_STATUSES)))
    ledger = _check_ledger(body, prefix)
    return AccountSpec(org=org or "", platform=platform or "", name=(name or "").strip(),
                       credentials=credentials, api_base=api_base, status=status, ledger=ledger)


def _check_credentials(platform: str | None, value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise invalid(where, Message("accounts.credentials_object"))
    declared = platform_spec(platform).credentials if platform in platform_names() else ()
    required = [f.name for f in declared if f.required]
    missing = [k for k in required if not isinstance(value.get(k), str) or not value.get(k)]
    if missing:
        raise invalid(where, Message("accounts.credentials_missing", keys_zh="、".join(missing),
                                      keys_en=", ".join(missing)), missing=missing)
    clean: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str) or len(item) > _MAX_CREDENTIAL_LEN:
            raise invalid(where, Message("accounts.credentials_text"),
                          key=str(key)[:50])
        clean[key] = item
    for declared_field in declared:
        given = clean.get(declared_field.name)
        if given is None:
            continue
        where_field = f"{where}.{declared_field.name}"
        if declared_field.url:
            _check_url(given, where_field)
        if declared_field.pattern and not re.fullmatch(declared_field.pattern, given):
            raise invalid(where_field, declared_field.hint)
    return clean


def _check_url(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > 500:
        raise invalid(where, field_message("field.url", where))
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a port that is not 0..65535)
    except ValueError:  # e.g. "http://[::1": an unclosed IPv6 bracket
        raise invalid(where, field_message("field.url_malformed", where)) from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise invalid(where, field_message("field.url", where))
    return value.rstrip("/")


def _check_ledger(body: dict[str, Any], prefix: str) -> dict[str, Any]:
    ledger: dict[str, Any] = {}
    for name in LEDGER_FIELDS:
        if name in body and body[name] is not None:
            value = body[name]
            if not isinstance(value, str) or len(value) > 200:
                raise invalid(f"{prefix}{name}", field_message("accounts.ledger_text", name))
            ledger[name] = value.strip()
    if body.get("filing_date") is not None:
        try:
            ledger["filing_date"] = date.fromisoformat(str(body["filing_date"]))
        except ValueError:
            raise invalid(f"{prefix}filing_date", Message("accounts.filing_date")) from None
    return ledger


def external_id(platform: str, credentials: dict[str, str]) -> str | None:
    """The account's identity on its platform, when the credentials reveal it."""
    return platform_spec(platform).external_id(credentials)


def create(session: Session, box: CredentialBox, spec: AccountSpec) -> Account:
    org = session.execute(select(Org).where(Org.slug == spec.org)).scalar_one_or_none()
    if org is None:
        raise ApiError(404, Message("accounts.org_not_found", org=spec.org), code="not_found",
                       details={"field": "org", "id": spec.org})
    exists = session.execute(select(Account.id).where(
        Account.org_id == org.id, Account.platform == spec.platform, Account.name == spec.name)).first()
    if exists:
        raise ApiError(409, Message("accounts.duplicate", platform=spec.platform),
                       code="duplicate_account",
                       details={"field": "name", "id": exists[0]})
    account_id = new_id("acc")
    assert spec.credentials is not None
    identity = account_identity.identity_key(box, spec.platform, spec.credentials)
    account_identity.require_free(session, identity)
    account = Account(id=account_id, org_id=org.id, platform=spec.platform, name=spec.name,
                      status=spec.status or "active", api_base=spec.api_base,
                      external_id=external_id(spec.platform, spec.credentials),
                      identity_key=identity,
                      credentials_sealed=box.seal(spec.credentials, bound_to=account_id),
                      **spec.ledger)
    session.add(account)
    _flush_or_taken(session)
    return account


def _flush_or_taken(session: Session) -> None:
    """Flush; the identity registered concurrently by someone else is a 409 like any other."""
    try:
        session.flush()
    except IntegrityError as err:
        if "identity_key" in str(err.orig):
            raise account_identity.taken() from None
        raise


def bulk_import(session: Session, box: CredentialBox, specs: list[AccountSpec]) -> tuple[int, int]:
    """Upsert on (org, platform, name) with a few statements, whatever the count."""
    org_ids = dict(session.execute(select(Org.slug, Org.id).where(
        Org.slug.in_({s.org for s in specs}))).all())
    missing = sorted({s.org for s in specs} - set(org_ids))
    if missing:
        raise invalid("accounts", Message("accounts.unknown_orgs", orgs="、".join(missing[:20])),
                      unknown_orgs=missing[:100])
    existing: dict[tuple[str, str, str], str] = {}
    for chunk_start in range(0, len(specs), 5000):
        chunk = specs[chunk_start:chunk_start + 5000]
        rows = session.execute(select(Account.org_id, Account.platform, Account.name, Account.id)
                               .where(Account.org_id.in_({org_ids[s.org] for s in chunk}),
                                      Account.name.in_({s.name for s in chunk})))
        existing.update({(o, p, n): i for o, p, n, i in rows})
    seen: set[tuple[str, str, str]] = set()
    for index, spec in enumerate(specs):
        key = (org_ids[spec.org], spec.platform, spec.name)
        if key in seen:
            raise invalid(f"accounts[{index}].name", Message("accounts.import_duplicate_name"))
        seen.add(key)
    identities = _import_identities(session, box, specs, existing, org_ids)
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for index, spec in enumerate(specs):
        key = (org_ids[spec.org], spec.platform, spec.name)
        assert spec.credentials is not None
        account_id = existing.get(key) or new_id("acc")
        row = {"id": account_id, "api_base": spec.api_base,
               "external_id": external_id(spec.platform, spec.credentials),
               "identity_key": identities[index],
               "credentials_sealed": box.seal(spec.credentials, bound_to=account_id),
               "credentials_updated_at": now, "updated_at": now, **spec.ledger}
        if spec.status:
            row["status"] = spec.status
        if key in existing:
            changed.append(row)
        else:
            row.update(org_id=key[0], platform=spec.platform, name=spec.name,
                       status=spec.status or "active", created_at=now)
            new_rows.append(row)
    try:
        if new_rows:
            _grouped(session, insert(Account), new_rows)
        if changed:
            _grouped(session, update(Account), changed)
    except IntegrityError as err:
        if "identity_key" in str(err.orig):
            raise account_identity.taken() from None
        raise
    return len(new_rows), len(changed)


def spec_key(spec: AccountSpec) -> tuple[str, str, str]:
    return spec.org, spec.platform, spec.name


def existing_accounts(session: Session,
                      specs: list[AccountSpec]) -> dict[tuple[str, str, str], Account]:
    """The stored accounts these specs would update, by (org slug, platform, name)."""
    found: dict[tuple[str, str, str], Account] = {}
    for start in range(0, len(specs), 5000):
        chunk = specs[start:start + 5000]
        rows = session.execute(select(Account, Org.slug).join(Org, Org.id == Account.org_id)
                               .where(Org.slug.in_({s.org for s in chunk}),
                                      Account.name.in_({s.name for s in chunk})))
        found.update({(slug, a.platform, a.name): a for a, slug in rows})
    return found


def _import_identities(session: Session, box: CredentialBox, specs: list[AccountSpec],
                       existing: dict[tuple[str, str, str], str],
                       org_ids: dict[str, str]) -> list[str | None]:
    """Each spec's identity key; 422 for one identity twice in the import, 409 for one that an
    account other than the row's own already holds."""
    keys: list[str | None] = []
    first_at: dict[str, int] = {}
    for index, spec in enumerate(specs):
        assert spec.credentials is not None
        key = account_identity.identity_key(box, spec.platform, spec.credentials)
        keys.append(key)
        if key is None:
            continue
        if key in first_at:
            raise invalid(f"accounts[{index}].credentials",
                          Message("accounts.import_duplicate_identity", first=first_at[key]))
        first_at[key] = index
    held = account_identity.holders(session, first_at)
    for index, spec in enumerate(specs):
        holder = held.get(keys[index] or "")
        if holder is not None and holder != existing.get((org_ids[spec.org], spec.platform,
                                                          spec.name)):
            error = account_identity.taken()
            error.details["field"] = f"accounts[{index}].credentials"
            raise error
    return keys


def _grouped(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    """executemany wants rows with the same keys: run one batch per key set."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    for group in groups.values():
        session.execute(statement, group)


def get(session: Session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise not_found("账号", account_id)
    return account


def update_account(session: Session, box: CredentialBox, account: Account,
                   spec: AccountSpec, body: dict[str, Any]) -> Account:
    if spec.status:
        account.status = spec.status
        reason = body.get("status_reason")
        account.status_reason = reason[:500] if isinstance(reason, str) else None
    if "name" in body:
        if not isinstance(body["name"], str) or not body["name"].strip():
            raise invalid("name", Message("accounts.name_empty"))
        account.name = body["name"].strip()[:200]
    if spec.credentials is not None:
        identity = account_identity.identity_key(box, account.platform, spec.credentials)
        account_identity.require_free(session, identity, account_id=account.id)
        account.credentials_sealed = box.seal(spec.credentials, bound_to=account.id)
        account.credentials_updated_at = utcnow()
        account.external_id = external_id(account.platform, spec.credentials)
        account.identity_key = identity
        account.flagged_reason = None
        account.flagged_at = None
        if account.auth_mode == "oauth":  # typed-in tokens replace the grant and its health
            _typed_in(account)
    if "api_base" in body:
        account.api_base = spec.api_base
    for name, value in spec.ledger.items():
        setattr(account, name, value)
    _flush_or_taken(session)
    return account


def _typed_in(account: Account) -> None:
    account.auth_mode, account.auth_state = "secret", "authorized"
    account.auth_expires_at = account.auth_token_expires_at = None
    account.auth_scopes = account.auth_missing = None
    account.auth_error, account.auth_renewals = None, 0
    account.auth_changed_at = utcnow()


def list_query(*, org_path: str | None, platform: str | None, status: str | None,
               descendants: bool, org_id: str | None) -> Select:
    query = select(Account, Org.slug).join(Org, Org.id == Account.org_id)
    if org_id is not None:
        query = query.where(Org.path.startswith(org_path, autoescape=True)) if descendants \
            else query.where(Account.org_id == org_id)
    if platform:
        query = query.where(Account.platform == platform)
    if status:
        query = query.where(Account.status == status)
    return query


def to_json(account: Account, org_slug: str, *, now: datetime | None = None,
            window_days: int = WINDOW_DAYS,
            expiring_days: int = auth_health.EXPIRING_DAYS) -> dict[str, Any]:
    now = now or utcnow()
    return {
        "id": account.id, "org": org_slug, "platform": account.platform, "name": account.name,
        "status": account.status, "status_reason": account.status_reason,
        "external_id": account.external_id, "api_base": account.api_base,
        "has_credentials": bool(account.credentials_sealed),
        "credentials_updated_at": _iso(account.credentials_updated_at),
        "responsible_person": account.responsible_person, "chief_editor": account.chief_editor,
        "managing_department": account.managing_department,
        "filing_number": account.filing_number,
        "filing_date": account.filing_date.isoformat() if account.filing_date else None,
        "flagged_reason": account.flagged_reason,
        "last_published_at": _iso(account.last_published_at),
        "created_at": _iso(account.created_at), "updated_at": _iso(account.updated_at),
        # Where its 服务器配置 should point for publish events (with a callback_token).
        "callback_url": callback_url(account.platform, account.id)
        if _has_callback(account.platform) else None,
        "inspection": verdict(account, now, window_days),
        "authorization": auth_health.to_json(account, org_slug, now, expiring_days),
    }


def _has_callback(platform: str) -> bool:
    return platform in platform_names() and platform_spec(platform).callback is not None


def _iso(value: Any) -> str | None:
    from ..validation import rfc3339

    return rfc3339(value)
