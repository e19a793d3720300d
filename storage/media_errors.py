"""Why an upload was refused. ``reason`` is shown to editors as is (Chinese first)."""

from __future__ import annotations


class MediaError(Exception):
    http_status = 400

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class UnsupportedMedia(MediaError):
    """Not an image or video we accept, judged by its content (HTTP 415)."""

    http_status = 415


class MediaTooLarge(MediaError):
    """Too many bytes, or too many pixels once decoded (HTTP 413)."""

    http_status = 413
