"""/api/v1/orgs. The rules are hub/services/org_actions.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify, request

from hub.security.auth import current
from hub.services import org_actions
from hub.validation import json_body, limit_arg

from ..request_limits import bulk_json
from . import api
from .common import in_session


@api.post("/orgs")
def create_org():
    return jsonify(in_session(org_actions.create, json_body())), 201


@api.post("/orgs/import")
@bulk_json
def import_orgs():
    org_actions.require_manager(current())  # before the body is read, as always
    return jsonify(in_session(org_actions.import_all, json_body().get("orgs")))


@api.get("/orgs/<slug>")
def get_org(slug: str):
    return jsonify(in_session(org_actions.get, slug))


@api.get("/orgs")
def list_orgs():
    org_actions.require_reader(current())
    limit = limit_arg()
    return jsonify(in_session(org_actions.list_page, parent=request.args.get("parent"),
                              kind=request.args.get("kind"), limit=limit,
                              cursor=request.args.get("cursor")))
