"""The admin blueprint: language choice, the login gate, page globals, security headers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, redirect, request, url_for
from flask.blueprints import BlueprintSetupState

from hub.security.audit import record_separately
from hub.security.auth import Principal
from hub.security.permissions import may
from hub.services import org_actions
from hub.services.cookies import cookies_secure
from hub.web.public_headers import hub_sources

from . import i18n
from .timefmt import local_time
from .web import principal_or_none, runtime, session_csrf_token

admin_blueprint = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
                            static_folder="static", static_url_path="/static")

PUBLIC_ENDPOINTS = frozenset({"admin.login", "admin.static"})
# Item bodies load media and style exactly as on the public page (hub/web/public_headers.py):
# what reviewers approve is what the public sees.
CSP = ("default-src 'self'; img-src {hub}; media-src {hub}; style-src 'self'; "
       "style-src-attr 'unsafe-inline'; script-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
LANG_COOKIE_AGE = 365 * 24 * 3600


@admin_blueprint.record_once
def _install_catalogs(state: BlueprintSetupState) -> None:
    i18n.install(state.app)


def _pick_lang() -> tuple[str, bool]:
    """(language, chosen now): ?lang= wins and is remembered, then the cookie, then Chinese."""
    asked = request.args.get("lang")
    if asked in i18n.LANGS:
        return asked, True
    remembered = request.cookies.get(i18n.LANG_COOKIE)
    return (remembered if remembered in i18n.LANGS else i18n.DEFAULT_LANG), False


@admin_blueprint.before_request
def _gate() -> Response | None:
    g.lang, g.lang_chosen = _pick_lang()
    g.principal = None
    g.csrf_token = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    principal = principal_or_none()  # a POST without the session's CSRF token: 403 here
    if principal is None:
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("admin.login", next=target), 303)  # type: ignore[return-value]
    g.principal = principal
    g.csrf_token = session_csrf_token()
    return None


@admin_blueprint.after_request
def _finish(response: Response) -> Response:
    if getattr(g, "lang_chosen", False):
        response.set_cookie(i18n.LANG_COOKIE, g.lang, max_age=LANG_COOKIE_AGE, httponly=True,
                            samesite="Lax", secure=cookies_secure(runtime().settings), path="/")
    if response.status_code == 403 and not getattr(g, "audit_recorded", False):
        # Denials not already recorded by the API: a missing CSRF token, or a rule of a
        # service the page called (the same code and action the API's entry would carry).
        details = {"method": request.method, "path": request.path, "status": 403,
                   "code": getattr(g, "error_code", None), "via": "admin"}
        if getattr(g, "denied_action", None):
            details["action"] = g.denied_action
        record_separately(runtime().db, "access.denied", outcome="denied",
                          target=request.path[:200], details=details)
        g.audit_recorded = True
    headers = response.headers
    headers.setdefault("Content-Security-Policy",
                       CSP.format(hub=hub_sources(runtime().settings.public_url)))
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "admin.static":
        headers["Cache-Control"] = "no-store"
    return response


@admin_blueprint.context_processor
def _page_globals() -> dict[str, Any]:
    principal: Principal | None = getattr(g, "principal", None)
    return {"t": i18n.t, "label": i18n.label, "localise": i18n.localise, "when": local_time,
            "lang": i18n.current_lang(), "lang_switch_url": _lang_switch_url,
            "principal": principal, "principal_org": _org_name(principal),
            "csrf_token": getattr(g, "csrf_token", None) or "",
            "may": lambda action: principal is not None and may(principal, action)}


def _org_name(principal: Principal | None) -> str | None:
    if principal is None or principal.org_id is None:
        return None
    with runtime().db.session() as db:
        return org_actions.own_name(db, principal)


def _lang_switch_url() -> str:
    other = "en" if i18n.current_lang() == "zh" else "zh"
    if request.method != "GET" or request.endpoint is None:
        return url_for("admin.dashboard", lang=other)
    args = {k: v for k, v in request.args.items() if k != "lang"}
    return url_for(request.endpoint, **(request.view_args or {}), **args, lang=other)
