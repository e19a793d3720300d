"""Public URLs of the hub: item pages, stored media, renditions."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request

from ..models import Asset


def public_base() -> str:
    settings = current_app.extensions["yunchu"].settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return ""


def item_url(item_id: str, base: str | None = None) -> str:
    return f"{public_base() if base is None else base}/p/{item_id}"


def wechat_callback_url(account_id: str, base: str | None = None) -> str:
    """The 服务器配置 URL a WeChat account points at the hub (``hub.callbacks``)."""
    return f"{public_base() if base is None else base}/callbacks/wechat/{account_id}"


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
