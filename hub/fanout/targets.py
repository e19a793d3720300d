"""Resolve a push's targets (org subtrees, platforms, matrices, explicit accounts) to accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..errors import NAMED_UNKNOWN, ApiError, invalid
from ..infra.idsets import existing, rows_among
from ..messages import Message
from ..models import Account, Matrix, MatrixAccount, Org
from ..platforms import names as platform_names
from ..security.auth import Principal
from . import auth_states

# Explicit lists: a province's every account fits (100,000); more belongs in an org or matrix.
MAX_ENTRIES = {"orgs": 10_000, "platforms": 100, "matrices": 1_000, "accounts": 100_000}


@dataclass
class TargetSpec:
    orgs: list[str] = field(default_factory=list)
    descendants: bool = True
    platforms: list[str] = field(default_factory=list)
    matrices: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    account_id: str
    platform: str
    org_id: str
    skip_reason: str | None
    # Why it is skipped, for machines: account_closed, account_suspended, credentials_rejected,
    # auth_revoked, auth_expired, auth_insufficient (here) or cannot_render, lineage_live (fitness.assess); the delivery's ``error_kind``.
    skip_code: str | None = None
    skip_field: str | None = None  # the item field a channel refused (cannot_render)
    held_item: str | None = None  # the lineage item the account carries (lineage_live)


def parse_targets(body: Any) -> TargetSpec:
    if not isinstance(body, dict):
        raise invalid("targets", Message("targets.object"))
    spec = TargetSpec()
    for name, most in MAX_ENTRIES.items():
        value = body.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(f"targets.{name}", Message("targets.list", name=name))
        if len(value) > most:
            raise invalid(f"targets.{name}", Message("targets.too_many", name=name, most=most),
                          limit=most, count=len(value))
        setattr(spec, name, list(dict.fromkeys(value)))
    descendants = body.get("descendants", True)
    if not isinstance(descendants, bool):
        raise invalid("targets.descendants", Message("targets.descendants"))
    spec.descendants = descendants
    unknown_platforms = sorted(set(spec.platforms) - set(platform_names()))
    if unknown_platforms:
        raise invalid("targets.platforms", Message("targets.unknown_platforms",
                                               names="、".join(unknown_platforms)),
                      unknown=unknown_platforms)
    if not (spec.orgs or spec.matrices or spec.accounts):
        raise ApiError(422, Message("targets.none"), code="no_targets",
                       details={"field": "targets"})
    return spec


def resolve(session: Session, spec: TargetSpec, principal: Principal) -> list[Target]:
    """Every targeted account once; 422 naming unknown ids, 403 for anything out of scope."""
    org_rows = session.execute(select(Org.slug, Org.id, Org.path).where(
        Org.slug.in_(spec.orgs))).all() if spec.orgs else []
    unknown_orgs = sorted(set(spec.orgs) - {r[0] for r in org_rows})
    if unknown_orgs:
        raise invalid("targets.orgs", Message("accounts.unknown_orgs", orgs="、".join(unknown_orgs)),
                      unknown=unknown_orgs)
    outside_orgs = sorted(slug for slug, _id, path in org_rows if not principal.covers_path(path))
    if outside_orgs:  # even when they hold no account: 403, not "no targets"
        raise ApiError(403, Message("targets.orgs_outside"),
                       details={"orgs": outside_orgs})
    matrices = list(session.execute(select(Matrix).where(Matrix.slug.in_(spec.matrices))
                                    ).scalars()) if spec.matrices else []
    unknown_matrices = sorted(set(spec.matrices) - {m.slug for m in matrices})
    if unknown_matrices:
        raise invalid("targets.matrices", Message("targets.unknown_matrices",
                                              names="、".join(unknown_matrices)),
                      unknown=unknown_matrices)
    if spec.accounts:
        found = existing(session, Account.id, spec.accounts)
        unknown_accounts = [a for a in spec.accounts if a not in found]
        if unknown_accounts:
            raise invalid("targets.accounts", Message("targets.unknown_accounts",
                                                  names="、".join(unknown_accounts[:20]),
                                                  count=len(unknown_accounts)),
                          unknown=unknown_accounts[:NAMED_UNKNOWN],
                          unknown_count=len(unknown_accounts))

    conditions = []
    for _slug, org_id, path in org_rows:
        conditions.append(_org_condition(org_id, path, spec.descendants, spec.platforms))
    for matrix in matrices:
        conditions += _matrix_conditions(session, matrix, spec.platforms)
    wanted = (select(Account.id, Account.platform, Account.org_id, Account.status,
                     Account.flagged_reason, Org.path, Account.auth_state)
              .join(Org, Org.id == Account.org_id))
    rows = session.execute(wanted.where(or_(*conditions))).all() if conditions else []
    if spec.accounts:  # apart from the rest: the list may be longer than one statement takes
        seen = {r[0] for r in rows}
        rows += [r for r in rows_among(session, wanted, Account.id, spec.accounts)
                 if r[0] not in seen]
    outside = [r[0] for r in rows if not principal.covers_path(r[5])]
    if outside:
        raise ApiError(403, Message("targets.accounts_outside"),
                       details={"accounts": outside[:50], "count": len(outside)})
    return [Target(account_id=r[0], platform=r[1], org_id=r[2],
                   skip_reason=_skip_reason(r[3], r[4], r[6]),
                   skip_code=_skip_code(r[3], r[4], r[6]))
            for r in rows]


def matrix_size(session: Session, matrix: Matrix) -> int:
    """How many accounts a matrix reaches, counted in the database (a list page shows it for
    every matrix; loading each one's accounts would not scale)."""
    conditions = _matrix_conditions(session, matrix, [])
    if not conditions:
        return 0
    return session.execute(select(func.count()).select_from(Account)
                           .where(or_(*conditions))).scalar_one()


def _matrix_conditions(session: Session, matrix: Matrix, push_platforms: list[str]) -> list:
    member_ids = select(MatrixAccount.account_id).where(MatrixAccount.matrix_id == matrix.id)
    members = Account.id.in_(member_ids)
    conditions = [members & Account.platform.in_(push_platforms) if push_platforms else members]
    # The matrix's platforms narrowed by the push's: an empty intersection selects nothing.
    platforms = [p for p in matrix.platforms if not push_platforms or p in push_platforms] \
        if matrix.platforms else push_platforms
    if matrix.orgs and (platforms or not matrix.platforms):
        paths = session.execute(select(Org.id, Org.path).where(Org.slug.in_(matrix.orgs))).all()
        conditions += [_org_condition(oid, path, True, platforms) for oid, path in paths]
    return conditions


def _org_condition(org_id: str, path: str, descendants: bool, platforms: list[str]):
    condition = Account.org_id.in_(select(Org.id).where(Org.path.startswith(path, autoescape=True))) \
        if descendants else Account.org_id == org_id
    if platforms:
        condition = condition & Account.platform.in_(platforms)
    return condition


def _skip_code(status: str, flagged: str | None, auth_state: str | None = None) -> str | None:
    if status in ("closed", "suspended"):
        return f"account_{status}"
    if auth_states.blocked(auth_state):
        return auth_states.skip_code(auth_state or "")
    return "credentials_rejected" if flagged else None


def _skip_reason(status: str, flagged: str | None, auth_state: str | None = None) -> str | None:
    if status == "closed":
        return "账号已关闭，未推送 (account is closed)"
    if status == "suspended":
        return "账号已暂停，未推送 (account is suspended)"
    if auth_states.blocked(auth_state):
        return auth_states.reason(auth_state or "")
    if flagged:
        return f"账号凭据失效，需管理员更新后重推 (account credentials rejected: {flagged})"
    return None
