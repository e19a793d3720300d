"""The dashboard: what is in the caller's scope at a glance."""

from __future__ import annotations

from flask import g, render_template

from hub.models import ACCOUNT_STATUSES, ITEM_STATUSES
from hub.platforms import names as platform_names
from hub.security.permissions import may
from hub.services import account_actions
from hub.services import dashboard as dashboard_service

from ..blueprint import admin_blueprint
from ..web import runtime


@admin_blueprint.get("/")
def dashboard() -> str:
    with runtime().db.session() as db:
        board = dashboard_service.build(db, g.principal)
        auth = _auth_health(db) if may(g.principal, "account.read") else None
    return render_template("admin/dashboard.html", board=board, item_statuses=ITEM_STATUSES,
                           platforms=platform_names(), account_statuses=ACCOUNT_STATUSES,
                           auth=auth)


AUTH_ROWS = 20


def _auth_health(db) -> dict:
    """Accounts whose access stops within the window, and those whose access is gone."""
    days = runtime().settings.auth_expiring_days
    lists = {}
    for name in ("expiring", "revoked", "expired"):
        rows, more = account_actions.list_page(
            db, g.principal, platform=None, status=None, inspection=None, org=None,
            descendants=True, window_days=14, limit=AUTH_ROWS, cursor=None, auth=name,
            expiring_days=days)
        lists[name] = {"rows": rows, "more": more is not None}
    return {"days": days, **lists}


@admin_blueprint.route("/<path:unknown>", methods=["GET", "POST"])
def not_found(unknown: str) -> str:
    """Any other address under /admin/: the admin's own 404 page."""
    from werkzeug.exceptions import NotFound

    raise NotFound()
