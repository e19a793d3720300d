"""The dashboard: what is in the caller's scope at a glance."""

from __future__ import annotations

from flask import g, render_template

from hub.models import ACCOUNT_STATUSES, ITEM_STATUSES
from hub.platforms import names as platform_names
from hub.services import dashboard as dashboard_service

from ..blueprint import admin_blueprint
from ..web import runtime


@admin_blueprint.get("/")
def dashboard() -> str:
    with runtime().db.session() as db:
        board = dashboard_service.build(db, g.principal)
    return render_template("admin/dashboard.html", board=board, item_statuses=ITEM_STATUSES,
                           platforms=platform_names(), account_statuses=ACCOUNT_STATUSES)


@admin_blueprint.route("/<path:unknown>", methods=["GET", "POST"])
def not_found(unknown: str) -> str:
    """Any other address under /admin/: the admin's own 404 page."""
    from werkzeug.exceptions import NotFound

    raise NotFound()
