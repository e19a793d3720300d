"""WeiboAdapter against the real sandbox over HTTP (the `sandbox` fixture)."""

from __future__ import annotations

import aiohttp
import pytest

from adapters.base import (
    AccountMisconfigured,
    AuthFailed,
    OutcomeUnknown,
    RateLimited,
    Retryable,
    Unsupported,
)
from adapters.weibo import WeiboAdapter
from sandbox.weibo import emulator_for, status_of
from tests.platforms.weibo.support import account_for, make_post, run_with_adapter, uid_of

DAY_S = 86_400


@pytest.fixture
def account(sandbox):
    return account_for(sandbox.platform_url("weibo"))


def live(sandbox) -> list[dict]:
    return sandbox.posts(platform="weibo", state="live")


def weibo_requests(sandbox) -> int:
    return sandbox.stats()["weibo"]["requests"]


def test_publish_status_withdraw_round_trip(sandbox, account):
    post = make_post()

    async def publish_and_check(adapter: WeiboAdapter):
        receipt = await adapter.publish(account, post, marker="dl_1")
        return receipt, await adapter.status(account, receipt.remote_id)

    receipt, status = run_with_adapter(publish_and_check)
    uid = uid_of(account)
    assert len(receipt.remote_id) == 16 and int(receipt.remote_id) > 2**53
    assert receipt.url == f"https://weibo.com/{uid}/{receipt.remote_id}"
    assert receipt.state == "published" and receipt.extra["uid"] == uid
    assert status.state == "published" and status.url == receipt.url
    [on_weibo] = live(sandbox)
    assert on_weibo["account"] == uid and on_weibo["remote_id"] == receipt.remote_id
    assert on_weibo["text"] == (
        "【市政府召开防汛工作会议】会议部署了本周强降雨应对工作。防汛 "
        "http://127.0.0.1:8000/p/it_flood?d=dl_1"
    )

    async def withdraw_twice(adapter: WeiboAdapter):
        await adapter.withdraw(account, receipt.remote_id)
        await adapter.withdraw(account, receipt.remote_id)  # 20101: already gone = success
        return await adapter.status(account, receipt.remote_id)

    assert run_with_adapter(withdraw_twice).state == "deleted"
    assert live(sandbox) == []
    assert [p["remote_id"] for p in sandbox.posts(platform="weibo", state="deleted")] == [
        receipt.remote_id
    ]


def test_picture_goes_out_as_multipart(sandbox, account):
    post = make_post(with_picture=True)
    receipt = run_with_adapter(lambda adapter: adapter.publish(account, post, marker="dl_pic"))
    stored = sandbox.state.ledger.get("weibo", receipt.remote_id)
    assert status_of(stored)["original_pic"].startswith("https://wx1.sinaimg.cn/large/")
    assert stored.extra["rip"] == "127.0.0.1"
    assert stored.text.startswith("【市政府召开防汛工作会议】")  # decoded as sent in multipart


def test_lookup_finds_the_post_carrying_the_marker(sandbox, account):
    async def scenario(adapter: WeiboAdapter):
        first = await adapter.publish(account, make_post("it_a"), marker="dl_1")
        await adapter.publish(account, make_post("it_b"), marker="dl_10")
        return first, [await adapter.lookup(account, m) for m in ("dl_1", "dl_10", "dl_2")]

    first, (found, other, missing) = run_with_adapter(scenario)
    assert found is not None and found.remote_id == first.remote_id
    assert other is not None and other.remote_id != first.remote_id
    assert missing is None


def test_resending_the_same_delivery_returns_the_existing_post(sandbox, account):
    post = make_post()

    async def send_twice(adapter: WeiboAdapter):
        first = await adapter.publish(account, post, marker="dl_1")
        return first, await adapter.publish(account, post, marker="dl_1")  # 20019 from Weibo

    first, again = run_with_adapter(send_twice)
    assert again.remote_id == first.remote_id
    assert len(live(sandbox)) == 1
    assert sandbox.stats()["weibo"]["duplicates"] == 0


def test_expired_token_fails_auth_without_retry(sandbox, account):
    run_with_adapter(lambda adapter: adapter.publish(account, make_post(), marker="dl_1"))
    sandbox.advance_clock(31 * DAY_S)
    before = weibo_requests(sandbox)
    with pytest.raises(AuthFailed) as caught:
        run_with_adapter(lambda adapter: adapter.publish(account, make_post("it_2"), marker="dl_2"))
    assert caught.value.code == 21327
    assert weibo_requests(sandbox) == before + 1
    assert account.credentials["access_token"] not in caught.value.reason


def test_revoked_authorisation_fails_auth(sandbox, account):
    sandbox.revoke("weibo", uid_of(account))
    with pytest.raises(AuthFailed) as caught:
        run_with_adapter(lambda adapter: adapter.status(account, "9100000000000001"))
    assert caught.value.code == 21332


def test_hourly_posting_limit_is_rate_limited(sandbox, account):
    emulator_for(sandbox.state).settings.posts_per_user_hour = 1

    async def post_twice(adapter: WeiboAdapter):
        await adapter.publish(account, make_post("it_a"), marker="dl_1")
        await adapter.publish(account, make_post("it_b"), marker="dl_2")

    with pytest.raises(RateLimited) as caught:
        run_with_adapter(post_twice)
    assert caught.value.code == 10024
    assert 0 < caught.value.retry_after <= 3600
    assert len(live(sandbox)) == 1


def test_rate_limit_fault_is_rate_limited(sandbox, account):
    sandbox.config(faults={"rate_limit": 1.0})
    with pytest.raises(RateLimited) as caught:
        run_with_adapter(lambda adapter: adapter.publish(account, make_post(), marker="dl_1"))
    assert caught.value.code == 10023 and caught.value.retry_after > 0


def test_busy_is_retryable_and_not_sent(sandbox, account):
    sandbox.config(faults={"busy": 1.0})
    with pytest.raises(Retryable) as caught:
        run_with_adapter(lambda adapter: adapter.publish(account, make_post(), marker="dl_1"))
    assert not isinstance(caught.value, OutcomeUnknown | RateLimited)
    assert caught.value.code == 10009
    assert live(sandbox) == []


def test_gateway_5xx_is_retryable_and_unknown_for_a_publish(sandbox, account):
    sandbox.config(faults={"http_5xx": 1.0})
    with pytest.raises(OutcomeUnknown):
        run_with_adapter(lambda adapter: adapter.publish(account, make_post(), marker="dl_1"))
    with pytest.raises(Retryable) as caught:
        run_with_adapter(lambda adapter: adapter.withdraw(account, "9100000000000001"))
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.code == 502


def test_timeout_after_posting_is_unknown_and_lookup_finds_the_post(sandbox, account):
    sandbox.config(faults={"timeout": 1.0}, timeout_s=2.0)
    short = aiohttp.ClientTimeout(total=0.5)
    with pytest.raises(OutcomeUnknown):
        run_with_adapter(
            lambda adapter: adapter.publish(account, make_post(), marker="dl_1"), timeout=short
        )
    sandbox.config(faults={"timeout": 0.0})
    found = run_with_adapter(lambda adapter: adapter.lookup(account, "dl_1"))
    assert found is not None and [p["remote_id"] for p in live(sandbox)] == [found.remote_id]


def test_withdrawing_another_users_post_is_refused(sandbox, account):
    receipt = run_with_adapter(lambda adapter: adapter.publish(account, make_post(), marker="dl_1"))
    stranger = account_for(sandbox.platform_url("weibo"), token="2.00someone_else")
    with pytest.raises(AccountMisconfigured) as caught:
        run_with_adapter(lambda adapter: adapter.withdraw(stranger, receipt.remote_id))
    assert caught.value.code == 20102
    assert len(live(sandbox)) == 1


def test_withdraw_switched_off_becomes_a_manual_task(sandbox, account):
    async def scenario(adapter: WeiboAdapter):
        assert adapter.capabilities.withdraw is False
        await adapter.withdraw(account, "9100000000000001")

    with pytest.raises(Unsupported):
        run_with_adapter(scenario, withdraw=False)
    assert weibo_requests(sandbox) == 0


def test_link_outside_the_safe_domain_is_an_account_problem(sandbox, account):
    post = make_post(public_base="https://hub.example.gov.cn")
    with pytest.raises(AccountMisconfigured) as caught:
        run_with_adapter(lambda adapter: adapter.publish(account, post, marker="dl_1"))
    assert caught.value.code == 10017
    assert "安全域名" in caught.value.reason


def test_missing_token_is_refused_before_any_call(sandbox):
    account = account_for(sandbox.platform_url("weibo"), token="")
    with pytest.raises(AccountMisconfigured):
        run_with_adapter(lambda adapter: adapter.publish(account, make_post(), marker="dl_1"))
    assert weibo_requests(sandbox) == 0
