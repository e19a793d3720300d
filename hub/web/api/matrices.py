"""/api/v1/matrices: named cross-org account groups (e.g. 交通微矩阵). The rules are
hub/services/matrices.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify

from hub.security.auth import current
from hub.services import matrices as matrix_service
from hub.validation import json_body, limit_arg

from ..request_limits import bulk_json
from . import api
from .common import in_session, listing


@api.post("/matrices")
@bulk_json
def create_matrix():
    """Create a matrix from accounts, org subtrees and platforms."""
    matrix_service.require_manager(current())  # before the body is read, as always
    return jsonify(in_session(matrix_service.create, json_body())), 201


@api.get("/matrices")
def list_matrices():
    """Every matrix (province-wide groupings), with resolved account counts."""
    matrix_service.require_reader(current())  # before the query is read, as always
    return listing(matrix_service.list_page, limit=limit_arg(default=50, maximum=200))


@api.get("/matrices/<slug>")
def get_matrix(slug: str):
    """A matrix with its resolved account count."""
    return jsonify(in_session(matrix_service.get, slug))


@api.patch("/matrices/<slug>")
@bulk_json
def patch_matrix(slug: str):
    """Rename a matrix or replace its accounts, orgs or platforms."""
    matrix_service.require_manager(current())
    return jsonify(in_session(matrix_service.update, slug, json_body()))


@api.delete("/matrices/<slug>")
def delete_matrix(slug: str):
    """Delete a matrix (its accounts and past dispatches stay as they are)."""
    in_session(matrix_service.remove, slug)
    return jsonify({"slug": slug, "deleted": True})
