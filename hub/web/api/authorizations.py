"""/api/v1/orgs/<slug>/authorizations and /api/v1/authorizations/<id>: 扫码授权 attempts. The
rules are hub/services/authorization_actions.py's; these routes parse and answer."""

from __future__ import annotations

from flask import Response, jsonify

from hub.security.auth import current
from hub.services import authorization_actions
from hub.validation import json_body

from . import api
from .common import rt


@api.post("/orgs/<slug>/authorizations")
def start_authorization(slug: str):
    principal = current()
    body = json_body()
    runtime = rt()
    with runtime.db.session() as session:
        data = authorization_actions.start(runtime, session, principal, slug, body)
    return jsonify(data), 201


@api.get("/authorizations/<attempt_id>")
def get_authorization(attempt_id: str):
    principal = current()
    runtime = rt()
    with runtime.db.session() as session:
        return jsonify(authorization_actions.get(runtime, session, principal, attempt_id))


@api.get("/authorizations/<attempt_id>/qr.png")
def authorization_qr_png(attempt_id: str):
    return _qr(attempt_id, "png", "image/png")


@api.get("/authorizations/<attempt_id>/qr.svg")
def authorization_qr_svg(attempt_id: str):
    return _qr(attempt_id, "svg", "image/svg+xml")


def _qr(attempt_id: str, kind: str, mimetype: str) -> Response:
    principal = current()
    runtime = rt()
    with runtime.db.session() as session:
        image = authorization_actions.qr(runtime, session, principal, attempt_id, kind)
    response = Response(image, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"  # it encodes a one-time link
    return response
