"""Org scoping of reads: a caller sees the rows of their own org subtree (a path prefix), or of
one org inside it they ask for; a province-wide caller sees everything."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from ..models import Org
from ..security.auth import Principal
from ..security.permissions import require
from . import orgs as org_service


def in_scope(query: Select, principal: Principal, path: Any = Org.path) -> Select:
    """Only rows whose org lies in the caller's subtree (everything for a province-wide user)."""
    if principal.org_path is None:
        return query
    return query.where(path.startswith(principal.org_path, autoescape=True))


def scope_path(session: Session, principal: Principal, action: str,
               org_slug: str | None) -> str | None:
    """The org path a list is limited to: ``org_slug``'s (which the caller must cover for
    ``action``), else the caller's own subtree (None: the whole province)."""
    if not org_slug:
        return principal.org_path
    org = org_service.get_by_slug(session, org_slug)
    require(principal, action, org_path=org.path)
    return org.path
