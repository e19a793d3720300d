"""Who is looking at a page: the hub's own session machinery, nothing new.

``hub.security.auth.authenticate`` resolves the session cookie (and enforces the session's CSRF token
on every POST form, field ``csrf_token``); the token itself comes from the session store. The
login form, posted before any session exists, carries a token kept in Flask's signed cookie.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import current_app, request, session, url_for

from hub.errors import ApiError
from hub.infra.runtime import Runtime
from hub.security.auth import Principal, authenticate
from hub.services.sessions import COOKIE, store_for

LOGIN_CSRF_KEY = "admin_login_csrf"


def runtime() -> Runtime:
    return current_app.extensions["yunchu"]


def principal_or_none() -> Principal | None:
    """The logged-in caller; None when there is no valid session. A POST without the session's
    CSRF token raises the API's 403 ``csrf_failed``."""
    with runtime().db.session() as db:
        try:
            return authenticate(db)
        except ApiError as err:
            if err.status == 401:
                return None
            raise


def session_csrf_token() -> str | None:
    """The CSRF token of the browser's UI session (None for a bearer-token caller)."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    web = store_for(runtime()).get(session_id)
    return web.csrf_token if web else None


def login_csrf_token() -> str:
    token = session.get(LOGIN_CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[LOGIN_CSRF_KEY] = token
    return token


def login_csrf_matches(presented: str | None) -> bool:
    expected = session.get(LOGIN_CSRF_KEY)
    return (isinstance(expected, str) and bool(expected) and bool(presented)
            and hmac.compare_digest(expected, presented or ""))


def rotate_login_csrf() -> None:
    session.pop(LOGIN_CSRF_KEY, None)


def safe_next(target: str | None) -> str:
    """Where to go after login: a path inside the admin UI, never another site."""
    home = url_for("admin.dashboard")
    if not target or target.startswith("//") or "\\" in target \
            or any(ord(ch) < 0x20 for ch in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(home):
        return home
    return target
