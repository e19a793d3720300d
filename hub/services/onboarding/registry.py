"""Which platforms can be connected by authorisation, and the module that starts each."""

from __future__ import annotations

from . import oauth_douyin, oauth_weibo, wechat_component
from .base import Starter

STARTERS: dict[str, Starter] = {
    "wechat": wechat_component.start,
    "weibo": oauth_weibo.start,
    "douyin": oauth_douyin.start,
}

# Platforms that send the holder back to /oauth/<platform>/callback with a state and a code:
# the function that turns the code into a grant. WeChat's redirect has its own route.
OAUTH_EXCHANGES = {"weibo": oauth_weibo.exchange, "douyin": oauth_douyin.exchange}


def starter_for(platform: str) -> Starter | None:
    return STARTERS.get(platform)
