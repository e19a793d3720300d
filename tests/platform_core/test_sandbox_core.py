"""SandboxState on its own: ledger semantics, accounts, tokens, config, fault rolls."""

from __future__ import annotations

import random

import pytest

from sandbox.core import FAULT_KINDS, SandboxConfig, SandboxState, fingerprint


def make_state(**config: object) -> SandboxState:
    sandbox_config = SandboxConfig()
    sandbox_config.update(config)
    return SandboxState(sandbox_config, platforms=["weibo", "wechat"], rng=random.Random(7))


# ---------------------------------------------------------------- ledger


def test_same_title_and_text_while_live_counts_a_duplicate() -> None:
    ledger = make_state().ledger
    first = ledger.create("weibo", "u1", remote_id="1", title="通知", text="正文")
    second = ledger.create("weibo", "u1", remote_id="2", title="通知", text="正文")
    third = ledger.create("weibo", "u1", remote_id="3", title="通知", text="正文")

    assert (first.duplicate, second.duplicate, third.duplicate) == (False, True, True)
    assert ledger.stats()["weibo"] == {"created": 3, "deleted": 0, "live": 3, "duplicates": 2}


def test_posts_repeating_a_text_keep_one_copy_of_it() -> None:
    """A province-wide push repeats one article on every account: the sandbox's memory must
    grow with the accounts, not with accounts times the article's size."""
    ledger = make_state().ledger

    def fresh(text: str) -> str:  # equal to ``text``, but a new object each time
        return "".join(list(text))

    body = "<p>各地要压实防汛责任。</p>" * 2000
    posts = [ledger.create("wechat", f"app{n}", remote_id=str(n), title=fresh("防汛部署"),
                           text=fresh(body)) for n in range(3)]
    assert fresh(body) is not fresh(body)
    assert all(p.text is posts[0].text and p.title is posts[0].title for p in posts)
    assert posts[0].text == body and posts[0].title == "防汛部署"


def test_other_account_platform_or_text_is_not_a_duplicate() -> None:
    ledger = make_state().ledger
    ledger.create("weibo", "u1", remote_id="1", title="通知", text="正文")
    assert not ledger.create("weibo", "u2", remote_id="2", title="通知", text="正文").duplicate
    assert not ledger.create("wechat", "u1", remote_id="1", title="通知", text="正文").duplicate
    assert not ledger.create("weibo", "u1", remote_id="3", title="通知", text="正文2").duplicate
    assert not ledger.create("weibo", "u1", remote_id="4", title="通知2", text="正文").duplicate


def test_reposting_after_delete_is_not_a_duplicate_but_after_one_of_two_is() -> None:
    ledger = make_state().ledger
    ledger.create("weibo", "u1", remote_id="1", title="t", text="x")
    ledger.create("weibo", "u1", remote_id="2", title="t", text="x")
    assert ledger.delete("weibo", "1")
    # one twin ("2") still live
    assert ledger.create("weibo", "u1", remote_id="3", title="t", text="x").duplicate
    assert ledger.delete("weibo", "2")
    assert ledger.delete("weibo", "3")
    assert not ledger.create("weibo", "u1", remote_id="4", title="t", text="x").duplicate


def test_delete_is_true_once_and_false_for_unknown_posts() -> None:
    ledger = make_state().ledger
    ledger.create("weibo", "u1", remote_id="1", title="t", text="x")

    assert ledger.delete("weibo", "1") is True
    assert ledger.delete("weibo", "1") is False
    assert ledger.delete("weibo", "nope") is False
    assert ledger.delete("wechat", "1") is False
    post = ledger.get("weibo", "1")
    assert post is not None and post.state == "deleted" and post.deleted_at is not None
    assert ledger.stats()["weibo"] == {"created": 1, "deleted": 1, "live": 0, "duplicates": 0}


def test_remote_ids_are_unique_per_platform() -> None:
    ledger = make_state().ledger
    ledger.create("weibo", "u1", remote_id="1", title="t", text="x")
    with pytest.raises(ValueError):
        ledger.create("weibo", "u2", remote_id="1", title="t", text="y")
    ledger.create("wechat", "u1", remote_id="1", title="t", text="x")
    assert len({ledger.new_id("p") for _ in range(1000)}) == 1000


def test_list_filters_by_platform_account_and_state_in_creation_order() -> None:
    ledger = make_state().ledger
    ledger.create("weibo", "u1", remote_id="1", title="a", text="x")
    ledger.create("weibo", "u2", remote_id="2", title="b", text="x")
    ledger.create("wechat", "u1", remote_id="3", title="c", text="x")
    ledger.create("weibo", "u1", remote_id="4", title="d", text="x")
    ledger.delete("weibo", "4")

    def ids(**filters: str) -> list[str]:
        return [p.remote_id for p in ledger.list(**filters)]  # type: ignore[arg-type]

    assert ids() == ["1", "2", "3", "4"]
    assert ids(platform="weibo") == ["1", "2", "4"]
    assert ids(account="u1") == ["1", "3", "4"]
    assert ids(platform="weibo", account="u1") == ["1", "4"]
    assert ids(platform="weibo", account="u1", state="live") == ["1"]
    assert ids(state="deleted") == ["4"]
    assert ids(platform="douyin") == []


def test_post_dict_has_the_contract_fields_and_extra_stays_private() -> None:
    state = make_state()
    post = state.ledger.create(
        "weibo", "u1", remote_id="9", title="标题", text="正文", extra={"marker": "d1"}
    )
    assert post.as_dict().keys() == {
        "platform", "account", "remote_id", "title", "text", "state", "created_at"
    }  # fmt: skip
    assert post.as_dict()["created_at"].endswith("Z")
    assert post.extra == {"marker": "d1"}


# ---------------------------------------------------------------- accounts and tokens


def test_credentials_are_accepted_on_first_use_and_must_match_afterwards() -> None:
    accounts = make_state().accounts
    assert accounts.check("wechat", "wx1", fingerprint("secret-a")) == "ok"
    assert accounts.check("wechat", "wx1", fingerprint("secret-a")) == "ok"
    assert accounts.check("wechat", "wx1", fingerprint("secret-b")) == "mismatch"
    assert accounts.check("wechat", "wx2", fingerprint("secret-b")) == "ok"

    accounts.revoke("wechat", "wx1")
    assert accounts.check("wechat", "wx1", fingerprint("secret-a")) == "revoked"
    assert accounts.check("wechat", "wx2", fingerprint("secret-b")) == "ok"


def test_registered_account_data_reads_back_per_platform() -> None:
    accounts = make_state().accounts
    accounts.register("cityapp", "app1", {"signing_secret": "whsec_x"})
    assert accounts.registered("cityapp", "app1") == {"signing_secret": "whsec_x"}
    assert accounts.registered("cityapp", "app2") is None
    assert accounts.registered("weibo", "app1") is None


def test_tokens_expire_on_the_sandbox_clock_and_die_with_revocation() -> None:
    state = make_state()
    token = state.tokens.issue("wechat", "wx1", ttl_s=7200)
    assert state.tokens.resolve("wechat", token) == ("wx1", "ok")
    assert state.tokens.resolve("weibo", token) == (None, "unknown")

    state.clock.advance(7199)
    assert state.tokens.resolve("wechat", token) == ("wx1", "ok")
    state.clock.advance(1)
    assert state.tokens.resolve("wechat", token) == ("wx1", "expired")

    fresh = state.tokens.issue("wechat", "wx1", ttl_s=7200)
    state.accounts.revoke("wechat", "wx1")
    assert state.tokens.resolve("wechat", fresh) == ("wx1", "revoked")
    state.tokens.invalidate("wechat", "wx1")
    assert state.tokens.resolve("wechat", fresh) == (None, "unknown")


def test_clock_moves_forward_only_and_reset_returns_to_real_time() -> None:
    state = make_state()
    before = state.clock.now()
    assert state.clock.advance(3600) >= before + 3600
    with pytest.raises(ValueError):
        state.clock.advance(-1)
    state.reset()
    assert state.clock.now() < before + 3600


# ---------------------------------------------------------------- config and faults


def test_config_update_is_partial_and_validated_all_or_nothing() -> None:
    config = SandboxConfig(latency_ms=100)
    config.update({"faults": {"busy": 0.25}})
    assert config.latency_ms == 100 and config.faults["busy"] == 0.25

    bad_updates = [
        {"latency_ms": -1},
        {"jitter_ms": "5"},
        {"timeout_s": True},
        {"faults": {"meteor": 0.1}},
        {"faults": {"http_5xx": 1.5}},
        {"faults": {"http_5xx": 0.6, "timeout": 0.6}},
        {"faults": [0.1]},
        {"speed": 1},
        {"latency_ms": 5, "faults": {"busy": 2}},
    ]
    for update in bad_updates:
        with pytest.raises(ValueError):
            config.update(update)
    assert config.as_dict() == {
        "latency_ms": 100.0,
        "jitter_ms": 0.0,
        "faults": {"http_5xx": 0.0, "timeout": 0.0, "rate_limit": 0.0, "busy": 0.25,
                   "unknown_error": 0.0},
        "timeout_s": 30.0,
        "retry_after_s": 0.0,
    }


def test_fault_rolls_follow_the_configured_probabilities() -> None:
    assert {make_state().roll_fault("weibo") for _ in range(200)} == {None}
    for kind in FAULT_KINDS:
        state = make_state(faults={kind: 1.0})
        assert {state.roll_fault("weibo") for _ in range(50)} == {kind}

    state = make_state(faults={"http_5xx": 0.2, "rate_limit": 0.1})
    rolls = [state.roll_fault("weibo") for _ in range(10_000)]
    # seeded rng: deterministic; the bounds are wide enough for any seed
    assert 1700 < rolls.count("http_5xx") < 2300
    assert 800 < rolls.count("rate_limit") < 1200
    assert rolls.count("timeout") == rolls.count("busy") == rolls.count("unknown_error") == 0


def test_latency_stays_within_jitter_and_never_goes_negative() -> None:
    state = make_state(latency_ms=100, jitter_ms=20)
    delays = [state.latency_s() for _ in range(2000)]
    assert min(delays) >= 0.08 and max(delays) <= 0.12
    assert max(delays) - min(delays) > 0.03  # jitter actually applied

    state = make_state(latency_ms=5, jitter_ms=50)
    assert min(state.latency_s() for _ in range(2000)) == 0.0
    assert make_state().latency_s() == 0.0


def test_reset_restores_initial_config_empties_everything_and_runs_hooks() -> None:
    state = SandboxState(SandboxConfig(latency_ms=50), platforms=["weibo"])
    forgotten: list[str] = []
    state.on_reset(lambda: forgotten.append("weibo memory"))
    state.config.update({"latency_ms": 0, "faults": {"busy": 1.0}})
    state.ledger.create("weibo", "u1", remote_id="1", title="t", text="x")
    state.accounts.revoke("weibo", "u1")
    state.counters.count_request("weibo")

    state.reset()

    assert state.config.latency_ms == 50 and state.config.faults["busy"] == 0
    assert state.ledger.list() == []
    assert state.accounts.check("weibo", "u1", "f") == "ok"
    assert state.stats() == {
        "weibo": {
            "created": 0, "deleted": 0, "live": 0, "duplicates": 0, "requests": 0, "errors": 0
        }
    }  # fmt: skip
    assert forgotten == ["weibo memory"]


def test_counting_outside_a_server_request_counts_each_call() -> None:
    state = make_state()
    state.count_request("weibo")
    state.count_request("weibo")
    state.count_error("weibo")
    state.count_error("weibo")
    assert state.stats()["weibo"]["requests"] == 2
    assert state.stats()["weibo"]["errors"] == 2
    assert state.stats()["wechat"]["requests"] == 0
