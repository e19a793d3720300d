"""Whether the cookies of this request (the session cookie, the admin's signed Flask cookie,
its language choice) get ``Secure``: ``YUNCHU_SECURE_COOKIES`` ``on`` or ``off``, or ``auto``
(the default): on when the request came over https (behind a TLS proxy that needs
``YUNCHU_PROXY_HOPS``, so its ``X-Forwarded-Proto`` counts) or the public URL is https."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import request
from flask.sessions import SecureCookieSessionInterface

from .sessions import COOKIE, SESSION_TTL_S

if TYPE_CHECKING:
    from flask import Flask, Response

    from ..infra.config import Settings

SECURE_COOKIE_MODES = ("auto", "on", "off")


def cookies_secure(settings: Settings) -> bool:
    if settings.secure_cookies == "on":
        return True
    if settings.secure_cookies == "off":
        return False
    return request.is_secure or settings.public_url.startswith("https://")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, ``Secure`` by the same rule as every other cookie."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookies_secure(app.extensions["yunchu"].settings)


def set_session_cookie(response: Response, settings: Settings, session_id: str) -> None:
    """The UI session's cookie: HttpOnly, SameSite=Strict, for the whole site."""
    response.set_cookie(COOKIE, session_id, max_age=SESSION_TTL_S, httponly=True,
                        secure=cookies_secure(settings), samesite="Strict", path="/")


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict",
                           secure=cookies_secure(settings))
