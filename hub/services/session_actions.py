"""Password login for the admin UI (a server-side session with its CSRF token), logout, and
changing one's own password, with their throttling and audit entries. Attempts are counted
before the password is checked (``throttle``: per name and address, per address, per name),
and a throttled attempt is refused (429, ``retry_after``) without checking it. The REST API's
/session routes and the admin's login, logout and password pages call these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..errors import ApiError
from ..infra.runtime import Runtime
from ..messages import Message
from ..models import User
from ..security.audit import record, record_separately
from ..security.auth import Principal
from . import orgs as org_service
from . import users as user_service
from .sessions import SESSION_TTL_S, namespace, store_for
from .throttle import LoginThrottle

LOGIN_FAILED = Message("login.failed")


@dataclass(frozen=True)
class Login:
    session_id: str  # the session cookie's value
    answer: dict[str, Any]  # the user, the session's CSRF token, its lifetime


def _throttle(runtime: Runtime) -> LoginThrottle:
    return LoginThrottle(runtime.redis, namespace(runtime))


def credentials(body: dict[str, Any], name_field: str, password_field: str) -> tuple[str, str]:
    name = body.get(name_field)
    password = body.get(password_field)
    if not isinstance(name, str) or not isinstance(password, str) or not name.strip() \
            or len(name) > 100 or len(password) > user_service.MAX_PASSWORD:
        raise ApiError(422, Message("login.fields", name_field=name_field,
                                    password_field=password_field), code="invalid")
    return name.strip(), password


def throttled(seconds: int) -> ApiError:
    return ApiError(429, f"登录失败次数过多，请{seconds}秒后再试 "
                         f"(too many failed logins; retry in {seconds} s)",
                    code="login_throttled", details={"retry_after": seconds})


def log_in(runtime: Runtime, body: dict[str, Any], address: str | None) -> Login:
    """A new session for the user whose {name, password} these are; 401 otherwise."""
    name, password = credentials(body, "name", "password")
    throttle = _throttle(runtime)
    attempt = throttle.reserve(name, address)
    if attempt.retry_after:
        record_separately(runtime.db, "login", outcome="throttled", source_ip=address,
                          details={"retry_after": attempt.retry_after})
        raise throttled(attempt.retry_after)
    with runtime.db.session() as session:
        user = user_service.verify_login(session, name, password)
        if user is not None:
            session_id, web = store_for(runtime).create(user.id)
            record(session, "login", target=user.id, actor_id=user.id, actor_name=user.name,
                   org_id=user.org_id, details={"method": "password"})
            answer = {"user": user_service.to_json(user,
                                                   org_service.slug_of(session, user.org_id)),
                      "csrf_token": web.csrf_token, "expires_in": SESSION_TTL_S}
    if user is None:
        throttle.failed(attempt)
        known = _known_name(runtime, name)
        record_separately(runtime.db, "login", outcome="failed", source_ip=address,
                          actor_name=name if known else None,
                          details={"method": "password", "known_name": known})
        raise ApiError(401, LOGIN_FAILED, code="login_failed", audited=True)
    throttle.succeeded(attempt)
    return Login(session_id=session_id, answer=answer)


def _known_name(runtime: Runtime, name: str) -> bool:
    """Whether ``name`` is a user's (a typed password must never land in the log as a name)."""
    with runtime.db.session() as session:
        return session.execute(select(User.id).where(User.name == name).limit(1)).first() \
            is not None


def whoami(runtime: Runtime, principal: Principal, session_id: str) -> dict[str, Any]:
    """The caller and, for a UI session, its CSRF token."""
    csrf = None
    if principal.via_session:
        web = store_for(runtime).get(session_id)
        csrf = web.csrf_token if web else None
    with runtime.db.session() as session:
        user = user_service.get(session, principal.user_id)
        return {"user": user_service.to_json(user, org_service.slug_of(session, user.org_id)),
                "csrf_token": csrf, "via": "session" if principal.via_session else "token"}


def log_out(runtime: Runtime, principal: Principal, session_id: str) -> dict[str, Any]:
    """End the UI session."""
    if principal.via_session:
        store_for(runtime).delete(session_id)
    with runtime.db.session() as session:
        record(session, "logout", target=principal.user_id)
    return {"logged_out": principal.via_session}


def change_password(runtime: Runtime, principal: Principal, body: dict[str, Any],
                    address: str | None) -> dict[str, Any]:
    """Change one's own password {current_password, new_password}; ends every UI session of
    the user. A wrong current password: 403 ``wrong_password``."""
    _, old = credentials({"name": principal.name, **body}, "name", "current_password")
    new = user_service.check_password(body.get("new_password"))
    throttle = _throttle(runtime)
    attempt = throttle.reserve(principal.name, address)
    if attempt.retry_after:
        raise throttled(attempt.retry_after)
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
        raise ApiError(403, Message("login.wrong_password"), code="wrong_password",
                       audited=True)
    throttle.succeeded(attempt)
    store_for(runtime).delete_user(principal.user_id)
    return {"changed": True}
