"""Platform answers that arrived before the hub could use them, kept in Redis for a day.

A platform's "publish finished" event (WeChat's PUBLISHJOBFINISH) can arrive before the worker
has recorded the publish (it writes outcomes up to a second later). The event is parked here;
the next status poll or withdrawal of that delivery takes it instead of asking the platform.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import orjson

from adapters.base import Receipt

PARKED_PREFIX = "yunchu:event:"
PARKED_TTL_S = 86400


def parked_key(platform: str, account_id: str, remote_id: str) -> str:
    return f"{PARKED_PREFIX}{platform}:{account_id}:{remote_id}"


def park(connection: Any, platform: str, account_id: str, remote_id: str,
         receipt: Receipt) -> None:
    connection.set(parked_key(platform, account_id, remote_id), orjson.dumps(
        {"remote_id": receipt.remote_id, "url": receipt.url, "state": receipt.state,
         "extra": receipt.extra}), ex=PARKED_TTL_S)


async def take(redis: Any, platform: str,
               rows: Sequence[tuple[str, str, str]]) -> dict[str, Receipt]:
    """The parked answers for (delivery id, account id, remote id) rows, by delivery id; the
    keys found are deleted (each answer is used once). One MGET for the whole batch."""
    if not rows or redis is None:
        return {}
    keys = [parked_key(platform, account_id, remote_id) for _, account_id, remote_id in rows]
    try:
        values = await redis.mget(keys)
    except Exception:  # noqa: BLE001 - only a saving: without it the platform is asked
        return {}
    found: dict[str, Receipt] = {}
    for (delivery_id, _, _), value in zip(rows, values, strict=True):
        if value:
            raw = orjson.loads(value)
            found[delivery_id] = Receipt(remote_id=raw["remote_id"], url=raw["url"],
                                         state=raw["state"], extra=raw["extra"])
    if found:
        # On failure the keys expire by themselves; a second reader acts on the same answer.
        with contextlib.suppress(Exception):
            await redis.delete(*(k for k, v in zip(keys, values, strict=True) if v))
    return found
