"""Runs one batch of deliveries of one platform: claim, then concurrent adapter calls under
bounded concurrency and shared rate budgets, outcomes written back in small batches.

While the worker lives, its heartbeat (``Executor._pulse`` and ``Executor._keep_leases``)
refreshes its Redis alive key every ``YUNCHU_WORKER_ALIVE_S``/3 and renews every claim it holds
every ``YUNCHU_LEASE_S``/3, each from its own thread, so neither a slow platform nor a busy
thread pool lets a live worker's claims go. When it dies, the alive key runs out within
seconds and the reconciler re-drives the claims (see ``liveness`` and ``reconciler``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import redis
import redis.asyncio as aioredis
from sqlalchemy import Row

from adapters.base import (
    AccountMisconfigured,
    AccountRef,
    AdapterError,
    AuthFailed,
    ContentRejected,
    OutcomeUnknown,
    RateLimited,
    Receipt,
    Retryable,
    Unsupported,
)
from adapters.outbound import guarded_session
from adapters.tokens import RedisTokenCache
from channels.base import CannotRender, Post

from ..models import utcnow
from ..outbound import policy_for
from ..platforms import REGISTRY, adapter_class
from ..runtime import Runtime
from . import backoff, claims, liveness, parked
from .claims import MANUAL_DEADLINE, Claimed, Outcome
from .fence import FENCE_RECHECK_S, fenced_in_redis, withdrawn_in_database
from .ratelimit import Limiter
from .render import RenderCache, public_base

log = logging.getLogger("yunchu.fanout")

AccountRow = Row  # claims.ACCOUNT_FIELDS of one account

# Outcomes are written when this many are waiting, or this long after the last write: a
# killed worker loses at most a second of answers, and a batch costs a few transactions.
FLUSH_AT, FLUSH_EVERY_S = 50, 1.0
MAX_RATE_WAIT_S = 1.0
LOOKUP_GRACE = 3  # attempts beyond the last one, spent only on finding out whether it exists


@dataclass
class BatchReport:
    action: str
    platform: str
    claimed: int = 0
    states: dict[str, int] = field(default_factory=dict)


class Executor:
    """One per worker process; owns the pooled HTTP client and the adapters."""

    def __init__(self, runtime: Runtime, owner: str, *, concurrency: int | None = None):
        self.runtime = runtime
        self.owner = owner
        self.settings = runtime.settings
        self.concurrency = concurrency or runtime.settings.concurrency
        self.renders: RenderCache | None = None
        self.http: aiohttp.ClientSession | None = None
        self.redis: aioredis.Redis | None = None
        self.adapters: dict[str, Any] = {}
        self.limiter: Limiter | None = None
        self.semaphore: asyncio.Semaphore | None = None
        self.withdraw_semaphore: asyncio.Semaphore | None = None
        # Batches claimed and running in the background (see ``admit``), and how many
        # deliveries each kind holds, so the worker takes the next job only when there is room.
        self._running: set[asyncio.Task] = set()
        self._load = {"publish": 0, "withdraw": 0}
        self._freed: asyncio.Event | None = None
        # Claimed deliveries whose outcome is not written yet: the heartbeat renews them all.
        self.held: set[str] = set()
        self._alive_until = 0.0  # monotonic time until which this worker's alive key exists
        self._beats: list[asyncio.Task] = []
        self._stopping: asyncio.Event | None = None
        self._beat_redis: redis.Redis | None = None
        # One thread each: a beat never waits behind a renewal, a flush or a claim.
        self._pulse_thread = ThreadPoolExecutor(1, thread_name_prefix="yunchu-pulse")
        self._lease_thread = ThreadPoolExecutor(1, thread_name_prefix="yunchu-lease")

    async def start(self) -> None:
        from storage.renditions import Renditions

        # Pushes and withdrawals each get ``concurrency`` calls in flight: a withdrawal never
        # queues behind a push for a connection.
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
        self.adapters = {p: adapter_class(p)(self.http, tokens) for p in REGISTRY}
        timeout = aiohttp.ClientTimeout(total=self.settings.http_timeout_s,
                                        connect=min(5.0, self.settings.http_timeout_s))
        for adapter in self.adapters.values():
            adapter.timeout = timeout  # explicit, no hidden retries: the engine decides
        self.limiter = Limiter(self.redis)
        self.semaphore = asyncio.Semaphore(self.concurrency)
        self.withdraw_semaphore = asyncio.Semaphore(self.concurrency)
        self._freed = asyncio.Event()
        self.renders = RenderCache(Renditions(self.runtime.store), self._public_base())
        self._stopping = asyncio.Event()
        alive_s = self.settings.worker_alive_s
        self._beat_redis = redis.Redis.from_url(
            self.settings.redis_url, socket_timeout=max(alive_s, 1.0),
            socket_connect_timeout=max(alive_s, 1.0))
        await self._beat()  # alive before the first claim
        self._beats = [asyncio.create_task(self._pulse()),
                       asyncio.create_task(self._keep_leases())]

    def _public_base(self) -> str:
        return public_base(self.settings)

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
        if self._stopping is not None:
            self._stopping.set()
            await asyncio.gather(*self._beats, return_exceptions=True)
        if self._beat_redis is not None:
            try:  # what this worker still holds is re-driven at the next sweep
                await self._in(self._pulse_thread, liveness.stopped, self._beat_redis,
                               self.owner)
            except Exception as err:  # noqa: BLE001 - then the key simply runs out
                log.warning("could not clear the alive key (%s)", type(err).__name__)
            self._beat_redis.close()
        self._pulse_thread.shutdown(wait=False)
        self._lease_thread.shutdown(wait=False)
        if self.http:
            await self.http.close()
        if self.redis:
            await self.redis.aclose()

    # ------------------------------------------------------------------ heartbeat

    def alive(self) -> bool:
        """Whether this worker's alive key still exists. Once it may have run out, the
        reconciler may have handed the claims to another worker: no new post goes out."""
        return time.monotonic() < self._alive_until

    async def _in(self, thread: ThreadPoolExecutor, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(thread, call, *args)

    async def _beat(self) -> None:
        assert self._beat_redis is not None
        alive_s = self.settings.worker_alive_s
        sent = time.monotonic()  # the key lives at least alive_s from here
        await self._in(self._pulse_thread, liveness.beat, self._beat_redis, self.owner, alive_s)
        self._alive_until = sent + alive_s

    async def _pulse(self) -> None:
        every = self.settings.worker_alive_s / 3
        while await self._rest(every):
            try:
                await self._beat()
            except Exception as err:  # noqa: BLE001 - Redis away: beat again in a moment
                log.warning("heartbeat failed (%s)", type(err).__name__)

    async def _keep_leases(self) -> None:
        """Renew every claim this worker holds in one statement, every third of the lease."""
        lease = self.settings.lease_s
        while await self._rest(lease / 3):
            ids = list(self.held)
            if not ids:
                continue
            try:
                await self._in(self._lease_thread, self._renew, ids, lease)
            except Exception as err:  # noqa: BLE001 - the next renewal tries again
                log.warning("renewing %d leases failed (%s)", len(ids), type(err).__name__)

    def _renew(self, ids: list[str], lease: int) -> None:
        with self.runtime.db.session() as session:
            claims.renew(session, self.owner, ids, lease)

    async def _rest(self, seconds: float) -> bool:
        """Sleep ``seconds``; False once the executor is closing."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return True
        return False

    # ------------------------------------------------------------------ batches

    async def run_batch(self, action: str, platform: str, ids: Sequence[str]) -> BatchReport:
        """Claim and run one batch to the end."""
        prepared = await self._prepare(action, platform, ids)
        if prepared is None:
            return BatchReport(action=action, platform=platform)
        return await self._process(prepared)

    async def admit(self, action: str, platform: str, ids: Sequence[str]) -> BatchReport:
        """Claim a batch, start it in the background, and return once this worker has room
        for another: the next batch is claimed and rendered while this one's calls are in
        flight, so concurrency stays full instead of draining at every batch's tail. The
        claims' leases, not the RQ job, make this safe: if the process dies, the reconciler
        re-drives whatever it held (within seconds: see ``liveness``)."""
        assert self._freed is not None
        prepared = await self._prepare(action, platform, ids)
        if prepared is None:
            return BatchReport(action=action, platform=platform)
        kind = "publish" if action == "publish" else "withdraw"
        size = len(prepared.claimed)
        self._load[kind] += size
        task = asyncio.create_task(self._process(prepared))
        self._running.add(task)
        task.add_done_callback(lambda done: self._finished(done, kind, size))
        while self._load[kind] >= 2 * self.concurrency:  # the next batch waits, claimed
            self._freed.clear()
            await self._freed.wait()
        return BatchReport(action=action, platform=platform, claimed=size)

    def _finished(self, task: asyncio.Task, kind: str, size: int) -> None:
        self._running.discard(task)
        self._load[kind] -= size
        assert self._freed is not None
        self._freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("batch failed; its leases will expire and the reconciler re-drives it",
                      exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for every background batch (a worker stopping cleanly hands nothing back)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def _prepare(self, action: str, platform: str, ids: Sequence[str]) -> _Prepared | None:
        claimed = await asyncio.to_thread(self._claim, action, ids)
        if not claimed:
            return None
        self.held.update(c.id for c in claimed)
        try:
            return await self._load_batch(action, platform, claimed)
        except BaseException:
            # Not renewed any more: the leases run out and the reconciler re-drives them.
            self.held.difference_update(c.id for c in claimed)
            raise

    async def _load_batch(self, action: str, platform: str,
                          claimed: list[Claimed]) -> _Prepared:
        accounts = await asyncio.to_thread(self._accounts, claimed)
        await self._warm(platform, accounts)
        posts: dict[tuple[str, int], Post | CannotRender] = {}
        early: dict[str, Receipt] = {}
        if action == "publish":
            posts = await asyncio.to_thread(self._render, claimed, platform)
        elif self.adapters[platform].capabilities.status_polling:
            # A publish still in platform review whose "finished" event came early: its
            # answer is in Redis, so the withdrawal needs no status call of its own.
            early = await parked.take(self.redis, platform, [
                (c.id, c.account_id, c.remote_id) for c in claimed if c.remote_id])
        return _Prepared(action, platform, claimed, accounts, posts, early)

    async def _process(self, p: _Prepared) -> BatchReport:
        report = BatchReport(action=p.action, platform=p.platform, claimed=len(p.claimed))
        batch = _Batch(self, p.action, p.claimed)
        await batch.start()

        async def deliver(c: Claimed) -> None:
            outcome = await self._one(p.action, p.platform, c, p.accounts.get(c.account_id),
                                      p.posts.get((c.item_id, c.version)), batch,
                                      p.early.get(c.id))
            # Recorded as it happens (the periodic flush writes it), not when the whole batch
            # ends: a worker killed mid-batch loses only what it had not yet flushed, and
            # progress moves one delivery at a time.
            if (p.action == "withdraw" and outcome.state == "withdrawn"
                    and c.interrupted >= self.settings.interrupted_max):
                outcome.closes_task = True  # the reconciler opened one (claims.stale_leases)
            batch.add(outcome)
            report.states[outcome.state] = report.states.get(outcome.state, 0) + 1

        try:
            await asyncio.gather(*(deliver(c) for c in p.claimed))
        finally:
            flipped = await batch.finish()
        if flipped:
            # Published just after a withdrawal: remove it now, on this warm connection.
            await self.run_batch("withdraw", p.platform, flipped)
        log.info("%s %s: %d claimed -> %s", p.action, p.platform, report.claimed, report.states)
        return report

    async def _warm(self, platform: str,
                    accounts: dict[str, tuple[AccountRow, AccountRef | None]]) -> None:
        warm = getattr(self.adapters[platform], "warm", None)
        if warm is None:
            return
        refs = [ref for _, ref in accounts.values() if ref is not None]
        try:
            await warm(refs)
        except Exception as err:  # noqa: BLE001 - only a head start: each call manages alone
            log.warning("warming %s for %d accounts failed (%s)", platform, len(refs),
                        type(err).__name__)

    def _claim(self, action: str, ids: Sequence[str]) -> list[Claimed]:
        with self.runtime.db.session() as session:
            return claims.claim(session, action, ids, self.owner, self.settings.lease_s)

    def _accounts(self, claimed: Sequence[Claimed]
                  ) -> dict[str, tuple[AccountRow, AccountRef | None]]:
        box = self.runtime.box
        result: dict[str, tuple[AccountRow, AccountRef | None]] = {}
        with self.runtime.db.session() as session:
            for account in claims.accounts_of(session, [c.account_id for c in claimed]).values():
                try:
                    credentials = box.open(account.credentials_sealed, bound_to=account.id)
                    ref: AccountRef | None = AccountRef(
                        id=account.id, platform=account.platform,
                        api_base=(account.api_base or self.settings.api_base(account.platform)),
                        credentials=credentials)
                except Exception:  # noqa: BLE001 - unreadable credentials are a config problem
                    ref = None
                result[account.id] = (account, ref)
        return result

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

    async def _one(self, action: str, platform: str, c: Claimed,
                   account: tuple[AccountRow, AccountRef | None] | None,
                   post: Post | CannotRender | None, batch: _Batch,
                   early: Receipt | None = None) -> Outcome:
        semaphore = self.semaphore if action == "publish" else self.withdraw_semaphore
        assert semaphore is not None
        async with semaphore:
            try:
                if action == "publish":
                    return await self._publish(platform, c, account, post, batch)
                return await self._withdraw(platform, c, account, early)
            except Exception as err:  # noqa: BLE001 - a bug must not lose the delivery
                log.exception("unexpected error on delivery %s (%s)", c.id, type(err).__name__)
                retry_state = "retry" if action == "publish" else "withdraw_retry"
                return Outcome(c.id, retry_state, "crash", error_kind="unknown",
                               error=f"内部错误，将重试 (internal error: {type(err).__name__})",
                               retry_in=backoff.delay(c.attempts, base=5, cap=300),
                               needs_lookup=True if action == "publish" else None)

    async def _publish(self, platform: str, c: Claimed,
                       account: tuple[AccountRow, AccountRef | None] | None,
                       post: Post | CannotRender | None, batch: _Batch) -> Outcome:
        if c.item_id in batch.fenced or c.withdrawing:
            return Outcome(c.id, "cancelled", "fenced",
                           error="撤稿时尚未发出，已取消 (cancelled by withdrawal before sending)")
        if account is None:
            return Outcome(c.id, "failed", "no_account", error_kind="misconfigured",
                           error="账号不存在 (account no longer exists)")
        row, ref = account
        if row.status != "active":
            return Outcome(c.id, "skipped", "skipped", error_kind="skipped",
                           error=f"账号状态为 {row.status}，未推送 (account is {row.status})")
        if row.flagged_reason:
            return Outcome(c.id, "failed", "flagged", error_kind="auth",
                           error=f"账号凭据失效，请更新凭据后重推 (credentials rejected earlier: "
                                 f"{row.flagged_reason})")
        if ref is None:
            return Outcome(c.id, "failed", "credentials", error_kind="misconfigured",
                           error="账号凭据无法解密，请重新录入 (stored credentials unreadable)")
        if isinstance(post, CannotRender) or post is None:
            reason = post.reason if isinstance(post, CannotRender) else "无法生成稿件 (no post)"
            return Outcome(c.id, "failed", "cannot_render", error_kind="cannot_render",
                           error=reason)
        adapter = self.adapters[platform]
        maybe_live = c.needs_lookup  # an earlier attempt went out and its answer was lost
        try:
            if c.needs_lookup:
                if not adapter.capabilities.lookup:
                    return Outcome(c.id, "failed", "unverifiable", error_kind="unknown",
                                   error="发送结果未知且平台无法查询，请人工核实是否已发布 "
                                         "(outcome unknown; the platform cannot be queried)")
                found = await adapter.lookup(ref, c.id)
                if found is not None:
                    return self._published(c, found, "found")
                maybe_live = False
                if c.tries > self.settings.retry_max_attempts:
                    return Outcome(c.id, "failed", "gave_up", error_kind="retryable",
                                   needs_lookup=False, error=f"重试{c.tries - 1}次仍失败，"
                                   f"平台上确认没有该稿 (gave up; verified not on the platform)")
                if c.interrupted >= self.settings.interrupted_max:
                    return Outcome(c.id, "failed", "interrupted", error_kind="unknown",
                                   needs_lookup=False, error=f"发送时工作进程已中断{c.interrupted}"
                                   f"次，平台上确认没有该稿，请检查后重推 (the worker died "
                                   f"{c.interrupted} times while sending; verified not on the "
                                   f"platform)")
            wait = await self._take_budget(platform, ref)
            if wait:
                return Outcome(c.id, "retry", "throttled", error_kind="rate_limited",
                               error="本地限速，稍后发送 (rate budget exhausted, will send soon)",
                               retry_in=wait)
            if c.item_id in batch.fenced:
                return Outcome(c.id, "cancelled", "fenced",
                               error="撤稿时尚未发出，已取消 (cancelled by withdrawal before sending)")
            if not self.alive():
                # Its claims may be another worker's by now; that one looks before it sends.
                return Outcome(c.id, "retry", "unheard", error_kind="retryable",
                               error="工作进程心跳中断，稍后发送 (this worker's heartbeat "
                                     "lapsed; sending later)", retry_in=1.0,
                               needs_lookup=maybe_live)
            receipt = await adapter.publish(ref, post, marker=c.id)
            return self._published(c, receipt, "published")
        except AdapterError as err:
            outcome = self._publish_failure(c, row, err)
            if outcome.needs_lookup is None:
                outcome.needs_lookup = maybe_live
            return outcome

    def _published(self, c: Claimed, receipt: Receipt, outcome: str) -> Outcome:
        state = "pending_review" if receipt.state == "pending_review" else "published"
        return Outcome(c.id, state, outcome, remote_id=receipt.remote_id, remote_url=receipt.url,
                       needs_lookup=False)

    def _publish_failure(self, c: Claimed, row: AccountRow, err: AdapterError) -> Outcome:
        if isinstance(err, RateLimited):
            if c.tries >= backoff.RATE_LIMITED_MAX_ATTEMPTS:
                return Outcome(c.id, "failed", "rate_limited", error_kind="rate_limited",
                               error=f"平台持续限流，已放弃 (still rate limited: {err.reason})")
            return Outcome(c.id, "retry", "rate_limited", error_kind="rate_limited",
                           error=err.reason, retry_in=backoff.delay(
                               c.tries, base=1, cap=60, at_least=err.retry_after))
        if isinstance(err, Retryable):
            unknown = isinstance(err, OutcomeUnknown) or err.sent
            last = self.settings.retry_max_attempts
            if c.tries >= last and not (unknown and c.tries < last + LOOKUP_GRACE):
                # A post that may exist is not given up on before a lookup has settled it.
                return Outcome(c.id, "failed", err.kind, error_kind=err.kind,
                               needs_lookup=True if unknown else None,
                               error=f"重试{c.tries}次仍失败 (gave up after {c.tries} "
                                     f"attempts): {err.reason}")
            return Outcome(c.id, "retry", err.kind, error_kind=err.kind, error=err.reason,
                           needs_lookup=True if unknown else None,
                           retry_in=backoff.delay(c.tries, base=self.settings.retry_base_s,
                                                  cap=self.settings.retry_cap_s))
        if isinstance(err, AuthFailed):
            return Outcome(c.id, "failed", "auth", error_kind="auth", error=err.reason,
                           flag_account=row.id, flag_reason=err.reason)
        return Outcome(c.id, "failed", err.kind, error_kind=err.kind, error=err.reason)

    async def _withdraw(self, platform: str, c: Claimed,
                        account: tuple[AccountRow, AccountRef | None] | None,
                        early: Receipt | None = None) -> Outcome:
        if account is None:
            return Outcome(c.id, "withdrawn", "no_account",
                           error="账号已不存在 (account no longer exists)")
        row, ref = account
        if row.status == "closed":
            return Outcome(c.id, "withdrawn", "account_closed",
                           error="账号已关闭，视为已撤回 (account closed)")
        adapter = self.adapters[platform]
        if not adapter.capabilities.withdraw or ref is None:
            why = "平台不支持接口撤稿 (the platform cannot delete by API)" if ref else \
                "账号凭据无法解密 (stored credentials unreadable)"
            return self._manual(c, row, why)
        remote_id = c.remote_id
        # A parked "published" names the post, deleted with one call. A parked failure is
        # only an event's word: the removal below asks the platform about the publish id.
        if early is not None and not c.needs_lookup and early.state == "published":
            remote_id = early.remote_id
        try:
            if remote_id is None or c.needs_lookup:
                found = await adapter.lookup(ref, c.id) if adapter.capabilities.lookup else None
                if found is None and remote_id is None:
                    if not adapter.capabilities.lookup:
                        return self._manual(c, row, "无法确认平台上是否有该稿 (cannot verify)")
                    return Outcome(c.id, "withdrawn", "not_found", needs_lookup=False,
                                   error="平台上未找到该稿，无需删除 (not on the platform)")
                if found is not None:
                    remote_id = found.remote_id
            wait = await self._take_budget(platform, ref)
            if wait:
                return Outcome(c.id, "withdraw_retry", "throttled", error_kind="rate_limited",
                               error="本地限速 (rate budget)", retry_in=wait)
            await adapter.withdraw(ref, remote_id)
            return Outcome(c.id, "withdrawn", "withdrawn", remote_id=remote_id, error=None,
                           needs_lookup=False)
        except RateLimited as err:
            return Outcome(c.id, "withdraw_retry", "rate_limited", error_kind="rate_limited",
                           error=err.reason, retry_in=max(err.retry_after, 0.5))
        except Retryable as err:
            return Outcome(c.id, "withdraw_retry", err.kind, error_kind=err.kind,
                           error=err.reason, retry_in=backoff.delay(
                               c.tries, base=self.settings.retry_base_s / 2,
                               cap=min(backoff.WITHDRAW_CAP_S, self.settings.retry_cap_s)))
        except (Unsupported, ContentRejected) as err:
            return self._manual(c, row, err.reason)
        except (AuthFailed, AccountMisconfigured) as err:
            outcome = self._manual(c, row, err.reason)
            outcome.flag_account, outcome.flag_reason = row.id, err.reason
            return outcome

    def _manual(self, c: Claimed, row: AccountRow, why: str) -> Outcome:
        return Outcome(c.id, "manual", "manual", error_kind="manual",
                       error=f"需人工删除：{why} (manual removal needed)",
                       task={"org_id": row.org_id, "account_id": row.id, "item_id": c.item_id,
                             "title": f"请在{row.name}上手动删除稿件 (delete the post by hand)",
                             "detail": why[:2000], "deadline": utcnow() + MANUAL_DEADLINE})

    async def _take_budget(self, platform: str, ref: AccountRef) -> float:
        """Wait briefly for the shared rate budget; a longer wait goes back to the schedule."""
        assert self.limiter is not None
        app = ref.credentials.get("client_key") or ref.credentials.get("appid") or platform
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

    action: str
    platform: str
    claimed: list[Claimed]
    accounts: dict[str, tuple[AccountRow, AccountRef | None]]
    posts: dict[tuple[str, int], Post | CannotRender]
    early: dict[str, Receipt]  # withdrawals: parked platform answers, by delivery id


class _Batch:
    """Per-batch bookkeeping: buffered outcomes and the withdrawal fence. (The leases are
    the executor's: its heartbeat renews every claim until the outcome is written.)"""

    def __init__(self, executor: Executor, action: str, claimed: Sequence[Claimed]):
        self.executor = executor
        self.action = action
        self.pending: list[Outcome] = []
        self.claimed_ids = [c.id for c in claimed]
        self.items = {c.item_id for c in claimed}
        self.fenced: set[str] = set()
        self.flipped: list[str] = []
        self.published_accounts: set[str] = set()
        self.account_of = {c.id: c.account_id for c in claimed}
        self._tasks: list[asyncio.Task] = []
        self._flush_lock = asyncio.Lock()
        # Loops end on this event, not on cancel(): a cancel that lands inside a Redis call
        # can be swallowed by the client, which would leave the batch waiting forever.
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        if self.action == "publish":
            await self._check_fence()
        self._tasks = [asyncio.create_task(self._periodic_flush())]
        if self.action == "publish":
            self._tasks += [asyncio.create_task(self._watch_fence()),
                            asyncio.create_task(self._recheck_fence())]

    def add(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        if outcome.state in ("published", "pending_review"):
            self.published_accounts.add(self.account_of[outcome.delivery_id])

    async def finish(self) -> list[str]:
        self._stopping.set()
        _, stuck = await asyncio.wait(self._tasks, timeout=15)
        for task in stuck:
            task.cancel()
        for _ in range(5):
            await self.flush()
            if not self.pending:
                break
            await asyncio.sleep(1)
        # Whatever is still unwritten is no longer renewed: its lease runs out and the
        # reconciler re-drives it.
        self.executor.held.difference_update(self.claimed_ids)
        return self.flipped

    async def _pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False once the batch is finishing."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def flush(self) -> None:
        async with self._flush_lock:
            outcomes, self.pending = self.pending, []
            accounts, self.published_accounts = list(self.published_accounts), set()
            if not outcomes:
                return
            try:
                flipped = await asyncio.to_thread(self._write, outcomes, accounts)
            except Exception as err:  # noqa: BLE001 - keep them; the next flush tries again
                log.warning("recording %d outcomes failed (%s); will retry", len(outcomes),
                            type(err).__name__)
                self.pending = outcomes + self.pending
                self.published_accounts.update(accounts)
                return
            self.flipped += flipped
            self.executor.held.difference_update(o.delivery_id for o in outcomes)

    def _write(self, outcomes: list[Outcome], accounts: list[str]) -> list[str]:
        runtime = self.executor.runtime
        with runtime.db.session() as session:
            flipped = claims.record(session, self.action, self.executor.owner, outcomes)
            claims.mark_published_accounts(session, accounts)
        return flipped

    async def _periodic_flush(self) -> None:
        last = time.monotonic()
        while await self._pause(0.1):
            if len(self.pending) >= FLUSH_AT or (
                    self.pending and time.monotonic() - last >= FLUSH_EVERY_S):
                await self.flush()
                last = time.monotonic()

    async def _recheck_fence(self) -> None:
        """The Redis fence can be lost with Redis; the items' status in the database cannot."""
        while await self._pause(FENCE_RECHECK_S):
            self.fenced.update(await asyncio.to_thread(self._withdrawn_items))

    def _withdrawn_items(self) -> list[str]:
        with self.executor.runtime.db.session() as session:
            return withdrawn_in_database(session, self.items)

    async def _check_fence(self) -> None:
        redis = self.executor.redis
        assert redis is not None
        self.fenced.update(await fenced_in_redis(redis, self.items))

    async def _watch_fence(self) -> None:
        while await self._pause(0.1):
            await self._check_fence()
