"""/api/v1/items/<id>/withdraw/preview: what a withdrawal by the caller would do."""

from __future__ import annotations

from flask import jsonify

from ..auth import current
from ..fanout.rights import withdrawal_scope
from ..fanout.withdraw import preview as withdraw_preview
from ..services import items as item_service
from . import api
from .common import rt


@api.post("/items/<item_id>/withdraw/preview")
def preview_withdraw(item_id: str):
    """What a withdrawal by this caller would do, without doing it: copies to remove by
    platform, sends to cancel, items covered; ``total`` is what ``expected_total`` confirms."""
    principal = current()
    with rt().db.session() as session:
        item = item_service.get(session, item_id)
        data = withdraw_preview(session, item, withdrawal_scope(session, principal, item))
    return jsonify(data)
