"""/api/v1/session: password login for the admin UI (server-side session cookie + CSRF token),
logout, and changing one's own password. Attempts are counted before the password is checked
(``services.throttle``: per name and address, per address, per name), and a throttled attempt
is answered 429 with Retry-After without checking it."""

from __future__ import annotations

from flask import g, jsonify, request
from sqlalchemy import select

from ..audit import record, record_separately
from ..auth import current
from ..errors import ApiError, error_response
from ..messages import Message
from ..models import User
from ..services import orgs as org_service
from ..services import users as user_service
from ..services.cookies import cookies_secure
from ..services.sessions import COOKIE, SESSION_TTL_S, namespace, store_for
from ..services.throttle import LoginThrottle
from ..validation import json_body
from . import PUBLIC_ENDPOINTS, api
from .common import rt

PUBLIC_ENDPOINTS.add("api.login")

LOGIN_FAILED = Message("login.failed")


def _throttle() -> LoginThrottle:
    runtime = rt()
    return LoginThrottle(runtime.redis, namespace(runtime))


def _credentials(body: dict, name_field: str, password_field: str) -> tuple[str, str]:
    name = body.get(name_field)
    password = body.get(password_field)
    if not isinstance(name, str) or not isinstance(password, str) or not name.strip() \
            or len(name) > 100 or len(password) > user_service.MAX_PASSWORD:
        raise ApiError(422, Message("login.fields", name_field=name_field,
                                    password_field=password_field), code="invalid")
    return name.strip(), password


def _throttled(seconds: int):
    response = error_response(ApiError(429, f"登录失败次数过多，请{seconds}秒后再试 "
                                            f"(too many failed logins; retry in {seconds} s)",
                                       code="login_throttled",
                                       details={"retry_after": seconds}))
    response.headers["Retry-After"] = str(seconds)
    return response


@api.post("/session")
def login():
    """Log in with name and password; sets the session cookie and returns the CSRF token."""
    if not request.is_json:  # a cross-site form cannot send JSON: no login CSRF
        raise ApiError(415, Message("login.json"))
    body = json_body()
    name, password = _credentials(body, "name", "password")
    runtime = rt()
    throttle = _throttle()
    address = request.remote_addr
    attempt = throttle.reserve(name, address)
    if attempt.retry_after:
        record_separately(runtime.db, "login", outcome="throttled", source_ip=address,
                          details={"retry_after": attempt.retry_after})
        g.audit_recorded = True
        return _throttled(attempt.retry_after)
    with runtime.db.session() as session:
        user = user_service.verify_login(session, name, password)
        if user is not None:
            session_id, web = store_for(runtime).create(user.id)
            record(session, "login", target=user.id, actor_id=user.id, actor_name=user.name,
                   org_id=user.org_id, details={"method": "password"})
            data = {"user": user_service.to_json(user, org_service.slug_of(session, user.org_id)),
                    "csrf_token": web.csrf_token, "expires_in": SESSION_TTL_S}
    if user is None:
        throttle.failed(attempt)
        known = _known_name(name)
        record_separately(runtime.db, "login", outcome="failed", source_ip=address,
                          actor_name=name if known else None,
                          details={"method": "password", "known_name": known})
        g.audit_recorded = True
        raise ApiError(401, LOGIN_FAILED, code="login_failed")
    throttle.succeeded(attempt)
    response = jsonify(data)
    response.set_cookie(COOKIE, session_id, max_age=SESSION_TTL_S, httponly=True,
                        secure=cookies_secure(runtime.settings), samesite="Strict", path="/")
    return response


def _known_name(name: str) -> bool:
    """Whether ``name`` is a user's (a typed password must never land in the log as a name)."""
    with rt().db.session() as session:
        return session.execute(select(User.id).where(User.name == name).limit(1)).first() \
            is not None


@api.get("/session")
def whoami():
    """The caller and, for a UI session, its CSRF token."""
    principal = current()
    runtime = rt()
    csrf = None
    if principal.via_session:
        web = store_for(runtime).get(request.cookies.get(COOKIE, ""))
        csrf = web.csrf_token if web else None
    with runtime.db.session() as session:
        user = user_service.get(session, principal.user_id)
        data = {"user": user_service.to_json(user, org_service.slug_of(session, user.org_id)),
                "csrf_token": csrf, "via": "session" if principal.via_session else "token"}
    return jsonify(data)


@api.delete("/session")
def logout():
    """End the UI session (the CSRF token is required like on any state change)."""
    principal = current()
    runtime = rt()
    if principal.via_session:
        store_for(runtime).delete(request.cookies.get(COOKIE, ""))
    with runtime.db.session() as session:
        record(session, "logout", target=principal.user_id)
    response = jsonify({"logged_out": principal.via_session})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict",
                           secure=cookies_secure(runtime.settings))
    return response


@api.post("/session/password")
def change_password():
    """Change one's own password: {current_password, new_password}; ends every UI session."""
    principal = current()
    body = json_body()
    _, old = _credentials({"name": principal.name, **body}, "name", "current_password")
    new = user_service.check_password(body.get("new_password"))
    runtime = rt()
    throttle = _throttle()
    attempt = throttle.reserve(principal.name, request.remote_addr)
    if attempt.retry_after:
        return _throttled(attempt.retry_after)
    with runtime.db.session() as session:
        user = user_service.verify_login(session, principal.name, old)
        ok = user is not None and user.id == principal.user_id
        if ok:
            user_service.update(session, user, {"password": new})
            record(session, "user.password", target=user.id, details={"by": "self"})
    if not ok:
        throttle.failed(attempt)
        record_separately(runtime.db, "user.password", outcome="failed",
                          target=principal.user_id, details={"by": "self"})
        g.audit_recorded = True
        raise ApiError(403, Message("login.wrong_password"), code="wrong_password")
    throttle.succeeded(attempt)
    store_for(runtime).delete_user(principal.user_id)
    return jsonify({"changed": True})
