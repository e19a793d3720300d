"""Withdraw wins: the rule, and the layers that enforce it.

The rule: once an item is withdrawn, none of its deliveries goes out any more, and every one
that is or may be live is removed. ``after_withdrawal`` says it for one delivery: the state a
row takes when its item was withdrawn while it was being published.

A withdrawal can land at any moment of a delivery's life, so one check cannot hold the rule;
each layer below covers one window, and each applies the same rule:

0. While the click is written (``hold``): writing a province-wide withdrawal takes seconds,
   and sends must not start meanwhile. The API raises a Redis *hold* on the items before the
   transaction and drops it after; a batch that sees it sends nothing of those items, putting
   them back as ``retry`` a moment later (``policy.held``): the withdrawal, once committed,
   turns them into ``cancelled`` (layer 4); a withdrawal that failed lets them go out.
1. At rest (``withdraw.withdraw``): one transaction marks the items withdrawn, cancels the
   rows not yet started and queues a removal for those that are or may be live
   (``CANCELLED_IF_WAITING``, ``MAYBE_LIVE``); a row being sent gets the withdrawal's id.
2. At the claim: a claimed row that already carries a withdrawal id is cancelled
   (``Claimed.withdrawing``; see ``Fence.blocks``).
3. During the batch, before each send (``Fence``): the Redis fence the API raises with the
   withdrawal, polled every 0.1 s, and, because Redis can lose it, the items' status in the
   database re-read every ``RECHECK_S``.
4. At the write (``claims.record``): the outcome of a send that was already under way is
   written through ``after_withdrawal`` when the row carries a withdrawal id (a SQL CASE,
   under the row lock), so a post that went out is queued for removal at once.
5. After a worker died (``claims.stale_leases``): its rows being sent go the same way.

Layers 1, 4 and 5 make the database right whatever the timing; 2 and 3 only keep posts that
would be removed again from going out at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from sqlalchemy import select

from ..infra.db import Database
from ..models import Item
from .vocabulary import DeliveryState, Lookup

if TYPE_CHECKING:
    from .claims import Claimed

S = DeliveryState

FENCE_PREFIX = "yunchu:fence:"
FENCE_TTL_S = 7 * 86400
HOLD_PREFIX = "yunchu:hold:"
# A hold outlives any withdrawal transaction; if the API dies before dropping it, sends of the
# item resume this long after (nothing is lost: they were only put back as retries).
HOLD_TTL_S = 120
HOLD_RETRY_S = 1.0  # a held send is tried again this long after
WATCH_S = 0.1  # the Redis fence is read this often while a publish batch runs
RECHECK_S = 5.0  # ... and the items' status in the database this often

# Layer 1: rows at rest when the withdrawal commits.
CANCELLED_IF_WAITING = (S.SCHEDULED, S.QUEUED)
MAYBE_LIVE = (S.PUBLISHED, S.PENDING_REVIEW)


def after_withdrawal(state: DeliveryState, lookup: Lookup) -> DeliveryState:
    """The state a publish outcome (``state``, ``lookup``) becomes when its item was withdrawn
    meanwhile: what is or may be live is removed, what never went out is cancelled."""
    if state.is_live:
        return S.WITHDRAW_QUEUED
    if state in (S.RETRY, S.FAILED) and lookup is Lookup.NEEDED:
        return S.WITHDRAW_QUEUED  # sent but unanswered may be live: look it up and remove it
    if state is S.RETRY:
        return S.CANCELLED  # it never went out
    return state


def fence_keys(item_ids: Iterable[str]) -> list[str]:
    return [FENCE_PREFIX + item_id for item_id in item_ids]


def hold_keys(item_ids: Iterable[str]) -> list[str]:
    return [HOLD_PREFIX + item_id for item_id in item_ids]


class Fence:
    """Layers 2 and 3 for one publish batch: which of its items were withdrawn."""

    def __init__(self, redis: aioredis.Redis, db: Database, item_ids: Iterable[str]):
        self.redis, self.db = redis, db
        self.items = sorted(set(item_ids))
        self.withdrawn: set[str] = set()
        self.held: set[str] = set()

    def blocks(self, c: Claimed) -> bool:
        """Whether ``c`` must not be sent: its item was withdrawn."""
        return c.withdrawing or c.item_id in self.withdrawn

    def holds(self, c: Claimed) -> bool:
        """Whether ``c`` must wait: a withdrawal of its item is being written (layer 0)."""
        return c.item_id in self.held

    async def check(self) -> None:
        count = len(self.items)
        values = await self.redis.mget(fence_keys(self.items) + hold_keys(self.items))
        self.withdrawn.update(i for i, v in zip(self.items, values[:count], strict=True) if v)
        self.held = {i for i, v in zip(self.items, values[count:], strict=True) if v}

    async def recheck(self) -> None:
        """The Redis fence can be lost with Redis; the items' status in the database cannot."""
        self.withdrawn.update(await asyncio.to_thread(self._withdrawn_in_database))

    def _withdrawn_in_database(self) -> list[str]:
        with self.db.session() as session:
            return list(session.execute(select(Item.id).where(
                Item.id.in_(self.items), Item.status == "withdrawn")).scalars())
