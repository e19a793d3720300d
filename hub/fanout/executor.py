"""The executor: one per worker process. It owns the resources (pooled HTTP client, adapters,
Redis, rate limiter, heartbeat), admits batches as there is room, prepares each (claim,
accounts, renders) and makes one delivery's calls, asking ``policy`` at each step what
became of it. ``Batch`` writes the outcomes; ``fence`` keeps withdrawn items from going out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import redis
import redis.asyncio as aioredis
from sqlalchemy import Row

from adapters.base import (
    AccountRef,
    AdapterError,
    Receipt,
    Withheld,
    reset_go_ahead,
    set_go_ahead,
)
from adapters.http import SEND_GUARD
from adapters.outbound import guarded_session
from adapters.tokens import RedisTokenCache
from channels.base import CannotRender, Post

from ..infra.runtime import Runtime
from ..models import utcnow
from ..platforms import adapter_class, names, spec
from ..security.outbound_policy import policy_for
from ..services.wechat_component.setup import client as component_client
from . import claims, parked, policy
from .batch import Batch
from .claims import Claimed, Outcome
from .heartbeat import Heartbeat
from .queueing import MARK_PREFIX
from .ratelimit import Limiter
from .render import RenderCache, public_base
from .vocabulary import Action, DeliveryState, Step
from .withdrawal_gate import WITHDRAW_QUEUE_KEY, Marker

log = logging.getLogger("yunchu.fanout")

AccountRow = Row  # claims.ACCOUNT_FIELDS of one account
Account = tuple[AccountRow, AccountRef | None]  # None: the credentials could not be decrypted

MAX_RATE_WAIT_S = 1.0
# A budget granted ahead for a batch's call (``_budget_ahead``) is used if the call starts
# within this long; a later call asks again. It bounds how far calls can bunch behind their
# grants: at most this many seconds' worth of a budget's rate on top of its burst.
GRANT_S = 1.0
MAX_KNOWN_ACCOUNTS = 200_000  # opened credentials a worker keeps (see ``_accounts``)
# A publish batch's posts in platform review are first polled this long after the batch ended
# (most of them were sent well before): see ``Executor._poll_soon``.
FIRST_POLL_S = 1.0
# A push batch waiting for room looks this often for a withdrawal job: the RQ loop is held
# until it returns, and a withdrawal must not wait for a push batch to end (withdraw wins).
WITHDRAW_WATCH_S = 0.05
PUBLISH_OVERFLOW = 3  # claimed publishes at most this many times ``concurrency`` (normally 2)


@dataclass
class BatchReport:
    action: Action
    platform: str
    claimed: int = 0
    states: dict[str, int] = field(default_factory=dict)


class Executor:
    """One per worker process; owns the pooled HTTP client and the adapters."""

    def __init__(self, runtime: Runtime, owner: str, *, concurrency: int | None = None):
        self.runtime = runtime
        self.owner = owner
        self.settings = runtime.settings
        self.limits = policy.Limits.of(runtime.settings)
        self.concurrency = concurrency or runtime.settings.concurrency
        self.renders: RenderCache | None = None
        self.http: aiohttp.ClientSession | None = None
        self.redis: aioredis.Redis | None = None
        self.adapters: dict[str, Any] = {}
        self._specs: dict[str, Any] = {}
        self._refs: dict[tuple[str, Any, str | None], AccountRef] = {}  # see ``_accounts``
        self.limiter: Limiter | None = None
        self.semaphore: asyncio.Semaphore | None = None
        self.withdraw_semaphore: asyncio.Semaphore | None = None
        # Batches claimed and running in the background (see ``admit``), and how many
        # deliveries each action holds, so the worker takes the next job only when there is
        # room.
        self._running: set[asyncio.Task] = set()
        self._load = dict.fromkeys(Action, 0)
        self._freed: asyncio.Event | None = None
        self._polls: set[asyncio.Task] = set()  # see ``_poll_soon``
        self._withdrawing = Marker()  # background work pauses while this worker withdraws
        self._marks: set[asyncio.Task] = set()
        self.heartbeat = Heartbeat(runtime, owner)

    async def start(self) -> None:
        from storage.renditions import Renditions

        # Publishes and withdrawals each get ``concurrency`` calls in flight: a withdrawal
        # never queues behind a publish for a connection.
        # No cookie jar (platform APIs authenticate by token, and the jar is work per call);
        # every connection checked against the outbound policy.
        self.http = guarded_session(policy_for(self.settings), limit=2 * self.concurrency,
                                    auto_decompress=True)
        # A blocking pool: hundreds of concurrent deliveries share a few dozen connections
        # and wait for one instead of failing with "too many connections".
        pool = aioredis.BlockingConnectionPool.from_url(
            self.settings.redis_url, max_connections=64, timeout=20, socket_timeout=10,
            socket_connect_timeout=5)
        self.redis = aioredis.Redis(connection_pool=pool)
        tokens = RedisTokenCache(self.redis)
        self.adapters = {p: adapter_class(p)(self.http, tokens) for p in names()}
        # Read once: ``platforms.spec`` rebuilds the registry per call (1 % of a withdrawal).
        self._specs = {p: spec(p) for p in self.adapters}
        timeout = aiohttp.ClientTimeout(total=self.settings.http_timeout_s,
                                        connect=min(5.0, self.settings.http_timeout_s))
        for adapter in self.adapters.values():
            adapter.timeout = timeout  # explicit, no hidden retries: the engine decides
        # Accounts that authorised the hub's WeChat 第三方平台 get their tokens through it.
        component = component_client(self.runtime, self.http, tokens, timeout)
        for adapter in self.adapters.values():
            if hasattr(adapter, "component"):
                adapter.component = component
        self.limiter = Limiter(self.redis)
        self.semaphore = asyncio.Semaphore(self.concurrency)
        self.withdraw_semaphore = asyncio.Semaphore(self.concurrency)
        self._freed = asyncio.Event()
        self.renders = RenderCache(Renditions(self.runtime.store), self._public_base())
        await self.heartbeat.start()  # alive before the first claim

    def _public_base(self) -> str:
        return public_base(self.settings)

    async def close(self) -> None:
        for task in list(self._running) + list(self._polls):
            task.cancel()
        await self.heartbeat.stop()
        if self.http:
            await self.http.close()
        if self.redis:
            await self.redis.aclose()

    # ------------------------------------------------------------------ admission

    async def run_batch(self, action: Action, platform: str, ids: Sequence[str]) -> BatchReport:
        """Claim and run one batch to the end."""
        prepared = await self._prepare(action, platform, ids)
        if prepared is None:
            return BatchReport(action=action, platform=platform)
        return await self._process(prepared)

    async def admit(self, action: Action, platform: str, ids: Sequence[str]) -> BatchReport:
        """Claim a batch, start it in the background, and return once this worker has room
        for another: the next batch is claimed and rendered while this one's calls are in
        flight, so concurrency stays full instead of draining at every batch's tail. The
        claims' leases, not the RQ job, make this safe: if the process dies, the reconciler
        re-drives whatever it held (within seconds: see ``liveness``)."""
        assert self._freed is not None
        prepared = await self._prepare(action, platform, ids)
        if prepared is None:
            return BatchReport(action=action, platform=platform)
        size = len(prepared.claimed)
        if action is Action.WITHDRAW:
            assert self.redis is not None
            await self._withdrawing.renew(self.redis)
        self._load[action] += size
        task = asyncio.create_task(self._process(prepared))
        self._running.add(task)
        task.add_done_callback(lambda done: self._finished(done, action, size))
        while self._load[action] >= 2 * self.concurrency:  # the next batch waits, claimed
            if action is Action.PUBLISH and await self._withdrawal_waiting(
                    self._load[action] < PUBLISH_OVERFLOW * self.concurrency):
                break  # withdraw wins: the RQ loop takes the withdrawal job now
            self._freed.clear()
            watch = WITHDRAW_WATCH_S if action is Action.PUBLISH else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._freed.wait(), watch)
        return BatchReport(action=action, platform=platform, claimed=size)

    async def _withdrawal_waiting(self, room: bool) -> bool:
        """Whether a withdrawal job waits on its queue while this worker's RQ loop is held
        by a push batch waiting for room (``room``: the push may overrun its limit by one more
        batch, so a worker losing the race for that job claims no pushes without end)."""
        if not room:
            return False
        assert self.redis is not None
        try:
            return bool(await self.redis.llen(WITHDRAW_QUEUE_KEY))
        except Exception:  # noqa: BLE001 - only a shortcut: the wait for room still ends
            return False

    def _finished(self, task: asyncio.Task, action: Action, size: int) -> None:
        self._running.discard(task)
        self._load[action] -= size
        assert self._freed is not None
        self._freed.set()
        if action is Action.WITHDRAW and self.redis is not None:
            # The mark outlives this worker's last withdrawal batch by its HOLD_S.
            mark = asyncio.ensure_future(self._withdrawing.renew(self.redis))
            self._marks.add(mark)
            mark.add_done_callback(self._marks.discard)
        if not task.cancelled() and task.exception() is not None:
            log.error("batch failed; its leases will expire and the reconciler re-drives it",
                      exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for every background batch (a worker stopping cleanly hands nothing back)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    # ------------------------------------------------------------------ preparation

    async def _prepare(self, action: Action, platform: str,
                       ids: Sequence[str]) -> _Prepared | None:
        lapses = self.heartbeat.lapses  # before the claim: a lapse during it voids it too
        claimed, accounts = await asyncio.to_thread(self._claim, action, ids)
        if not claimed:
            return None
        self.heartbeat.hold(c.id for c in claimed)
        await self._unmark(claimed)
        try:
            prepared = await self._load_batch(action, platform, claimed, accounts)
            prepared.lapses = lapses
            return prepared
        except BaseException:
            # Not renewed any more: the leases run out and the reconciler re-drives them.
            self.heartbeat.release(c.id for c in claimed)
            raise

    async def _unmark(self, claimed: Sequence[Claimed]) -> None:
        """Claimed: the reconciler's enqueue marks of these rows are spent. Left in place, a
        retry falling due within the mark's minute waited it out (the rig saw a withdrawal
        after a Redis restart take 64 s instead of 4)."""
        assert self.redis is not None
        with contextlib.suppress(redis.RedisError, OSError):  # else they run out on their own
            await self.redis.delete(*(MARK_PREFIX + c.id for c in claimed))

    async def _load_batch(self, action: Action, platform: str, claimed: list[Claimed],
                          accounts: dict[str, Account]) -> _Prepared:
        await self._warm(platform, accounts)
        posts: dict[tuple[str, int], Post | CannotRender] = {}
        early: dict[str, Receipt] = {}
        if action is Action.PUBLISH:
            posts = await asyncio.to_thread(self._render, claimed, platform)
        elif self.adapters[platform].capabilities.status_polling:
            # A publish still in platform review whose "finished" event came early: its
            # answer is in Redis, so the withdrawal needs no status call of its own.
            early = await parked.take(self.redis, platform, [
                (c.id, c.account_id, c.remote_id) for c in claimed if c.remote_id])
        return _Prepared(action, platform, claimed, accounts, posts, early)

    # ------------------------------------------------------------------ running a batch

    async def _process(self, p: _Prepared) -> BatchReport:
        try:
            return await self._run_prepared(p)
        except BaseException:
            # A batch that failed on its way (Redis or the database went away before its
            # outcomes were written) must not keep its claims renewed by a live heartbeat:
            # released, their leases run out and the reconciler re-drives them.
            self.heartbeat.release(c.id for c in p.claimed)
            raise

    async def _run_prepared(self, p: _Prepared) -> BatchReport:
        report = BatchReport(action=p.action, platform=p.platform, claimed=len(p.claimed))
        assert self.redis is not None
        batch = Batch(self.runtime, self.redis, self.heartbeat, p.action, p.claimed)
        await batch.start()
        in_review: list[str] = []

        async def deliver(c: Claimed) -> None:
            outcome = await self._one(p, c, batch)
            if outcome.state is DeliveryState.PENDING_REVIEW:
                in_review.append(c.id)
            outcome.closes_task = policy.closes_task(p.action, c, outcome, self.limits, utcnow())
            outcome.token_refreshed = self._refreshed(p.platform, c.account_id)
            # Recorded as it happens (the periodic flush writes it), not when the whole batch
            # ends: a worker killed mid-batch loses only what it had not yet flushed, and
            # progress moves one delivery at a time.
            batch.add(outcome)
            state = outcome.state.value
            report.states[state] = report.states.get(state, 0) + 1

        p.granted = await self._budget_ahead(p)
        try:
            await asyncio.gather(*(deliver(c) for c in p.claimed))
        finally:
            flipped = await batch.finish()
        if flipped:
            # Published just after a withdrawal: remove it now, on this warm connection.
            await self.run_batch(Action.WITHDRAW, p.platform, flipped)
        if in_review and self.adapters[p.platform].capabilities.status_names_post:
            self._poll_soon(p.platform, in_review)
        log.info("%s %s: %d claimed -> %s", p.action, p.platform, report.claimed, report.states)
        return report

    def _poll_soon(self, platform: str, ids: list[str]) -> None:
        """Ask about a batch's posts in platform review once, ``FIRST_POLL_S`` after the batch
        ended, here rather than on the maintenance queue (which waits behind pushes). The
        poll learns the id a removal deletes by (WeChat's article id): each post needs that
        call once either way, and made by a withdrawal it is a second call before the delete.
        A post still in review then follows the sweep's schedule (``status.next_poll_in``);
        if this worker dies first, the sweep polls it as before."""
        async def later() -> None:
            from .status import poll

            await asyncio.sleep(FIRST_POLL_S)
            try:
                await poll(self, platform, ids)
            except Exception as err:  # noqa: BLE001 - only a head start: the sweep polls too
                log.warning("polling %d %s posts in review failed (%s)", len(ids), platform,
                            type(err).__name__)

        task = asyncio.create_task(later())
        self._polls.add(task)
        task.add_done_callback(self._polls.discard)

    def _refreshed(self, platform: str, account_id: str) -> tuple[str, datetime] | None:
        """The account's token refresh this process made (on this call, a neighbour's or
        the batch's warm-up) that no outcome has carried yet."""
        refreshes = getattr(self.adapters[platform], "refreshes", None)
        expires_at = refreshes.take(account_id) if refreshes is not None else None
        if expires_at is None:
            return None
        return account_id, datetime.fromtimestamp(expires_at, UTC)

    async def _warm(self, platform: str,
                    accounts: dict[str, Account]) -> None:
        warm = getattr(self.adapters[platform], "warm", None)
        if warm is None:
            return
        refs = [ref for _, ref in accounts.values() if ref is not None]
        try:
            await warm(refs)
        except Exception as err:  # noqa: BLE001 - only a head start: each call manages alone
            log.warning("warming %s for %d accounts failed (%s)", platform, len(refs),
                        type(err).__name__)

    def _claim(self, action: Action, ids: Sequence[str]
               ) -> tuple[list[Claimed], dict[str, Account]]:
        """Claim, and read the claimed rows' accounts in the same transaction (one trip to
        a thread and one transaction a batch, not two)."""
        with self.runtime.db.session() as session:
            claimed = claims.claim(session, action, ids, self.owner, self.settings.lease_s)
            if not claimed:
                return [], {}
            rows = claims.accounts_of(session, [c.account_id for c in claimed]).values()
        return claimed, {account.id: (account, self.ref_of(account)) for account in rows}

    def ref_of(self, account: AccountRow) -> AccountRef | None:
        """The account as its adapter needs it; None when its credentials cannot be read.

        Opened once per process and sealed value: a withdrawal (and the status poll) reaches
        the accounts its push reached, and decrypting again was work for nothing. New
        credentials are a new sealed value, hence a new entry."""
        refs = self._refs
        key = (account.id, account.credentials_sealed, account.api_base)
        ref = refs.get(key)
        if ref is not None:
            return ref
        try:
            credentials = self.runtime.box.open(account.credentials_sealed, bound_to=account.id)
        except Exception:  # noqa: BLE001 - unreadable credentials are a config problem
            return None
        if len(refs) >= MAX_KNOWN_ACCOUNTS:
            refs.clear()
        ref = refs[key] = AccountRef(
            id=account.id, platform=account.platform,
            api_base=(account.api_base or self.settings.api_base(account.platform)),
            credentials=credentials)
        return ref

    def _render(self, claimed: Sequence[Claimed],
                platform: str) -> dict[tuple[str, int], Post | CannotRender]:
        assert self.renders is not None
        posts: dict[tuple[str, int], Post | CannotRender] = {}
        with self.runtime.db.session() as session:
            for key in {(c.item_id, c.version) for c in claimed}:
                try:
                    posts[key] = self.renders.get(session, key[0], key[1], platform)
                except CannotRender as err:
                    posts[key] = err
        return posts

    # ------------------------------------------------------------------ one delivery

    async def _one(self, p: _Prepared, c: Claimed, batch: Batch) -> Outcome:
        publishing = p.action is Action.PUBLISH
        semaphore = self.semaphore if publishing else self.withdraw_semaphore
        assert semaphore is not None
        async with semaphore:
            if publishing:  # this task's calls only (each delivery runs in its own task)
                SEND_GUARD.set(lambda: self.heartbeat.holds(p.lapses))
            try:
                if publishing:
                    return await self._publish(p.platform, c, p.accounts.get(c.account_id),
                                               p.posts.get((c.item_id, c.version)), batch,
                                               p.granted.pop(c.id, None))
                return await self._withdraw(p.platform, c, p.accounts.get(c.account_id),
                                            p.early.get(c.id), p.granted.pop(c.id, None))
            except Exception as err:  # noqa: BLE001 - a bug must not lose the delivery
                log.exception("unexpected error on delivery %s (%s)", c.id, type(err).__name__)
                return policy.crashed(p.action, c, err)

    async def _publish(self, platform: str, c: Claimed, account: Account | None,
                       post: Post | CannotRender | None, batch: Batch,
                       granted: float | None = None) -> Outcome:
        row, ref = account if account is not None else (None, None)
        settled = policy.before_publish(c, row, ref is not None, post,
                                        fenced=batch.fence.blocks(c))
        if settled is not None:
            return settled
        assert row is not None and ref is not None and isinstance(post, Post)
        adapter = self.adapters[platform]
        maybe_live = c.needs_lookup  # an earlier attempt went out and its answer was lost
        try:
            if c.needs_lookup:
                if not adapter.capabilities.lookup:
                    return policy.unverifiable(c)
                settled = policy.after_lookup(c, await adapter.lookup(ref, c.id), self.limits,
                                               utcnow())
                if settled is not None:
                    return settled
                maybe_live = False
            try:
                wait = await self._take_budget(platform, ref, granted)
            except (redis.RedisError, OSError, TimeoutError):
                return policy.budget_unreachable(Action.PUBLISH, c)
            if wait:
                return policy.throttled(Action.PUBLISH, c, wait)
            if batch.fence.blocks(c):  # withdrawn while this call waited for its turn
                return policy.fenced_off(c)
            if batch.fence.holds(c):  # ... or being withdrawn right now
                return policy.held(c, maybe_live)
            if not self.heartbeat.alive():
                return policy.unheard(c, maybe_live)
            fence = batch.fence
            gate = set_go_ahead(lambda: not (fence.blocks(c) or fence.holds(c)))
            try:
                receipt = await adapter.publish(ref, post, marker=c.id)
            finally:
                reset_go_ahead(gate)
            return policy.published(c, receipt, Step.PUBLISHED)
        except Withheld:  # withdrawn (or being withdrawn) between the publish's steps
            return policy.fenced_off(c) if batch.fence.blocks(c) else policy.held(c, maybe_live)
        except AdapterError as err:
            return policy.publish_failed(c, row, err, maybe_live, self.limits, now=utcnow())

    async def _withdraw(self, platform: str, c: Claimed, account: Account | None,
                        early: Receipt | None = None, granted: float | None = None) -> Outcome:
        row, ref = account if account is not None else (None, None)
        adapter = self.adapters[platform]
        capabilities = adapter.capabilities
        settled = policy.before_withdraw(c, row, ref is not None,
                                         can_withdraw=capabilities.withdraw, now=utcnow())
        if settled is not None:
            return settled
        assert row is not None and ref is not None
        remote_id = policy.remote_id_to_remove(c, early)
        try:
            if policy.must_look_up(c, remote_id):
                found = await adapter.lookup(ref, c.id) if capabilities.lookup else None
                if found is None and remote_id is None:
                    return policy.nothing_to_remove(c, row, can_lookup=capabilities.lookup,
                                                    now=utcnow())
                if found is not None:
                    remote_id = found.remote_id
            try:
                wait = await self._take_budget(platform, ref, granted)
            except (redis.RedisError, OSError, TimeoutError):
                return policy.budget_unreachable(Action.WITHDRAW, c)
            if wait:
                return policy.throttled(Action.WITHDRAW, c, wait)
            await adapter.withdraw(ref, remote_id)
            return policy.withdrawn(c, remote_id)
        except AdapterError as err:
            outcome = policy.withdraw_failed(c, row, err, self.limits, utcnow())
            if outcome is None:
                raise
            return outcome

    async def _budget_ahead(self, p: _Prepared) -> dict[str, float]:
        """The batch's rate budgets, asked for in one trip before its calls start (a trip per
        call's loop turn was ~30 deliveries each and a tenth of a worker's CPU). Each delivery
        granted here goes without a trip of its own if its call starts within ``GRANT_S``;
        one settled without a call leaves its budget unused (the account's next call waits
        that much longer), never used twice."""
        assert self.limiter is not None
        spec = self._specs[p.platform]
        wanted = [(c.id, ref) for c in p.claimed
                  if (ref := (p.accounts.get(c.account_id) or (None, None))[1]) is not None]
        try:
            waits = await self.limiter.reserve_many(
                [(p.platform, spec.app_of(ref.credentials), ref.id) for _, ref in wanted])
        except (redis.RedisError, OSError, TimeoutError):
            return {}  # each call asks for itself, and hears of the outage then
        until = time.monotonic() + GRANT_S
        return {delivery_id: until
                for (delivery_id, _), wait in zip(wanted, waits, strict=True) if wait <= 0}

    async def _take_budget(self, platform: str, ref: AccountRef,
                           granted: float | None = None) -> float:
        """Wait briefly for the shared rate budget; a longer wait goes back to the schedule.
        ``granted``: the budget was taken ahead for this call, good until then."""
        if granted is not None and time.monotonic() <= granted:
            return 0.0
        assert self.limiter is not None
        app = self._specs[platform].app_of(ref.credentials)
        for _ in range(5):
            wait = await self.limiter.reserve(platform, app, ref.id)
            if wait <= 0:
                return 0.0
            if wait > MAX_RATE_WAIT_S:
                return wait
            await asyncio.sleep(wait)
        return MAX_RATE_WAIT_S


@dataclass
class _Prepared:
    """A claimed batch with what its calls need, loaded before any call is made."""

    action: Action
    platform: str
    claimed: list[Claimed]
    accounts: dict[str, Account]
    posts: dict[tuple[str, int], Post | CannotRender]
    early: dict[str, Receipt]  # withdrawals: parked platform answers, by delivery id
    granted: dict[str, float] = field(default_factory=dict)  # see ``Executor._budget_ahead``
    lapses: int = 0  # the heartbeat's lapses when the batch was claimed
