"""The engine's policy and the "withdraw wins" rule, with no I/O: a claim, an account and what
the platform answered go in, an outcome comes out."""

from __future__ import annotations

import inspect
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

import adapters.base as adapter_errors
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
from hub.fanout import backoff, policy
from hub.fanout.claims import MANUAL_DEADLINE, Claimed
from hub.fanout.fence import CANCELLED_IF_WAITING, MAYBE_LIVE, after_withdrawal
from hub.fanout.policy import LOOKUP_GRACE, Limits, budget_words
from hub.fanout.vocabulary import (
    Action,
    Cause,
    DeliveryState,
    ErrorKind,
    Lookup,
    Step,
    is_transient,
)
from hub.messages import Message
from hub.models import DELIVERY_STATES

S = DeliveryState
NOW = datetime(2026, 1, 1, tzinfo=UTC)
LIMITS = Limits(retry_max_attempts=8, interrupted_max=3, retry_base_s=2.0, retry_cap_s=900.0)
POST = Post(platform="weibo", fields={"text": "正文"})


@dataclass(frozen=True)
class Row:
    id: str = "acc_1"
    org_id: str = "org_1"
    name: str = "某县发布"
    status: str = "active"
    flagged_reason: str | None = None


def claimed(**changes: object) -> Claimed:
    base = Claimed(id="dlv_1", item_id="itm_1", version=1, account_id="acc_1", tries=1,
                   needs_lookup=False, remote_id=None, withdrawing=False, interrupted=0)
    return replace(base, **changes)


# ------------------------------------------------------------------ vocabulary


def test_every_adapter_error_kind_is_an_error_kind():
    kinds = {cls.kind for _, cls in inspect.getmembers(adapter_errors, inspect.isclass)
             if issubclass(cls, AdapterError)}
    assert kinds <= set(ErrorKind), kinds - set(ErrorKind)


def test_states_keep_their_stored_strings():
    assert [str(s) for s in S] == [s.value for s in S]
    assert f"{S.WITHDRAW_QUEUED}" == "withdraw_queued" and Action.PUBLISH == "publish"
    # Every state the engine writes is one the API knows; "unknown" is only retired.
    assert set(S) == set(DELIVERY_STATES) - {"unknown"}


def test_each_action_claims_its_own_states_into_its_own_in_flight_state():
    assert Action.PUBLISH.claimable == (S.QUEUED, S.RETRY)
    assert Action.WITHDRAW.claimable == (S.WITHDRAW_QUEUED, S.WITHDRAW_RETRY)
    assert (Action.PUBLISH.in_flight, Action.WITHDRAW.in_flight) == (S.SENDING, S.WITHDRAWING)
    assert (Action.PUBLISH.retry_state, Action.WITHDRAW.retry_state) == (S.RETRY,
                                                                       S.WITHDRAW_RETRY)


def test_lookup_marks_map_to_the_column():
    assert [m.value for m in Lookup] == [None, True, False]
    assert (Lookup.of(True), Lookup.of(False)) == (Lookup.NEEDED, Lookup.SETTLED)


# ------------------------------------------------------------------ withdraw wins


@pytest.mark.parametrize("state, lookup, after", [
    (S.PUBLISHED, Lookup.SETTLED, S.WITHDRAW_QUEUED),
    (S.PENDING_REVIEW, Lookup.KEEP, S.WITHDRAW_QUEUED),
    (S.RETRY, Lookup.NEEDED, S.WITHDRAW_QUEUED),  # may have gone out: look, then remove
    (S.FAILED, Lookup.NEEDED, S.WITHDRAW_QUEUED),
    (S.RETRY, Lookup.SETTLED, S.CANCELLED),  # never went out
    (S.RETRY, Lookup.KEEP, S.CANCELLED),
    (S.FAILED, Lookup.KEEP, S.FAILED),
    (S.FAILED, Lookup.SETTLED, S.FAILED),
    (S.CANCELLED, Lookup.KEEP, S.CANCELLED),
    (S.SKIPPED, Lookup.KEEP, S.SKIPPED),
])
def test_withdraw_wins_over_every_publish_outcome(state, lookup, after):
    assert after_withdrawal(state, lookup) is after


def test_the_withdrawal_transaction_applies_the_same_rule_to_rows_at_rest():
    assert all(after_withdrawal(s, Lookup.SETTLED) is S.WITHDRAW_QUEUED for s in MAYBE_LIVE)
    assert set(MAYBE_LIVE) == {s for s in S if s.is_live}
    assert S.SENDING not in CANCELLED_IF_WAITING  # a send under way is the worker's to settle


def test_a_fenced_delivery_is_cancelled_before_anything_else_is_looked_at():
    outcome = policy.before_publish(claimed(), None, False, None, fenced=True)
    assert outcome is not None
    assert (outcome.state, outcome.step, outcome.lookup) == (S.CANCELLED, Step.FENCED,
                                                             Lookup.KEEP)


# ------------------------------------------------------------------ publish


@pytest.mark.parametrize("account, readable, post, state, step, kind", [
    (None, False, POST, S.FAILED, Step.NO_ACCOUNT, ErrorKind.MISCONFIGURED),
    (Row(status="suspended"), True, POST, S.SKIPPED, Step.SKIPPED, ErrorKind.SKIPPED),
    (Row(flagged_reason="token revoked"), True, POST, S.FAILED, Step.FLAGGED, ErrorKind.AUTH),
    (Row(), False, POST, S.FAILED, Step.CREDENTIALS, ErrorKind.MISCONFIGURED),
    (Row(), True, CannotRender("太长 (too long)"), S.FAILED, Step.CANNOT_RENDER,
     ErrorKind.CANNOT_RENDER),
    (Row(), True, None, S.FAILED, Step.CANNOT_RENDER, ErrorKind.CANNOT_RENDER),
])
def test_what_settles_a_publish_before_any_call(account, readable, post, state, step, kind):
    outcome = policy.before_publish(claimed(needs_lookup=True), account, readable, post,
                                    fenced=False)
    assert outcome is not None
    assert (outcome.state, outcome.step, outcome.error_kind) == (state, step, kind)
    assert outcome.lookup is Lookup.KEEP  # says nothing about an earlier send
    assert outcome.error


def test_a_ready_delivery_goes_on_to_the_calls():
    assert policy.before_publish(claimed(), Row(), True, POST, fenced=False) is None


def test_a_lookup_that_finds_the_post_records_it_as_published():
    found = Receipt(remote_id="p-9", url="https://x/9", state="pending_review")
    outcome = policy.after_lookup(claimed(needs_lookup=True, tries=3), found, LIMITS)
    assert outcome is not None
    assert (outcome.state, outcome.step, outcome.remote_id, outcome.remote_url,
            outcome.lookup) == (S.PENDING_REVIEW, Step.FOUND, "p-9", "https://x/9",
                                Lookup.SETTLED)


def test_a_lookup_that_finds_nothing_sends_again_within_the_budgets():
    assert policy.after_lookup(claimed(needs_lookup=True, tries=8, interrupted=2), None,
                               LIMITS) is None


def test_a_lookup_that_finds_nothing_past_the_retry_budget_gives_up():
    outcome = policy.after_lookup(claimed(needs_lookup=True, tries=9), None, LIMITS)
    assert outcome is not None
    assert (outcome.state, outcome.step, outcome.error_kind, outcome.lookup) == (
        S.FAILED, Step.GAVE_UP, ErrorKind.RETRYABLE, Lookup.SETTLED)
    assert "重试8次" in outcome.error


def test_a_lookup_that_finds_nothing_after_too_many_lost_workers_stops():
    outcome = policy.after_lookup(claimed(needs_lookup=True, tries=1, interrupted=3), None,
                                  LIMITS)
    assert outcome is not None
    assert (outcome.state, outcome.step, outcome.error_kind, outcome.lookup) == (
        S.FAILED, Step.INTERRUPTED, ErrorKind.UNKNOWN, Lookup.SETTLED)


def test_an_unheard_worker_sends_later_and_keeps_what_it_knows_of_an_earlier_send():
    for maybe_live, lookup in ((True, Lookup.NEEDED), (False, Lookup.SETTLED)):
        outcome = policy.unheard(claimed(), maybe_live)
        assert (outcome.state, outcome.step, outcome.retry_in, outcome.lookup) == (
            S.RETRY, Step.UNHEARD, 1.0, lookup)


def test_a_publish_answer_becomes_published_or_pending_review():
    live = policy.published(claimed(), Receipt(remote_id="p-1", url="https://x/1"),
                            Step.PUBLISHED)
    review = policy.published(claimed(), Receipt(remote_id="p-2", state="pending_review"),
                              Step.PUBLISHED)
    assert (live.state, review.state) == (S.PUBLISHED, S.PENDING_REVIEW)
    assert live.lookup is review.lookup is Lookup.SETTLED


@pytest.mark.parametrize("err, maybe_live, lookup", [
    (Retryable("502"), False, Lookup.SETTLED),
    (Retryable("502"), True, Lookup.NEEDED),  # the earlier send is still unsettled
    (Retryable("reset", sent=True), False, Lookup.NEEDED),
    (OutcomeUnknown("timeout"), False, Lookup.NEEDED),
    (RateLimited("slow down", retry_after=7.0), True, Lookup.NEEDED),
])
def test_a_transient_failure_is_retried_and_says_whether_the_post_may_exist(err, maybe_live,
                                                                             lookup):
    outcome = policy.publish_failed(claimed(tries=2), Row(), err, maybe_live, LIMITS,
                                    random.Random(1))
    assert (outcome.state, outcome.step, outcome.error_kind, outcome.lookup) == (
        S.RETRY, ErrorKind(err.kind), ErrorKind(err.kind), lookup)
    assert outcome.retry_in is not None and outcome.retry_in >= 0
    if isinstance(err, RateLimited):
        assert outcome.retry_in >= 7.0  # the platform's Retry-After is honoured


def test_retry_waits_grow_with_the_tries_up_to_the_cap():
    rng = random.Random(7)
    for tries in range(1, 12):
        outcome = policy.publish_failed(claimed(tries=min(tries, 7)), Row(), Retryable("x"),
                                        False, LIMITS, rng)
        assert 0 <= outcome.retry_in <= min(900.0, 2.0 * 2 ** (min(tries, 7) - 1))


def test_a_transient_failure_on_the_last_try_fails():
    outcome = policy.publish_failed(claimed(tries=8), Row(), Retryable("502"), False, LIMITS)
    assert (outcome.state, outcome.retry_in) == (S.FAILED, None)
    assert "重试8次" in outcome.error


def test_a_send_that_may_have_gone_out_is_not_given_up_before_a_lookup_settles_it():
    for tries in range(8, 8 + LOOKUP_GRACE):
        outcome = policy.publish_failed(claimed(tries=tries), Row(), OutcomeUnknown("t"),
                                        False, LIMITS)
        assert (outcome.state, outcome.lookup) == (S.RETRY, Lookup.NEEDED)
    last = policy.publish_failed(claimed(tries=8 + LOOKUP_GRACE), Row(), OutcomeUnknown("t"),
                                 False, LIMITS)
    assert (last.state, last.lookup) == (S.FAILED, Lookup.NEEDED)  # withdraw still removes it


BUDGET = LIMITS.transient_retry_s
BUSY = Retryable("系统繁忙 (busy)", cause="busy")


def test_every_cause_an_adapter_names_is_in_the_vocabulary():
    import ast
    from pathlib import Path

    named = set()
    for path in Path(adapter_errors.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "cause" and isinstance(
                    node.value, ast.Constant) and node.value.value is not None:
                named.add(node.value.value)
    named.add(RateLimited.cause)
    assert named == set(Cause), named ^ set(Cause)
    assert is_transient(BUSY) and is_transient(RateLimited("x"))
    assert is_transient(OutcomeUnknown("t", cause="timeout"))
    assert not is_transient(Retryable("unknown code 99999")) and not is_transient(
        OutcomeUnknown("garbled"))


@pytest.mark.parametrize("err", [BUSY, RateLimited("x", retry_after=1.0),
                                 Retryable("502", cause="unavailable"),
                                 OutcomeUnknown("t", cause="timeout")])
def test_a_transient_error_is_retried_by_time_not_by_count(err):
    # 40 tries, 39 of them transient, 59 minutes into the budget: still retried, and the
    # retry is not counted against the attempt limit.
    c = claimed(tries=40, transient=39, transient_since=NOW - timedelta(minutes=59))
    outcome = policy.publish_failed(c, Row(), err, False, LIMITS, random.Random(3), now=NOW)
    assert (outcome.state, outcome.transient) == (S.RETRY, True), outcome
    # The last retry comes when the budget ends (or when the platform says, if later).
    assert outcome.retry_in <= max(60.0, getattr(err, "retry_after", 0.0))
    first = policy.publish_failed(claimed(tries=1), Row(), err, False, LIMITS, now=NOW)
    assert first.state is S.RETRY and first.transient  # starts the clock (claims.record)


def test_a_transient_error_past_the_budget_fails_saying_so():
    c = claimed(tries=17, transient=16, transient_since=NOW - timedelta(seconds=BUDGET))
    outcome = policy.publish_failed(c, Row(), BUSY, False, LIMITS, now=NOW)
    assert (outcome.state, outcome.error_kind, outcome.retry_in) == (
        S.FAILED, ErrorKind.RETRYABLE, None)
    assert outcome.error == (f"{Message('fanout.transient_gave_up', **budget_words(BUDGET))}: "
                             f"{BUSY.reason}")
    assert outcome.error.startswith("重试一小时后仍失败 (still failing after 1 h of retries)")
    rate = policy.publish_failed(c, Row(), RateLimited("x"), False, LIMITS, now=NOW)
    assert rate.state is S.FAILED and rate.error_kind is ErrorKind.RATE_LIMITED


def test_a_send_that_may_have_gone_out_past_the_budget_is_looked_up_before_giving_up():
    c = claimed(tries=17, transient=16, transient_since=NOW - timedelta(seconds=BUDGET))
    outcome = policy.publish_failed(c, Row(), OutcomeUnknown("t", cause="timeout"), False,
                                    LIMITS, now=NOW)
    assert (outcome.state, outcome.lookup) == (S.RETRY, Lookup.NEEDED)
    looked = policy.after_lookup(replace(c, needs_lookup=True), None, LIMITS, NOW)
    assert looked is not None and (looked.state, looked.step, looked.lookup) == (
        S.FAILED, Step.GAVE_UP, Lookup.SETTLED)
    assert looked.error.startswith("重试一小时后仍失败，平台上确认没有该稿")
    within = claimed(tries=30, transient=29, needs_lookup=True,
                     transient_since=NOW - timedelta(minutes=5))
    assert policy.after_lookup(within, None, LIMITS, NOW) is None  # send again


def test_the_attempt_limit_counts_only_errors_that_are_not_transient():
    odd = Retryable("微信返回错误码 99999 (WeChat error 99999)")
    mixed = claimed(tries=15, transient=8, transient_since=NOW - timedelta(minutes=1))
    assert policy.publish_failed(mixed, Row(), odd, False, LIMITS, now=NOW).state is S.RETRY
    spent = claimed(tries=16, transient=8, transient_since=NOW - timedelta(minutes=1))
    outcome = policy.publish_failed(spent, Row(), odd, False, LIMITS, now=NOW)
    assert outcome.state is S.FAILED and not outcome.transient
    assert outcome.error.startswith("重试8次仍失败"), outcome.error


@pytest.mark.parametrize("seconds, zh, en", [(3600, "一小时", "1 h"), (7200, "2小时", "2 h"),
                                             (1800, "30分钟", "30 min"), (2.5, "2.5秒", "2.5 s")])
def test_the_budget_reads_in_both_languages(seconds, zh, en):
    assert budget_words(seconds) == {"budget_zh": zh, "budget_en": en}


def test_rejected_credentials_fail_and_flag_the_account():
    outcome = policy.publish_failed(claimed(), Row(id="acc_7"), AuthFailed("revoked"), False,
                                    LIMITS)
    assert (outcome.state, outcome.error_kind, outcome.flag_account, outcome.flag_reason) == (
        S.FAILED, ErrorKind.AUTH, "acc_7", "revoked")


@pytest.mark.parametrize("err", [ContentRejected("敏感词"), AccountMisconfigured("no appid"),
                                 Unsupported("no"), AdapterError("odd")])
def test_a_permanent_failure_fails_at_once(err):
    outcome = policy.publish_failed(claimed(), Row(), err, True, LIMITS)
    assert (outcome.state, outcome.step, outcome.retry_in, outcome.flag_account) == (
        S.FAILED, ErrorKind(err.kind), None, None)
    assert outcome.lookup is Lookup.NEEDED  # an unsettled earlier send stays unsettled


# ------------------------------------------------------------------ withdraw


@pytest.mark.parametrize("account, readable, can_withdraw, state, step", [
    (None, False, True, S.WITHDRAWN, Step.NO_ACCOUNT),
    (Row(status="closed"), True, True, S.WITHDRAWN, Step.ACCOUNT_CLOSED),
    (Row(), True, False, S.MANUAL, Step.MANUAL),
    (Row(), False, True, S.MANUAL, Step.MANUAL),
])
def test_what_settles_a_withdrawal_before_any_call(account, readable, can_withdraw, state,
                                                   step):
    outcome = policy.before_withdraw(claimed(), account, readable, can_withdraw=can_withdraw,
                                     now=NOW)
    assert outcome is not None and (outcome.state, outcome.step) == (state, step)


def test_a_manual_removal_opens_a_task_for_the_accounts_org():
    outcome = policy.before_withdraw(claimed(), Row(), True, can_withdraw=False, now=NOW)
    assert outcome is not None and outcome.task is not None
    assert outcome.task | {"title": None} == {
        "org_id": "org_1", "account_id": "acc_1", "item_id": "itm_1", "title": None,
        "detail": "平台不支持接口撤稿 (the platform cannot delete by API)",
        "deadline": NOW + MANUAL_DEADLINE}
    assert "某县发布" in outcome.task["title"]


def test_the_post_to_remove_is_the_parked_answer_only_when_it_says_published():
    c = claimed(remote_id="publish-id")
    live = Receipt(remote_id="article-id", state="published")
    assert policy.remote_id_to_remove(c, live) == "article-id"
    assert policy.remote_id_to_remove(c, Receipt(remote_id="x", state="rejected")) == \
        "publish-id"
    assert policy.remote_id_to_remove(replace(c, needs_lookup=True), live) == "publish-id"
    assert policy.remote_id_to_remove(c, None) == "publish-id"
    assert policy.must_look_up(c, None) and not policy.must_look_up(c, "publish-id")
    assert policy.must_look_up(replace(c, needs_lookup=True), "publish-id")


def test_nothing_found_to_remove_is_withdrawn_unless_it_cannot_be_checked():
    done = policy.nothing_to_remove(claimed(), Row(), can_lookup=True, now=NOW)
    assert (done.state, done.step, done.lookup) == (S.WITHDRAWN, Step.NOT_FOUND,
                                                    Lookup.SETTLED)
    blind = policy.nothing_to_remove(claimed(), Row(), can_lookup=False, now=NOW)
    assert blind.state is S.MANUAL and blind.task is not None


def test_a_removal_records_the_post_it_removed():
    outcome = policy.withdrawn(claimed(), "p-3")
    assert (outcome.state, outcome.remote_id, outcome.lookup, outcome.error) == (
        S.WITHDRAWN, "p-3", Lookup.SETTLED, None)


@pytest.mark.parametrize("err, state, flagged", [
    (RateLimited("x", retry_after=0.1), S.WITHDRAW_RETRY, False),
    (Retryable("502"), S.WITHDRAW_RETRY, False),
    (OutcomeUnknown("timeout"), S.WITHDRAW_RETRY, False),
    (Unsupported("no API"), S.MANUAL, False),
    (ContentRejected("x"), S.MANUAL, False),
    (AuthFailed("revoked"), S.MANUAL, True),
    (AccountMisconfigured("bad"), S.MANUAL, True),
])
def test_a_withdrawal_never_gives_up(err, state, flagged):
    outcome = policy.withdraw_failed(claimed(tries=50), Row(), err, LIMITS, NOW)
    assert outcome is not None and outcome.state is state
    assert (outcome.flag_account is not None) is flagged
    if state is S.WITHDRAW_RETRY:
        assert 0.0 <= outcome.retry_in <= backoff.WITHDRAW_CAP_S
        if isinstance(err, RateLimited):
            assert outcome.retry_in == 0.5


def test_an_error_the_withdraw_policy_does_not_know_is_left_to_the_crash_path():
    assert policy.withdraw_failed(claimed(), Row(), AdapterError("odd"), LIMITS, NOW) is None
    publish = policy.crashed(Action.PUBLISH, claimed(), KeyError("x"))
    withdraw = policy.crashed(Action.WITHDRAW, claimed(), KeyError("x"))
    assert (publish.state, publish.lookup) == (S.RETRY, Lookup.NEEDED)
    assert (withdraw.state, withdraw.lookup) == (S.WITHDRAW_RETRY, Lookup.KEEP)
    assert publish.step is withdraw.step is Step.CRASH and "KeyError" in publish.error


def test_only_a_finished_withdrawal_that_kept_losing_workers_closes_its_task():
    tired = claimed(interrupted=3)
    done = policy.withdrawn(tired, "p")
    assert policy.closes_task(Action.WITHDRAW, tired, done, LIMITS)
    assert not policy.closes_task(Action.WITHDRAW, claimed(interrupted=2), done, LIMITS)
    retry = policy.withdraw_failed(tired, Row(), Retryable("x"), LIMITS, NOW)
    assert retry is not None and not policy.closes_task(Action.WITHDRAW, tired, retry, LIMITS)


def test_a_withdrawal_failing_transiently_past_the_budget_opens_a_task_and_goes_on():
    fresh = claimed(tries=30, transient=29, transient_since=NOW - timedelta(minutes=59))
    retry = policy.withdraw_failed(fresh, Row(), BUSY, LIMITS, NOW)
    assert retry is not None and (retry.state, retry.transient, retry.task) == (
        S.WITHDRAW_RETRY, True, None)
    spent = replace(fresh, transient_since=NOW - timedelta(seconds=BUDGET))
    retry = policy.withdraw_failed(spent, Row(), BUSY, LIMITS, NOW)
    assert retry is not None and retry.state is S.WITHDRAW_RETRY and retry.retry_in is not None
    assert retry.task is not None and retry.task["detail"].startswith("撤稿重试一小时后仍失败")
    assert not policy.closes_task(Action.WITHDRAW, spent, retry, LIMITS, NOW)
    assert policy.closes_task(Action.WITHDRAW, spent, policy.withdrawn(spent, "p"), LIMITS, NOW)
    assert not policy.closes_task(Action.WITHDRAW, fresh, policy.withdrawn(fresh, "p"), LIMITS,
                                  NOW)
    # An error that is not transient neither counts towards the budget nor opens a task.
    odd = policy.withdraw_failed(spent, Row(), Retryable("odd"), LIMITS, NOW)
    assert odd is not None and odd.task is None and not odd.transient


def test_the_rate_budget_sends_either_action_back_to_the_schedule():
    for action in Action:
        outcome = policy.throttled(action, claimed(), 4.5)
        assert (outcome.state, outcome.step, outcome.error_kind, outcome.retry_in) == (
            action.retry_state, Step.THROTTLED, ErrorKind.RATE_LIMITED, 4.5)


def test_limits_come_from_the_settings():
    from hub.infra.config import Settings

    settings = Settings()
    assert Limits.of(settings) == Limits(settings.retry_max_attempts, settings.interrupted_max,
                                         settings.retry_base_s, settings.retry_cap_s)


def test_a_withdrawal_counts_each_remaining_state_once():
    from hub.fanout.progress import WITHDRAW_REMAINING

    assert len(set(WITHDRAW_REMAINING)) == len(WITHDRAW_REMAINING), WITHDRAW_REMAINING
