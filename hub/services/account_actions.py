"""What a principal may do with the account ledger (统一台账): create, import, read and change
accounts, and judge the ledger as an inspection would, each with its permission check, org
scope and audit entry. The REST API and the admin UI call these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ApiError, invalid
from ..infra.crypto import CredentialBox
from ..infra.runtime import Runtime
from ..messages import Message
from ..models import ACCOUNT_STATUSES, Account, Org, utcnow
from ..platforms import names as platform_names
from ..security.audit import record
from ..security.auth import Principal
from ..security.outbound_policy import (
    changed_fields,
    check_account_urls,
    may_set_outbound,
    outbound_values,
    policy_for,
    require_outbound_right,
    stored_values,
)
from ..security.permissions import require
from ..validation import import_rows
from . import accounts as account_service
from . import auth_health
from . import inspection as inspection_service
from . import orgs as org_service
from .paging import decode_cursor, keyset_page
from .scoping import scope_path

MAX_IMPORT = 50_000
INSPECTIONS = ("passing", "failing")


def create(runtime: Runtime, session: Session, principal: Principal,
           body: Any) -> dict[str, Any]:
    spec = account_service.parse_account(body)
    org = org_service.get_by_slug(session, spec.org, field="org")
    require(principal, "account.manage", org_path=org.path)
    require_outbound_right(principal, changed_fields(spec, {}))
    check_account_urls(policy_for(runtime.settings), spec)
    account = account_service.create(session, runtime.box, spec)
    record(session, "account.create", target=account.id,
           details={"platform": account.platform, "org": org.slug})
    return account_service.to_json(account, org.slug)


def require_manager(principal: Principal) -> None:
    require(principal, "account.manage")


def import_all(runtime: Runtime, principal: Principal, raw: Any) -> dict[str, int]:
    """Create or update every account of ``raw`` (a list of account objects), all or none;
    each must lie in the caller's subtree."""
    require_manager(principal)
    rows = import_rows(raw, "accounts", most=MAX_IMPORT)
    specs = [account_service.parse_account(a, where=f"accounts[{i}]")
             for i, a in enumerate(rows)]
    policy = policy_for(runtime.settings)
    for index, spec in enumerate(specs):
        check_account_urls(policy, spec, where=f"accounts[{index}]")
    with runtime.db.session() as session:
        _require_import_outbound_right(session, runtime.box, principal, specs)
        if principal.org_path is not None:
            paths = dict(session.execute(select(Org.slug, Org.path).where(
                Org.slug.in_({s.org for s in specs}))).all())
            outside = sorted(slug for slug, path in paths.items()
                             if not principal.covers_path(path))
            if outside:
                raise ApiError(403, Message("orgs.import_outside"),
                               details={"orgs": outside[:50]})
        created, updated = account_service.bulk_import(session, runtime.box, specs)
        record(session, "account.import", details={"created": created, "updated": updated})
    return {"created": created, "updated": updated}


def _require_import_outbound_right(session: Session, box: CredentialBox, principal: Principal,
                                   specs: list[account_service.AccountSpec]) -> None:
    """An import may repeat an account's api_base/webhook_url as stored; changing one, or
    creating an account with one, is a province admin's."""
    setting = [i for i, spec in enumerate(specs) if outbound_values(spec)]
    if not setting or may_set_outbound(principal):
        return
    stored = account_service.existing_accounts(session, [specs[i] for i in setting])
    for index in setting:
        account = stored.get(account_service.spec_key(specs[index]))
        fields = changed_fields(specs[index], stored_values(box, account) if account else {})
        require_outbound_right(principal, fields, where=f"accounts[{index}]")


def require_reader(principal: Principal) -> None:
    require(principal, "account.read")


def check_filters(platform: str | None, status: str | None, inspection: str | None,
                  auth: str | None = None) -> None:
    if auth and auth not in auth_health.FILTERS:
        raise invalid("auth", Message("accounts.filter_auth",
                                      names="、".join(auth_health.FILTERS)))
    if platform and platform not in platform_names():
        raise invalid("platform", Message("accounts.filter_platform",
                                          names="、".join(platform_names())))
    if status and status not in ACCOUNT_STATUSES:
        raise invalid("status", Message("accounts.filter_status",
                                        names="、".join(ACCOUNT_STATUSES)))
    if inspection and inspection not in INSPECTIONS:
        raise invalid("inspection", "inspection 只能是 passing 或 failing "
                                    "(inspection: passing or failing)")


def list_page(session: Session, principal: Principal, *, platform: str | None,
              status: str | None, inspection: str | None, org: str | None, descendants: bool,
              window_days: int, limit: int, cursor: str | None, auth: str | None = None,
              expiring_days: int = auth_health.EXPIRING_DAYS,
              now: datetime | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Accounts of ``org`` (with ``descendants``, of its subtree), else of the caller's
    subtree, by id; and the next cursor. ``auth``: only those whose authorisation is
    expiring / revoked / expired / insufficient."""
    require_reader(principal)
    check_filters(platform, status, inspection, auth)
    now = now or utcnow()
    after = decode_cursor(cursor)
    org_id = org_path = None
    if org:
        found = org_service.get_by_slug(session, org)
        require(principal, "account.read", org_path=found.path)
        org_id, org_path = found.id, found.path
    elif principal.org_path is not None:
        org_id, org_path, descendants = principal.org_id, principal.org_path, True
    query = account_service.list_query(org_path=org_path, platform=platform, status=status,
                                       descendants=descendants, org_id=org_id)
    if inspection:
        judged = inspection_service.failing if inspection == "failing" \
            else inspection_service.passing
        query = query.where(judged(now, window_days))
    if auth:
        query = query.where(auth_health.condition(auth, now, expiring_days))
    rows, next_cursor = keyset_page(session, query, Account.id, limit=limit, after=after)
    return [account_service.to_json(a, slug, now=now, window_days=window_days,
                                    expiring_days=expiring_days)
            for a, slug in rows], next_cursor


def get(session: Session, principal: Principal, account_id: str, *,
        expiring_days: int = auth_health.EXPIRING_DAYS) -> dict[str, Any]:
    account = account_service.get(session, account_id)
    org = session.get(Org, account.org_id)
    require(principal, "account.read", org_path=org.path)
    return account_service.to_json(account, org.slug, expiring_days=expiring_days)


def authorization_summary(session: Session, principal: Principal, *, org: str | None,
                          expiring_days: int) -> dict[str, Any]:
    """Token health of the caller's subtree (or ``org``'s): accounts by authorisation state,
    how many expire within ``expiring_days``, by mode."""
    require_reader(principal)
    org_path = scope_path(session, principal, "account.read", org)
    return auth_health.summary(session, org_path=org_path, now=utcnow(), days=expiring_days)


def update(runtime: Runtime, session: Session, principal: Principal, account_id: str,
           body: dict[str, Any]) -> dict[str, Any]:
    """Change an account's fields (credentials too: sealed, never shown back)."""
    account = account_service.get(session, account_id)
    org = session.get(Org, account.org_id)
    require(principal, "account.manage", org_path=org.path)
    spec = account_service.parse_account({**body, "platform": account.platform}, partial=True)
    require_outbound_right(principal, changed_fields(spec, stored_values(runtime.box, account)))
    check_account_urls(policy_for(runtime.settings), spec)
    account = account_service.update_account(session, runtime.box, account, spec, body)
    changed = sorted(k for k in body if k != "credentials")
    record(session, "account.update", target=account.id, details={"fields": changed})
    if spec.credentials is not None:
        record(session, "account.credentials", target=account.id)
    return account_service.to_json(account, org.slug)


def inspection_summary(session: Session, principal: Principal, *, org: str | None,
                       window_days: int) -> dict[str, Any]:
    """How many accounts of the caller's subtree (or ``org``'s) would pass an inspection."""
    require_reader(principal)
    org_path = scope_path(session, principal, "account.read", org)
    return inspection_service.summary(session, org_path=org_path, now=utcnow(),
                                      window_days=window_days)
