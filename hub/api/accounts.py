"""/api/v1/accounts, and /api/v1/inspection: how the ledger would fare in an inspection."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select

from ..audit import record
from ..auth import current
from ..errors import ApiError, invalid
from ..messages import Message
from ..models import ACCOUNT_STATUSES, Account, Org, utcnow
from ..outbound import (
    changed_fields,
    check_account_urls,
    may_set_outbound,
    outbound_values,
    policy_for,
    require_outbound_right,
    stored_values,
)
from ..permissions import require
from ..platforms import names as platform_names
from ..request_limits import bulk_json
from ..services import accounts as account_service
from ..services import inspection as inspection_service
from ..services import orgs as org_service
from ..validation import json_body, limit_arg
from . import api
from .common import cursor_arg, page, rt, scope_arg

MAX_IMPORT = 50_000


@api.post("/accounts")
def create_account():
    principal = current()
    spec = account_service.parse_account(json_body())
    runtime = rt()
    with runtime.db.session() as session:
        org = org_service.get_by_slug(session, spec.org, field="org")
        require(principal, "account.manage", org_path=org.path)
        require_outbound_right(principal, changed_fields(spec, {}))
        check_account_urls(policy_for(runtime.settings), spec)
        account = account_service.create(session, runtime.box, spec)
        record(session, "account.create", target=account.id,
               details={"platform": account.platform, "org": org.slug})
        data = account_service.to_json(account, org.slug)
    return jsonify(data), 201


@api.post("/accounts/import")
@bulk_json
def import_accounts():
    principal = current()
    require(principal, "account.manage")
    body = json_body()
    raw = body.get("accounts")
    if not isinstance(raw, list):
        raise invalid("accounts", Message("import.accounts_list"))
    if len(raw) > MAX_IMPORT:
        raise invalid("accounts", Message("import.accounts_limit", most=MAX_IMPORT))
    specs = [account_service.parse_account(a, where=f"accounts[{i}]") for i, a in enumerate(raw)]
    runtime = rt()
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
    return jsonify({"created": created, "updated": updated})


def _require_import_outbound_right(session, box, principal, specs) -> None:
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


@api.get("/accounts")
def list_accounts():
    principal = current()
    require(principal, "account.read")
    platform = request.args.get("platform") or None
    status = request.args.get("status") or None
    if platform and platform not in platform_names():
        raise invalid("platform", Message("accounts.filter_platform",
                                          names="、".join(platform_names())))
    if status and status not in ACCOUNT_STATUSES:
        raise invalid("status", Message("accounts.filter_status",
                                        names="、".join(ACCOUNT_STATUSES)))
    descendants = request.args.get("descendants", "0").lower() in {"1", "true", "yes"}
    inspection = request.args.get("inspection") or None
    if inspection and inspection not in ("passing", "failing"):
        raise invalid("inspection", "inspection 只能是 passing 或 failing "
                                    "(inspection: passing or failing)")
    window_days = window_days_arg()
    now = utcnow()
    limit = limit_arg(default=100, maximum=1000)
    after = cursor_arg()
    with rt().db.session() as session:
        org_id = org_path = None
        if request.args.get("org"):
            org = org_service.get_by_slug(session, request.args["org"])
            require(principal, "account.read", org_path=org.path)
            org_id, org_path = org.id, org.path
        elif principal.org_path is not None:
            org_id, org_path, descendants = principal.org_id, principal.org_path, True
        query = account_service.list_query(org_path=org_path, platform=platform, status=status,
                                           descendants=descendants, org_id=org_id)
        if inspection:
            judged = inspection_service.failing if inspection == "failing" \
                else inspection_service.passing
            query = query.where(judged(now, window_days))
        if after:
            query = query.where(Account.id > after)
        rows = session.execute(query.order_by(Account.id).limit(limit + 1)).all()
        rows, next_cursor = page(rows, limit, lambda r: r[0].id)
        items = [account_service.to_json(a, slug, now=now, window_days=window_days)
                 for a, slug in rows]
    return jsonify({"items": items, "next_cursor": next_cursor})


@api.get("/accounts/<account_id>")
def get_account(account_id: str):
    principal = current()
    with rt().db.session() as session:
        account = account_service.get(session, account_id)
        org = session.get(Org, account.org_id)
        require(principal, "account.read", org_path=org.path)
        data = account_service.to_json(account, org.slug)
    return jsonify(data)


@api.patch("/accounts/<account_id>")
def patch_account(account_id: str):
    principal = current()
    body = json_body()
    runtime = rt()
    with runtime.db.session() as session:
        account = account_service.get(session, account_id)
        org = session.get(Org, account.org_id)
        require(principal, "account.manage", org_path=org.path)
        body_for_parse = {**body, "platform": account.platform}
        spec = account_service.parse_account(body_for_parse, partial=True)
        require_outbound_right(principal, changed_fields(spec, stored_values(runtime.box,
                                                                             account)))
        check_account_urls(policy_for(runtime.settings), spec)
        account = account_service.update_account(session, runtime.box, account, spec, body)
        changed = sorted(k for k in body if k != "credentials")
        record(session, "account.update", target=account.id, details={"fields": changed})
        if spec.credentials is not None:
            record(session, "account.credentials", target=account.id)
        data = account_service.to_json(account, org.slug)
    return jsonify(data)


@api.get("/inspection")
def inspection_summary():
    """How many accounts of a subtree would pass an inspection, and what fails the others:
    not updated in ``window_days`` (default 14), zombie (90 days), ledger incomplete,
    credentials rejected. Closed accounts are not inspected."""
    principal = current()
    require(principal, "account.read")
    window_days = window_days_arg()
    with rt().db.session() as session:
        org_path = scope_arg(session, principal, "account.read")
        data = inspection_service.summary(session, org_path=org_path, now=utcnow(),
                                          window_days=window_days)
    return jsonify(data)


def window_days_arg() -> int:
    raw = request.args.get("window_days")
    if raw is None:
        return inspection_service.WINDOW_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= inspection_service.MAX_WINDOW_DAYS:
        raise invalid("window_days", Message("accounts.window_days",
                                             most=inspection_service.MAX_WINDOW_DAYS))
    return int(raw)
