"""/api/v1/safety: the versioned negative list (负面清单) and the rescan of live items. The
rules are hub/services/safety_actions.py's; these routes parse and answer."""

from __future__ import annotations

from flask import jsonify

from hub.security.auth import current
from hub.services import safety_actions
from hub.validation import json_body

from ..request_limits import bulk_json
from . import api
from .common import in_session


@api.get("/safety/terms")
def get_safety_terms():
    """The current negative list: terms by category, canonical names, version."""
    return jsonify(in_session(safety_actions.current))


@api.put("/safety/terms")
@bulk_json
def put_safety_terms():
    """Replace the list: {version: current + 1, terms: [{term, category, action}],
    canonical_names?}. 409 when ``version`` is not the next one. The answer carries ``rescan``:
    the live items that hit the new list."""
    safety_actions.require_editor(current())  # before the body is read, as always
    return jsonify(in_session(safety_actions.replace, json_body()))


@api.post("/safety/rescan")
def rescan_safety():
    """Screen every live item (approved, not withdrawn) in the caller's subtree against the
    current list; lists those that hit, so an administrator can withdraw them."""
    safety_actions.require_rescanner(current())
    json_body()
    return jsonify(in_session(safety_actions.rescan))
