"""Public feeds: ``/feeds/<org-slug>.{rss,atom,json}`` and ``/feeds/library.{rss,atom,json}``.

No token needed. Computed from the database on every request, so a withdrawal drops the item
at once; ``ETag`` (a hash of the body) and ``Last-Modified`` let clients poll cheaply with
conditional GETs (304). ``Cache-Control: no-cache`` makes shared caches revalidate every time.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, request

from channels.feed_formats import CONTENT_TYPES, render

from ..services import feed_entries as feed_service
from ..services.media_urls import public_base
from .public_headers import DATA_CSP, protect

feeds = Blueprint("feeds", __name__)


@feeds.get("/feeds/<slug>.<any(rss, atom, json):fmt>")
def feed(slug: str, fmt: str) -> Response:
    runtime = current_app.extensions["yunchu"]
    with runtime.db.session() as session:
        data = feed_service.build(session, slug, base=public_base())
    body = render(data, fmt)
    response = Response(body, content_type=CONTENT_TYPES[fmt])
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.last_modified = data.updated
    response.headers["Cache-Control"] = "public, no-cache"
    return protect(response.make_conditional(request), DATA_CSP)
