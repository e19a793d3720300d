"""/api/v1/assets: uploads checked by content, stored by content hash. The rules are
hub/services/asset_actions.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify, request

from hub.errors import ApiError
from hub.messages import Message
from hub.security.auth import current
from hub.services import asset_actions

from ..request_limits import upload
from . import api
from .common import in_session, rt


@api.post("/assets")
@upload
def upload_asset():
    principal = current()
    asset_actions.require_uploader(principal)  # before the upload is read, as always
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(400, Message("assets.missing_file"), code="missing_file")
    runtime = rt()
    data = upload.read(runtime.settings.max_upload_bytes + 1)
    return jsonify(asset_actions.upload(runtime, principal, data)), 201


@api.get("/assets/<asset_id>")
def get_asset(asset_id: str):
    return jsonify(in_session(asset_actions.get, asset_id))
