"""The unified account ledger (统一台账): the API's account list, filtered by platform, status
and org subtree. The API never returns credentials, so the page cannot show one."""

from __future__ import annotations

from flask import g, render_template, request

from hub.models import ACCOUNT_STATUSES
from hub.platforms import names as platform_names

from .. import apicall, queries
from ..blueprint import admin_blueprint
from ..web import runtime

PAGE = 100


@admin_blueprint.get("/accounts")
def accounts() -> str:
    where = {"platform": _one_of(request.args.get("platform"), platform_names()),
             "status": _one_of(request.args.get("status"), ACCOUNT_STATUSES),
             "inspection": _one_of(request.args.get("inspection"), ("failing", "passing")),
             "org": (request.args.get("org") or "").strip()[:64] or None}
    query = {**where, "descendants": "1", "limit": PAGE,
             "cursor": request.args.get("cursor") or None}
    data = apicall.call("GET", "/accounts", query=query).raise_for_status().data
    with runtime().db.session() as db:
        orgs = queries.org_choices(db, g.principal)
    return render_template("admin/accounts.html", rows=data.get("items", []),
                           next_cursor=data.get("next_cursor"), where=where, orgs=orgs,
                           platforms=platform_names(), statuses=ACCOUNT_STATUSES)


def _one_of(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None
