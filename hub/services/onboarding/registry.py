"""Which platforms can be connected by authorisation, and the module that starts each."""

from __future__ import annotations

from .base import Starter

STARTERS: dict[str, Starter] = {}


def starter_for(platform: str) -> Starter | None:
    return STARTERS.get(platform)
