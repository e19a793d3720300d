"""The withdrawal fence: once an item is withdrawn, no publish batch sends it again.

A withdrawal raises a Redis key per item (``yunchu:fence:<item>``) right after its transaction
commits. Every publish batch reads those keys before it starts and every 0.1 s while it runs,
and cancels the deliveries of fenced items (outcome ``cancelled``/``fenced``). Redis can lose
the keys; the items' status in the database cannot, so a batch also re-reads it every
``FENCE_RECHECK_S``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Item

log = logging.getLogger("yunchu.fanout")

FENCE_PREFIX = "yunchu:fence:"
FENCE_TTL_S = 7 * 86400
# A publish batch re-reads its items' status this often, behind the Redis fence it watches.
FENCE_RECHECK_S = 5.0


def raise_fence(client: redis.Redis, item_ids: Iterable[str]) -> None:
    """Fence the items in Redis; a Redis error is logged, the database fence still holds."""
    try:
        pipe = client.pipeline(transaction=False)
        for item_id in item_ids:
            pipe.set(FENCE_PREFIX + item_id, 1, ex=FENCE_TTL_S)
        pipe.execute()
    except Exception as err:  # noqa: BLE001 - the database fence (item status) still holds
        log.warning("could not set the Redis withdrawal fence (%s)", type(err).__name__)


async def fenced_in_redis(client: aioredis.Redis, item_ids: set[str]) -> set[str]:
    """The items among ``item_ids`` whose Redis fence is up."""
    ordered = list(item_ids)
    values = await client.mget([FENCE_PREFIX + i for i in ordered])
    return {i for i, v in zip(ordered, values, strict=True) if v}


def withdrawn_in_database(session: Session, item_ids: set[str]) -> list[str]:
    """The items among ``item_ids`` the database says are withdrawn (the fence Redis can lose)."""
    return list(session.execute(select(Item.id).where(
        Item.id.in_(item_ids), Item.status == "withdrawn")).scalars())
