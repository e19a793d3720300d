"""Calls to the platforms' OAuth endpoints from synchronous code (a callback request, the
refresher job): one guarded client per use, under the hub's outbound policy, answers read
whole. Token endpoints answer with tokens, so nothing here logs a body or a form."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp

from adapters.http import HttpReply, call
from adapters.outbound import guarded_session

from ...infra.config import Settings
from ...security.outbound_policy import policy_for


class PlatformUnreachable(Exception):
    """The platform could not be asked (network, refused by the outbound policy)."""


def post_form(settings: Settings, platform: str, url: str,
              form: Mapping[str, str]) -> HttpReply:
    return asyncio.run(_send(settings, platform, "POST", url, data=dict(form)))


def get(settings: Settings, platform: str, url: str, params: Mapping[str, str]) -> HttpReply:
    return asyncio.run(_send(settings, platform, "GET", url, params=dict(params)))


async def _send(settings: Settings, platform: str, method: str, url: str,
                **kwargs: Any) -> HttpReply:
    timeout = aiohttp.ClientTimeout(total=settings.http_timeout_s,
                                    connect=min(5.0, settings.http_timeout_s))
    async with guarded_session(policy_for(settings), limit=4) as session:
        try:
            return await call(session, method, url, platform=platform, timeout=timeout, **kwargs)
        except Exception as err:  # noqa: BLE001 - the adapters' errors and the client's alike
            raise PlatformUnreachable(type(err).__name__) from None


def json_of(reply: HttpReply) -> dict[str, Any]:
    return reply.json if isinstance(reply.json, dict) else {}
