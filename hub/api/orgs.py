"""/api/v1/orgs. The rules are hub/services/org_actions.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify, request

from ..auth import current
from ..request_limits import bulk_json
from ..services import org_actions
from ..validation import json_body, limit_arg
from . import api
from .common import rt


@api.post("/orgs")
def create_org():
    principal = current()
    body = json_body()
    with rt().db.session() as session:
        data = org_actions.create(session, principal, body)
    return jsonify(data), 201


@api.post("/orgs/import")
@bulk_json
def import_orgs():
    principal = current()
    org_actions.require_manager(principal)  # before the body is read, as always
    body = json_body()
    with rt().db.session() as session:
        data = org_actions.import_all(session, principal, body.get("orgs"))
    return jsonify(data)


@api.get("/orgs/<slug>")
def get_org(slug: str):
    principal = current()
    with rt().db.session() as session:
        data = org_actions.get(session, principal, slug)
    return jsonify(data)


@api.get("/orgs")
def list_orgs():
    principal = current()
    org_actions.require_reader(principal)
    limit = limit_arg()
    with rt().db.session() as session:
        data = org_actions.list_page(session, principal, parent=request.args.get("parent"),
                                     kind=request.args.get("kind"), limit=limit,
                                     cursor=request.args.get("cursor"))
    return jsonify(data)
