"""/api/v1/users"""

from __future__ import annotations

from flask import jsonify

from ..audit import record
from ..auth import current
from ..permissions import require
from ..services import orgs as org_service
from ..services import users as user_service
from ..validation import json_body, text
from . import api
from .common import rt


@api.post("/users")
def create_user():
    """Create a user; the answer carries its bearer token, shown this once."""
    principal = current()
    body = json_body()
    name = text(body, "name", max_len=100)
    assert name is not None
    roles, stage = user_service.parse_roles(body.get("roles"), body.get("review_stage"))
    with rt().db.session() as session:
        org_slug = text(body, "org", max_len=64, required=False)
        org = org_service.get_by_slug(session, org_slug) if org_slug else None
        require(principal, "user.manage", org_path=org.path if org else "/")
        user, token = user_service.create(session, org=org, name=name, roles=roles,
                                          review_stage=stage, password=body.get("password"))
        record(session, "token.issue", target=user.id, details={"roles": roles})
        data = {**user_service.to_json(user, org.slug if org else None), "token": token}
    return jsonify(data), 201
