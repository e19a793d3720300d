"""Which platforms can be connected by authorisation, and the module that starts each."""

from __future__ import annotations

from . import wechat_component
from .base import Starter

STARTERS: dict[str, Starter] = {
    "wechat": wechat_component.start,
}


def starter_for(platform: str) -> Starter | None:
    return STARTERS.get(platform)
