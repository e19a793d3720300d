"""/api/v1/stats: reach figures of an item and of an account (hub/services/reach/stats.py)."""

from __future__ import annotations

from flask import jsonify, request

from hub.models import utcnow
from hub.services.reach import stats

from . import api
from .common import in_session


@api.get("/stats/items/<item_id>")
def item_stats(item_id: str):
    """An item's reach: totals, per platform, per org and per account (delivery), and the
    daily series, over the accounts of the caller's subtree; ``from``/``to``/``platform``."""
    start, end = stats.period(request.args.get("from"), request.args.get("to"), utcnow())
    platform = request.args.get("platform") or None
    stats.check_platform(platform)
    return jsonify(in_session(stats.item_stats, item_id, start=start, end=end,
                              platform=platform))


@api.get("/stats/accounts/<account_id>")
def account_stats(account_id: str):
    """An account's followers, posts (outside yunchu included) and reach per day."""
    start, end = stats.period(request.args.get("from"), request.args.get("to"), utcnow())
    return jsonify(in_session(stats.account_stats, account_id, start=start, end=end))
