"""Matrices: named cross-org account groups (e.g. 交通微矩阵), each call with its permission
check, org scope and audit entry. The REST API and the admin UI both call these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import NAMED_UNKNOWN, ApiError, conflict, invalid, not_found
from ..fanout.targets import matrix_size
from ..infra.ids import new_id
from ..infra.idsets import existing, rows_among
from ..messages import Message
from ..models import Account, Matrix, MatrixAccount, Org
from ..platforms import names as platform_names
from ..security.audit import record
from ..security.auth import Principal
from ..security.permissions import require
from ..validation import string_list, text
from .orgs import SLUG_RE
from .paging import decode_cursor, page


def _members(session: Session, body: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    accounts = string_list(body, "accounts", max_items=100_000, max_len=40)
    orgs = string_list(body, "orgs", max_items=10_000, max_len=64)
    known = platform_names()
    platforms = string_list(body, "platforms", max_items=len(known), max_len=16)
    bad_platforms = sorted(set(platforms) - set(known))
    if bad_platforms:
        raise invalid("platforms", Message("targets.unknown_platforms",
                                           names="、".join(bad_platforms)),
                      unknown=bad_platforms)
    if accounts:
        found = existing(session, Account.id, accounts)
        unknown = [a for a in accounts if a not in found]
        if unknown:
            raise invalid("accounts", Message("targets.unknown_accounts", names="、".join(unknown[:20]),
                                              count=len(unknown)),
                          unknown=unknown[:NAMED_UNKNOWN], unknown_count=len(unknown))
    if orgs:
        found = set(session.execute(select(Org.slug).where(Org.slug.in_(orgs))).scalars())
        unknown = [o for o in orgs if o not in found]
        if unknown:
            raise invalid("orgs", Message("accounts.unknown_orgs", orgs="、".join(unknown)),
                          unknown=unknown)
    return list(dict.fromkeys(accounts)), orgs, platforms


def _require_members_in_scope(session: Session, principal: Principal, accounts: list[str],
                              orgs: list[str]) -> None:
    """Every org and account a matrix names must be inside the caller's subtree."""
    if principal.org_path is None:
        return
    paths = set(session.execute(select(Org.path).where(Org.slug.in_(orgs))).scalars()) \
        if orgs else set()
    if accounts:
        paths |= {row[0] for row in rows_among(
            session, select(Org.path).join(Account, Account.org_id == Org.id).distinct(),
            Account.id, accounts)}
    for path in paths:
        require(principal, "matrix.manage", org_path=path)


def _require_owner_scope(session: Session, principal: Principal, matrix: Matrix) -> None:
    owner = session.get(Org, matrix.org_id) if matrix.org_id else None
    if owner is None and principal.province_wide:
        require(principal, "matrix.manage")  # an org-less (bootstrap) matrix: province-wide
        return
    require(principal, "matrix.manage", org_path=owner.path if owner else "/")


def _duplicate(slug: str) -> ApiError:
    return conflict(Message("matrices.duplicate_slug", slug=slug), code="duplicate_slug",
                    field="slug")


def to_json(session: Session, matrix: Matrix) -> dict[str, Any]:
    explicit = session.execute(select(func.count()).where(
        MatrixAccount.matrix_id == matrix.id)).scalar_one()
    count = matrix_size(session, matrix)
    owner = session.get(Org, matrix.org_id) if matrix.org_id else None
    return {"id": matrix.id, "slug": matrix.slug, "name": matrix.name,
            "org": owner.slug if owner else None, "orgs": matrix.orgs,
            "platforms": matrix.platforms, "explicit_accounts": explicit,
            "account_count": count}


def require_manager(principal: Principal) -> None:
    require(principal, "matrix.manage")


def create(session: Session, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A matrix {slug, name, accounts?, orgs?, platforms?} owned by the caller's org."""
    require_manager(principal)
    slug = text(body, "slug", max_len=64)
    if not SLUG_RE.match(slug or ""):
        raise invalid("slug", Message("matrices.slug"))
    name = text(body, "name", max_len=200)
    if session.execute(select(Matrix.id).where(Matrix.slug == slug)).first():
        raise _duplicate(slug)
    accounts, orgs, platforms = _members(session, body)
    _require_members_in_scope(session, principal, accounts, orgs)
    matrix = Matrix(id=new_id("mtx"), slug=slug, name=name, org_id=principal.org_id,
                    orgs=orgs, platforms=platforms)
    session.add(matrix)
    try:
        session.flush()
    except IntegrityError:  # the same slug, created concurrently (the transaction rolls back)
        raise _duplicate(slug) from None
    if accounts:
        session.execute(insert(MatrixAccount), [{"matrix_id": matrix.id, "account_id": a}
                                                for a in accounts])
    record(session, "matrix.create", target=slug, details={"accounts": len(accounts),
                                                            "orgs": orgs})
    return to_json(session, matrix)


def require_reader(principal: Principal) -> None:
    require(principal, "matrix.read")


def list_page(session: Session, principal: Principal, *, limit: int,
              cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Every matrix (province-wide groupings) by slug, with resolved account counts."""
    require_reader(principal)
    after = decode_cursor(cursor)
    query = select(Matrix)
    if after:
        query = query.where(Matrix.slug > after)
    rows = list(session.execute(query.order_by(Matrix.slug).limit(limit + 1)).scalars())
    rows, next_cursor = page(rows, limit, lambda m: m.slug)
    return [to_json(session, m) for m in rows], next_cursor


def get(session: Session, principal: Principal, slug: str) -> dict[str, Any]:
    require_reader(principal)
    return to_json(session, _matrix_or_404(session, slug))


def explicit_accounts(session: Session, principal: Principal, slug: str,
                      limit: int) -> list[str]:
    """Up to ``limit`` of the accounts a matrix names one by one, by id."""
    require_reader(principal)
    matrix = _matrix_or_404(session, slug)
    return list(session.execute(select(MatrixAccount.account_id)
                                .where(MatrixAccount.matrix_id == matrix.id)
                                .order_by(MatrixAccount.account_id).limit(limit)).scalars())


def update(session: Session, principal: Principal, slug: str,
           body: dict[str, Any]) -> dict[str, Any]:
    """Rename a matrix or replace its accounts, orgs or platforms."""
    require_manager(principal)
    matrix = _matrix_or_404(session, slug)
    _require_owner_scope(session, principal, matrix)
    accounts, orgs, platforms = _members(session, body)
    _require_members_in_scope(session, principal, accounts, orgs)
    if "name" in body:
        matrix.name = text(body, "name", max_len=200)
    if "orgs" in body:
        matrix.orgs = orgs
    if "platforms" in body:
        matrix.platforms = platforms
    if "accounts" in body:
        session.execute(delete(MatrixAccount).where(MatrixAccount.matrix_id == matrix.id))
        if accounts:
            session.execute(insert(MatrixAccount), [{"matrix_id": matrix.id, "account_id": a}
                                                    for a in accounts])
    record(session, "matrix.update", target=slug, details={"fields": sorted(body)})
    session.flush()
    return to_json(session, matrix)


def remove(session: Session, principal: Principal, slug: str) -> None:
    """Delete a matrix (its accounts and past dispatches stay as they are)."""
    require_manager(principal)
    matrix = _matrix_or_404(session, slug)
    _require_owner_scope(session, principal, matrix)
    session.execute(delete(MatrixAccount).where(MatrixAccount.matrix_id == matrix.id))
    session.delete(matrix)
    record(session, "matrix.delete", target=slug)


def _matrix_or_404(session: Session, slug: str) -> Matrix:
    matrix = session.execute(select(Matrix).where(Matrix.slug == slug)).scalar_one_or_none()
    if matrix is None:
        raise not_found("矩阵", slug)
    return matrix
