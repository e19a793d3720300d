"""/api/v1/matrices: named cross-org account groups (e.g. 交通微矩阵). The rules are
hub/services/matrices.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify, request

from ..auth import current
from ..request_limits import bulk_json
from ..services import matrices as matrix_service
from ..validation import json_body, limit_arg
from . import api
from .common import rt


@api.post("/matrices")
@bulk_json
def create_matrix():
    """Create a matrix from accounts, org subtrees and platforms."""
    principal = current()
    matrix_service.require_manager(principal)  # before the body is read, as always
    body = json_body()
    with rt().db.session() as session:
        data = matrix_service.create(session, principal, body)
    return jsonify(data), 201


@api.get("/matrices")
def list_matrices():
    """Every matrix (province-wide groupings), with resolved account counts."""
    principal = current()
    matrix_service.require_reader(principal)  # before the query is read, as always
    limit = limit_arg(default=50, maximum=200)
    with rt().db.session() as session:
        items, next_cursor = matrix_service.list_page(session, principal, limit=limit,
                                                      cursor=request.args.get("cursor"))
    return jsonify({"items": items, "next_cursor": next_cursor})


@api.get("/matrices/<slug>")
def get_matrix(slug: str):
    """A matrix with its resolved account count."""
    principal = current()
    with rt().db.session() as session:
        data = matrix_service.get(session, principal, slug)
    return jsonify(data)


@api.patch("/matrices/<slug>")
@bulk_json
def patch_matrix(slug: str):
    """Rename a matrix or replace its accounts, orgs or platforms."""
    principal = current()
    matrix_service.require_manager(principal)
    body = json_body()
    with rt().db.session() as session:
        data = matrix_service.update(session, principal, slug, body)
    return jsonify(data)


@api.delete("/matrices/<slug>")
def delete_matrix(slug: str):
    """Delete a matrix (its accounts and past dispatches stay as they are)."""
    principal = current()
    with rt().db.session() as session:
        matrix_service.remove(session, principal, slug)
    return jsonify({"slug": slug, "deleted": True})
