"""Public URLs of the hub: item pages, stored media, renditions."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request

from ..models import Asset
from .html import origin_of, sanitise


def public_base() -> str:
    settings = current_app.extensions["yunchu"].settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return ""


def hub_origins() -> frozenset[str]:
    """Origins whose ``/media/...`` links are this hub's own: the public URL and, without one,
    the host the request came in on."""
    return frozenset({origin_of(public_base())} - {""})


def public_body(body_html: str, base: str | None = None) -> str:
    """The body as every reader gets it (public page, feeds, channels, API, admin review):
    sanitised again on the way out, hub media linked absolutely under ``base``."""
    return sanitise(body_html, base=public_base() if base is None else base)


def item_url(item_id: str, base: str | None = None) -> str:
    return f"{public_base() if base is None else base}/p/{item_id}"


def callback_url(platform: str, account_id: str, base: str | None = None) -> str:
    """Where an account of a platform with events points them at the hub (``hub.web.callbacks``),
    e.g. a WeChat account's 服务器配置 URL."""
    return f"{public_base() if base is None else base}/callbacks/{platform}/{account_id}"


def media_url(asset_id: str, spec: str | None = None, base: str | None = None) -> str:
    root = public_base() if base is None else base
    return f"{root}/media/{asset_id}" + (f"/{spec}" if spec else "")


def asset_json(asset: Asset) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": asset.id, "kind": asset.kind, "content_type": asset.content_type,
        "bytes": asset.bytes, "sha256": asset.sha256, "width": asset.width,
        "height": asset.height, "url": media_url(asset.id),
    }
    if asset.duration_s is not None:
        data["duration_s"] = asset.duration_s
    return data
