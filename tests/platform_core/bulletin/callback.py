"""The notice board's event hook: it only says which account an event was for."""

from __future__ import annotations

from flask import Response


def notice_event(account_id: str) -> Response:
    return Response(f"bulletin event for {account_id}", mimetype="text/plain")
