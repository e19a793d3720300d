"""The unified account ledger (统一台账): the API's account list (the same service call,
hub/services/account_actions.py), filtered by platform, status and org subtree. It never
returns credentials, so the page cannot show one."""

from __future__ import annotations

from flask import g, render_template, request

from hub.models import ACCOUNT_STATUSES
from hub.platforms import names as platform_names
from hub.services import account_actions, authorization_actions, org_actions
from hub.services.auth_health import FILTERS as AUTH_FILTERS
from hub.services.inspection import WINDOW_DAYS

from ..blueprint import admin_blueprint
from ..web import runtime

PAGE = 100


@admin_blueprint.get("/accounts")
def accounts() -> str:
    where = {"platform": _one_of(request.args.get("platform"), platform_names()),
             "status": _one_of(request.args.get("status"), ACCOUNT_STATUSES),
             "inspection": _one_of(request.args.get("inspection"), ("failing", "passing")),
             "auth": _one_of(request.args.get("auth"), AUTH_FILTERS),
             "org": (request.args.get("org") or "").strip()[:64] or None}
    with runtime().db.session() as db:
        rows, next_cursor = account_actions.list_page(
            db, g.principal, **where, descendants=True, window_days=WINDOW_DAYS, limit=PAGE,
            cursor=request.args.get("cursor"),
            expiring_days=runtime().settings.auth_expiring_days)
        orgs = org_actions.choices(db, g.principal)
    return render_template("admin/accounts.html", rows=rows, next_cursor=next_cursor,
                           where=where, orgs=orgs, auth_filters=AUTH_FILTERS,
                           connectable=authorization_actions.connectable(),
                           authorize_org=where["org"] or _own_org(orgs),
                           platforms=platform_names(), statuses=ACCOUNT_STATUSES)


def _own_org(orgs: list[tuple[str, str]]) -> str | None:
    """Where 授权接入 starts without an org filter: the caller's own org (the first of its
    subtree by path); none for a province-wide user, who picks an org first."""
    return orgs[0][0] if g.principal.org_id is not None and orgs else None


def _one_of(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None
