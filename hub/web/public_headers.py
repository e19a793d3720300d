"""Security headers of everything the hub serves without a login: item pages, feeds, media.

Item pages get a Content-Security-Policy that loads nothing but the hub's own stylesheet and
media: a body can carry no script, no external image and no frame, and the page itself cannot
be framed. The (already filtered) ``style`` attributes of a body are allowed through
``style-src-attr``; the admin's review page allows the same, so reviewers see what the public sees.
"""

from __future__ import annotations

from flask import Response

from ..services.html import origin_of

# Feeds and media are data, never a page: nothing runs or loads if one is opened directly.
DATA_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"


def hub_sources(public_url: str = "") -> str:
    """CSP sources for the hub's own files: this origin and the public URL's."""
    return " ".join(["'self'", *({origin_of(public_url)} - {""})])


def page_csp(public_url: str = "") -> str:
    hub = hub_sources(public_url)
    return (f"default-src 'none'; img-src {hub}; media-src {hub}; style-src {hub}; "
            "style-src-attr 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


def protect(response: Response, csp: str) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", csp)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response
