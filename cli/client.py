"""A small JSON client for the hub's own API, used by the CLI (push, withdraw, demo)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class HubError(Exception):
    def __init__(self, status: int, body: dict[str, Any]):
        error = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(f"{status} {error.get('code', '')}: {error.get('message', body)}")
        self.status = status
        self.body = body


class HubClient:
    def __init__(self, url: str, token: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None) -> Any:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {token or self.token}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            try:
                payload = json.loads(err.read() or b"{}")
            except ValueError:
                payload = {}
            raise HubError(err.code, payload) from None

    def upload(self, data: bytes, filename: str, content_type: str) -> dict[str, Any]:
        boundary = "yunchu-demo-boundary"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").encode() \
            + data + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            self.url + "/api/v1/assets", data=body, method="POST",
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": f"multipart/form-data; boundary={boundary}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise HubError(err.code, json.loads(err.read() or b"{}")) from None
