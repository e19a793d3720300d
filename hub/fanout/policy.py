"""What happens to one claimed delivery, decided without I/O: a claim, what is known of its
account and post, and what the platform answered go in; an ``Outcome`` comes out.

The executor makes the calls (lookup, rate budget, publish, withdraw) in the order
``Executor._publish`` and ``Executor._withdraw`` show, and asks this module at each step
whether the delivery is settled. Retry timing draws from ``rng`` (full jitter: see
``backoff``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from adapters.base import (
    AccountMisconfigured,
    AdapterError,
    AuthFailed,
    ContentRejected,
    OutcomeUnknown,
    RateLimited,
    Receipt,
    Retryable,
    Unsupported,
)
from channels.base import CannotRender, Post

from ..messages import Message
from . import auth_states, backoff
from .claims import MANUAL_DEADLINE, Claimed, Outcome
from .fence import HOLD_RETRY_S
from .vocabulary import Action, DeliveryState, ErrorKind, Lookup, Step, is_transient

S = DeliveryState
LOOKUP_GRACE = 3  # attempts beyond the last one, spent only on finding out whether it exists


class AccountView(Protocol):
    """What the policy reads of an account (a ``claims.ACCOUNT_FIELDS`` row)."""

    id: str
    org_id: str
    name: str
    status: str
    flagged_reason: str | None
    auth_state: str


@dataclass(frozen=True)
class Limits:
    """The settings the policy follows (``Settings`` fields of the same names)."""

    retry_max_attempts: int = 8
    interrupted_max: int = 30
    retry_base_s: float = 2.0
    retry_cap_s: float = 900.0
    transient_retry_s: float = 3600.0

    @classmethod
    def of(cls, settings: object) -> Limits:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


CANCELLED_BY_WITHDRAWAL = "撤稿时尚未发出，已取消 (cancelled by withdrawal before sending)"


# ------------------------------------------------------------------ publish


def before_publish(c: Claimed, account: AccountView | None, readable: bool,
                   post: Post | CannotRender | None, *, fenced: bool) -> Outcome | None:
    """Settled before any call (``readable``: its credentials could be decrypted)."""
    if fenced:
        return fenced_off(c)
    if account is None:
        return Outcome(delivery_id=c.id, state=S.FAILED, step=Step.NO_ACCOUNT,
                       error_kind=ErrorKind.MISCONFIGURED,
                       error="账号不存在 (account no longer exists)")
    if account.status != "active":
        return Outcome(delivery_id=c.id, state=S.SKIPPED, step=Step.SKIPPED,
                       error_kind=ErrorKind.SKIPPED,
                       error=f"账号状态为 {account.status}，未推送 (account is {account.status})")
    if account.flagged_reason:
        return Outcome(delivery_id=c.id, state=S.FAILED, step=Step.FLAGGED,
                       error_kind=ErrorKind.AUTH,
                       error=f"账号凭据失效，请更新凭据后重推 (credentials rejected earlier: "
                             f"{account.flagged_reason})")
    if auth_states.blocked(getattr(account, "auth_state", None)):
        return Outcome(delivery_id=c.id, state=S.FAILED, step=Step.FLAGGED,
                       error_kind=ErrorKind.AUTH, error=auth_states.reason(account.auth_state))
    if not readable:
        return Outcome(delivery_id=c.id, state=S.FAILED, step=Step.CREDENTIALS,
                       error_kind=ErrorKind.MISCONFIGURED,
                       error="账号凭据无法解密，请重新录入 (stored credentials unreadable)")
    if isinstance(post, CannotRender) or post is None:
        reason = post.reason if isinstance(post, CannotRender) else "无法生成稿件 (no post)"
        return Outcome(delivery_id=c.id, state=S.FAILED, step=Step.CANNOT_RENDER,
                       error_kind=ErrorKind.CANNOT_RENDER, error=reason)
    return None


def fenced_off(c: Claimed) -> Outcome:
    """Its item was withdrawn before it went out (see ``fence``)."""
    return Outcome(delivery_id=c.id, state=S.CANCELLED, step=Step.FENCED,
                   error=CANCELLED_BY_WITHDRAWAL)


def held(c: Claimed, maybe_live: bool) -> Outcome:
    """A withdrawal of its item is being written (``fence``, layer 0): not sent now. Once the
    withdrawal commits this retry is written as ``cancelled``; if it failed, the send goes out
    a moment later."""
    return Outcome(delivery_id=c.id, state=S.RETRY, step=Step.HELD,
                   error="撤稿处理中，暂缓发送 (a withdrawal is being recorded; holding)",
                   retry_in=HOLD_RETRY_S, lookup=Lookup.of(maybe_live))


def unverifiable(c: Claimed) -> Outcome:
    """An earlier send's answer was lost and the platform cannot be asked."""
    return Outcome(delivery_id=c.id, state=S.FAILED, step=Step.UNVERIFIABLE,
                   error_kind=ErrorKind.UNKNOWN,
                   error="发送结果未知且平台无法查询，请人工核实是否已发布 "
                         "(outcome unknown; the platform cannot be queried)")


def after_lookup(c: Claimed, found: Receipt | None, limits: Limits,
                 now: datetime | None = None) -> Outcome | None:
    """An earlier send's answer was lost; the platform was asked. None: send again (unless
    the retries ran out: of time for transient errors, of attempts for the others)."""
    if found is not None:
        return published(c, found, Step.FOUND)
    if now is not None and transient_spent(c, limits, now):
        return Outcome(delivery_id=c.id, state=S.FAILED, step=Step.GAVE_UP,
                       error_kind=ErrorKind.RETRYABLE, lookup=Lookup.SETTLED,
                       error=str(Message("fanout.transient_gave_up_verified",
                                         **budget_words(limits.transient_retry_s))))
    if c.tries - c.transient > limits.retry_max_attempts:
        return Outcome(delivery_id=c.id, state=S.FAILED, step=Step.GAVE_UP,
                       error_kind=ErrorKind.RETRYABLE, lookup=Lookup.SETTLED,
                       error=f"重试{c.tries - 1}次仍失败，平台上确认没有该稿 "
                             f"(gave up; verified not on the platform)")
    if c.interrupted >= limits.interrupted_max:
        return Outcome(delivery_id=c.id, state=S.FAILED, step=Step.INTERRUPTED,
                       error_kind=ErrorKind.UNKNOWN, lookup=Lookup.SETTLED,
                       error=f"发送时工作进程已中断{c.interrupted}次，平台上确认没有该稿，请检查后重推 "
                             f"(the worker died {c.interrupted} times while sending; verified "
                             f"not on the platform)")
    return None


def unheard(c: Claimed, maybe_live: bool) -> Outcome:
    """This worker's heartbeat lapsed: its claims may be another worker's by now, and that
    one looks before it sends."""
    return Outcome(delivery_id=c.id, state=S.RETRY, step=Step.UNHEARD,
                   error_kind=ErrorKind.RETRYABLE,
                   error="工作进程心跳中断，稍后发送 (this worker's heartbeat lapsed; sending later)",
                   retry_in=1.0, lookup=Lookup.of(maybe_live))


def published(c: Claimed, receipt: Receipt, step: Step) -> Outcome:
    state = S.PENDING_REVIEW if receipt.state == "pending_review" else S.PUBLISHED
    return Outcome(delivery_id=c.id, state=state, step=step, remote_id=receipt.remote_id,
                   remote_url=receipt.url, lookup=Lookup.SETTLED)


def publish_failed(c: Claimed, account: AccountView, err: AdapterError, maybe_live: bool,
                   limits: Limits, rng: random.Random | None = None,
                   now: datetime | None = None) -> Outcome:
    """The publish call (or the lookup before it) raised. ``maybe_live``: an earlier send may
    have gone out and no lookup has settled it since.

    A transient error (``vocabulary.Cause``) is retried until ``transient_retry_s`` have
    passed since the first of them, however many attempts that takes; other retryable errors
    get ``retry_max_attempts`` attempts, transient ones not counted."""
    kind = ErrorKind(err.kind)
    # Unless this error says the send may have gone out, a lookup still owed stays owed.
    lookup = Lookup.of(maybe_live)
    if isinstance(err, Retryable):
        unknown = isinstance(err, OutcomeUnknown) or err.sent
        if unknown:
            lookup = Lookup.NEEDED
        if is_transient(err):
            return _transient_retry(c, err, kind, lookup, unknown, limits, rng,
                                    now or datetime.now(UTC))
        last = limits.retry_max_attempts
        tries = c.tries - c.transient
        if tries >= last and not (unknown and tries < last + LOOKUP_GRACE):
            # A post that may exist is not given up on before a lookup has settled it.
            return Outcome(delivery_id=c.id, state=S.FAILED, step=kind, error_kind=kind,
                           lookup=lookup, error=f"重试{tries}次仍失败 (gave up after "
                                                f"{tries} attempts): {err.reason}")
        return Outcome(delivery_id=c.id, state=S.RETRY, step=kind, error_kind=kind,
                       error=err.reason, lookup=lookup,
                       retry_in=backoff.delay(c.tries, base=limits.retry_base_s,
                                              cap=limits.retry_cap_s, rng=rng))
    if isinstance(err, AuthFailed):
        return Outcome(delivery_id=c.id, state=S.FAILED, step=kind, error_kind=kind,
                       error=err.reason, lookup=lookup, flag_account=account.id,
                       flag_reason=err.reason,
                       flag_auth_state=getattr(err, "auth_state", None))
    return Outcome(delivery_id=c.id, state=S.FAILED, step=kind, error_kind=kind,
                   error=err.reason, lookup=lookup)


def transient_spent(c: Claimed, limits: Limits, now: datetime) -> bool:
    """Whether this delivery's transient errors have been retried for the whole budget."""
    return (c.transient_since is not None
            and (now - c.transient_since).total_seconds() >= limits.transient_retry_s)


def budget_words(seconds: float) -> dict[str, str]:
    """The time budget in words, each language's (``budget_zh``, ``budget_en``)."""
    whole = round(seconds)
    if whole >= 3600 and whole % 3600 == 0:
        hours = whole // 3600
        return {"budget_zh": "一小时" if hours == 1 else f"{hours}小时",
                "budget_en": f"{hours} h"}
    if whole >= 60 and whole % 60 == 0:
        return {"budget_zh": f"{whole // 60}分钟", "budget_en": f"{whole // 60} min"}
    return {"budget_zh": f"{seconds:g}秒", "budget_en": f"{seconds:g} s"}


def _transient_retry(c: Claimed, err: Retryable, kind: ErrorKind, lookup: Lookup,
                     unknown: bool, limits: Limits, rng: random.Random | None,
                     now: datetime) -> Outcome:
    elapsed = (now - c.transient_since).total_seconds() if c.transient_since else 0.0
    budget = limits.transient_retry_s
    # A send that may have gone out gets the few retries a lookup needs to settle it.
    grace = LOOKUP_GRACE * limits.retry_cap_s if unknown else 0.0
    if elapsed >= budget + grace:
        gave_up = Message("fanout.transient_gave_up", **budget_words(budget))
        return Outcome(delivery_id=c.id, state=S.FAILED, step=kind, error_kind=kind,
                       lookup=lookup, error=f"{gave_up}: {err.reason}")
    retry_after = err.retry_after if isinstance(err, RateLimited) else 0.0
    base, cap = (1.0, 60.0) if isinstance(err, RateLimited) else (limits.retry_base_s,
                                                                 limits.retry_cap_s)
    wait = backoff.delay(c.tries, base=base, cap=cap, rng=rng)
    if elapsed < budget:
        wait = min(wait, budget - elapsed)  # the last retry comes when the budget ends
    return Outcome(delivery_id=c.id, state=S.RETRY, step=kind, error_kind=kind,
                   error=err.reason, lookup=lookup, retry_in=max(wait, retry_after),
                   transient=True)


# ------------------------------------------------------------------ withdraw


def before_withdraw(c: Claimed, account: AccountView | None, readable: bool, *,
                    can_withdraw: bool, now: datetime) -> Outcome | None:
    """Settled before any call (``can_withdraw``: the platform deletes by API)."""
    if account is None:
        return Outcome(delivery_id=c.id, state=S.WITHDRAWN, step=Step.NO_ACCOUNT,
                       error="账号已不存在 (account no longer exists)")
    if account.status == "closed":
        return Outcome(delivery_id=c.id, state=S.WITHDRAWN, step=Step.ACCOUNT_CLOSED,
                       error="账号已关闭，视为已撤回 (account closed)")
    if not can_withdraw or not readable:
        why = "平台不支持接口撤稿 (the platform cannot delete by API)" if readable else \
            "账号凭据无法解密 (stored credentials unreadable)"
        return manual(c, account, why, now)
    return None


def remote_id_to_remove(c: Claimed, early: Receipt | None) -> str | None:
    """A parked "published" names the post, deleted with one call. A parked failure is only
    an event's word: the removal asks the platform about the publish id."""
    if early is not None and not c.needs_lookup and early.state == "published":
        return early.remote_id
    return c.remote_id


def must_look_up(c: Claimed, remote_id: str | None) -> bool:
    return remote_id is None or c.needs_lookup


def nothing_to_remove(c: Claimed, account: AccountView, *, can_lookup: bool,
                      now: datetime) -> Outcome:
    """No post is known, and a lookup (if the platform has one) found none."""
    if not can_lookup:
        return manual(c, account, "无法确认平台上是否有该稿 (cannot verify)", now)
    return Outcome(delivery_id=c.id, state=S.WITHDRAWN, step=Step.NOT_FOUND,
                   lookup=Lookup.SETTLED, error="平台上未找到该稿，无需删除 (not on the platform)")


def withdrawn(c: Claimed, remote_id: str | None) -> Outcome:
    return Outcome(delivery_id=c.id, state=S.WITHDRAWN, step=Step.WITHDRAWN,
                   remote_id=remote_id, lookup=Lookup.SETTLED)


def closes_task(action: Action, c: Claimed, outcome: Outcome, limits: Limits,
                now: datetime | None = None) -> bool:
    """A withdrawal that kept losing its worker (``claims.stale_leases``) or kept failing on
    transient errors past the budget (``withdraw_failed``) has a manual task open: the
    attempt that finally settles it closes the task."""
    return (action is Action.WITHDRAW and outcome.state is S.WITHDRAWN
            and (c.interrupted >= limits.interrupted_max
                 or transient_spent(c, limits, now or datetime.now(UTC))))


def withdraw_failed(c: Claimed, account: AccountView, err: AdapterError, limits: Limits,
                    now: datetime, rng: random.Random | None = None) -> Outcome | None:
    """The removal (or the lookup before it) raised. None: an error this policy does not
    know, handled like a crash (``crashed``)."""
    kind = ErrorKind(err.kind)
    if isinstance(err, Retryable):
        # Withdrawals never give up, retry twice as eagerly and wait at most a minute. A
        # transient error that outlasts the time budget also opens a manual task, so people
        # remove the post by hand while the retries go on; whichever is first closes it.
        retry_in = (max(err.retry_after, 0.5) if isinstance(err, RateLimited) else
                    backoff.delay(c.tries, base=limits.retry_base_s / 2,
                                  cap=min(backoff.WITHDRAW_CAP_S, limits.retry_cap_s), rng=rng))
        outcome = Outcome(delivery_id=c.id, state=S.WITHDRAW_RETRY, step=kind,
                          error_kind=kind, error=err.reason, retry_in=retry_in,
                          transient=is_transient(err))
        if outcome.transient and transient_spent(c, limits, now):
            why = Message("fanout.transient_withdraw_task", **budget_words(
                limits.transient_retry_s))
            outcome.task = manual(c, account, f"{why}: {err.reason}", now).task
        return outcome
    if isinstance(err, (Unsupported, ContentRejected)):
        return manual(c, account, err.reason, now)
    if isinstance(err, (AuthFailed, AccountMisconfigured)):
        outcome = manual(c, account, err.reason, now)
        outcome.flag_account, outcome.flag_reason = account.id, err.reason
        outcome.flag_auth_state = getattr(err, "auth_state", None)
        return outcome
    return None


def manual(c: Claimed, account: AccountView, why: str, now: datetime) -> Outcome:
    """A person must remove it: a manual task is opened."""
    return Outcome(delivery_id=c.id, state=S.MANUAL, step=Step.MANUAL,
                   error_kind=ErrorKind.MANUAL, error=f"需人工删除：{why} (manual removal needed)",
                   task={"org_id": account.org_id, "account_id": account.id,
                         "item_id": c.item_id,
                         "title": f"请在{account.name}上手动删除稿件 (delete the post by hand)",
                         "detail": why[:2000], "deadline": now + MANUAL_DEADLINE})


# ------------------------------------------------------------------ either


def throttled(action: Action, c: Claimed, wait: float) -> Outcome:
    """The shared rate budget says wait longer than a call may: back to the schedule."""
    error = ("本地限速，稍后发送 (rate budget exhausted, will send soon)"
             if action is Action.PUBLISH else "本地限速 (rate budget)")
    return Outcome(delivery_id=c.id, state=action.retry_state, step=Step.THROTTLED,
                   error_kind=ErrorKind.RATE_LIMITED, error=error, retry_in=wait)


BUDGET_AWAY_RETRY_S = 2.0


def budget_unreachable(action: Action, c: Claimed) -> Outcome:
    """Redis (the shared rate budget) did not answer: nothing was sent, so no lookup and no
    retry counted; the row goes back to the schedule for a moment, not to a crash backoff."""
    return Outcome(delivery_id=c.id, state=action.retry_state, step=Step.THROTTLED,
                   error_kind=ErrorKind.RETRYABLE,
                   error="限速服务暂不可用，稍后发送 (the rate budget is unreachable; will send soon)",
                   retry_in=BUDGET_AWAY_RETRY_S)


def crashed(action: Action, c: Claimed, err: Exception,
            rng: random.Random | None = None) -> Outcome:
    """A bug in the engine must not lose the delivery: retried, slower each time (every
    claim counts here, interrupted ones included); a publish is looked up first."""
    return Outcome(delivery_id=c.id, state=action.retry_state, step=Step.CRASH,
                   error_kind=ErrorKind.UNKNOWN,
                   error=f"内部错误，将重试 (internal error: {type(err).__name__})",
                   retry_in=backoff.delay(c.tries + c.interrupted, base=5, cap=300, rng=rng),
                   lookup=Lookup.NEEDED if action is Action.PUBLISH else Lookup.KEEP)
