"""/api/v1/session: password login for the admin UI (server-side session cookie + CSRF token),
logout, and changing one's own password. The rules, throttling and audit entries are
hub/services/session_actions.py's; these routes parse, answer and set the cookie."""

from __future__ import annotations

from flask import Response, jsonify, request

from hub.errors import ApiError, error_response
from hub.messages import Message
from hub.security.auth import current
from hub.services import session_actions
from hub.services.cookies import clear_session_cookie, set_session_cookie
from hub.services.sessions import COOKIE
from hub.validation import json_body

from . import PUBLIC_ENDPOINTS, api
from .common import rt

PUBLIC_ENDPOINTS.add("api.login")


def _throttled(err: ApiError) -> Response:
    response = error_response(err)
    response.headers["Retry-After"] = str(err.details["retry_after"])
    return response


@api.post("/session")
def login():
    """Log in with name and password; sets the session cookie and returns the CSRF token."""
    if not request.is_json:  # a cross-site form cannot send JSON: no login CSRF
        raise ApiError(415, Message("login.json"))
    body = json_body()
    runtime = rt()
    try:
        done = session_actions.log_in(runtime, body, request.remote_addr)
    except ApiError as err:
        if err.status == 429:
            return _throttled(err)
        raise
    response = jsonify(done.answer)
    set_session_cookie(response, runtime.settings, done.session_id)
    return response


@api.get("/session")
def whoami():
    """The caller and, for a UI session, its CSRF token."""
    principal = current()
    return jsonify(session_actions.whoami(rt(), principal, request.cookies.get(COOKIE, "")))


@api.delete("/session")
def logout():
    """End the UI session (the CSRF token is required like on any state change)."""
    principal = current()
    runtime = rt()
    response = jsonify(session_actions.log_out(runtime, principal,
                                               request.cookies.get(COOKIE, "")))
    clear_session_cookie(response, runtime.settings)
    return response


@api.post("/session/password")
def change_password():
    """Change one's own password: {current_password, new_password}; ends every UI session."""
    principal = current()
    body = json_body()
    try:
        return jsonify(session_actions.change_password(rt(), principal, body,
                                                       request.remote_addr))
    except ApiError as err:
        if err.status == 429:
            return _throttled(err)
        raise
