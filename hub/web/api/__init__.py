"""The REST API of docs/contract.md, mounted at /api/v1. Every call needs a bearer token."""

from __future__ import annotations

from flask import Blueprint, g, request

from hub.security.auth import authenticate

from .common import rt

api = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.openapi"}


@api.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    with rt().db.session() as session:
        g.principal = authenticate(session)


from . import (  # noqa: E402  (route modules register on the blueprint)
    accounts,
    assets,
    audit,
    authorizations,
    fanout,
    inbox,
    items,
    library,
    login,
    matrices,
    openapi,
    orgs,
    rankings,
    safety,
    stats,
    tasks,
    users,
)

__all__ = ["api", "accounts", "assets", "fanout", "inbox", "items", "library", "matrices",
           "openapi", "orgs", "tasks", "users", "audit", "login", "safety", "authorizations",
           "stats", "rankings"]
