"""CityAppAdapter against the real sandbox receiver over HTTP (the `sandbox` fixture)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from adapters.base import AuthFailed, OutcomeUnknown, RateLimited, Retryable
from adapters.cityapp import CityAppAdapter
from tests.platforms.cityapp.support import account_for, make_post, new_secret, run_with_adapter

APP = "jiangcheng"
STALL_S = 1.0


@pytest.fixture
def account(sandbox, secret):
    return account_for(f"{sandbox.url}/cityapp/webhook/{APP}", secret)


def live(sandbox) -> list[dict]:
    return sandbox.posts(platform="cityapp", state="live")


def test_publish_status_lookup_withdraw_round_trip(sandbox, account):
    post = make_post("it_flood", 3)

    async def scenario(adapter: CityAppAdapter):
        receipt = await adapter.publish(account, post, marker="dl_1")
        status = await adapter.status(account, receipt.remote_id)
        found = await adapter.lookup(account, "dl_1")
        missing = await adapter.lookup(account, "dl_other")
        return receipt, status, found, missing

    receipt, status, found, missing = run_with_adapter(scenario)
    assert receipt.remote_id == "it_flood@3"
    assert receipt.state == "published"
    assert receipt.url == f"{sandbox.url}/cityapp/share/{APP}/it_flood"
    assert receipt.extra["app_item_id"] == f"{APP}/it_flood"
    assert status.state == "published" and status.url == receipt.url
    assert found is not None and found.remote_id == "it_flood@3"
    assert missing is None
    [story] = live(sandbox)
    assert story["account"] == APP
    assert story["title"] == "市政府召开防汛工作会议"
    assert story["text"] == "市政府召开防汛工作会议：第3版摘要"

    async def withdraw_twice(adapter: CityAppAdapter):
        await adapter.withdraw(account, receipt.remote_id)
        await adapter.withdraw(account, receipt.remote_id)  # already gone: still success
        return await adapter.status(account, receipt.remote_id)

    assert run_with_adapter(withdraw_twice).state == "deleted"
    assert live(sandbox) == []
    assert [p["remote_id"] for p in sandbox.posts(platform="cityapp", state="deleted")] == [
        f"{APP}/it_flood@3"
    ]


def test_share_page_serves_the_live_story(sandbox, account):
    receipt = run_with_adapter(lambda a: a.publish(account, make_post(), marker="dl_1"))

    async def fetch() -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.get(receipt.url) as response:
            return response.status, await response.text()

    status, page = asyncio.run(fetch())
    assert status == 200 and "市政府召开防汛工作会议" in page


def test_resent_publish_is_deduplicated(sandbox, account):
    post = make_post()

    async def scenario(adapter: CityAppAdapter):
        first = await adapter.publish(account, post, marker="dl_1")
        again = await adapter.publish(account, post, marker="dl_1")  # same webhook-id
        return first, again

    first, again = run_with_adapter(scenario)
    assert again == first
    assert len(live(sandbox)) == 1
    stats = sandbox.stats()["cityapp"]
    assert stats["created"] == 1 and stats["duplicates"] == 0


def test_second_delivery_of_the_same_revision_does_not_double_post(sandbox, account):
    post = make_post()

    async def scenario(adapter: CityAppAdapter):
        await adapter.publish(account, post, marker="dl_1")
        await adapter.publish(account, post, marker="dl_2")
        return await adapter.lookup(account, "dl_2")

    assert run_with_adapter(scenario) is not None
    assert len(live(sandbox)) == 1
    assert sandbox.stats()["cityapp"]["duplicates"] == 0


def test_out_of_order_revisions_converge_on_the_newest(sandbox, account):
    async def scenario(adapter: CityAppAdapter):
        newer = await adapter.publish(account, make_post(version=2, title="新标题"), marker="dl_1")
        older = await adapter.publish(account, make_post(version=1), marker="dl_1")
        return newer, older

    newer, older = run_with_adapter(scenario)
    assert newer.remote_id == "it_flood@2"
    assert older.extra["conflict"] is True  # 409 from the receiver counts as done
    # The late, older publish answers with the receiver's revision, so withdrawing works.
    assert older.remote_id == "it_flood@2" and older.state == "published"
    [story] = live(sandbox)
    assert story["title"] == "新标题"
    run_with_adapter(lambda a: a.withdraw(account, older.remote_id))
    assert live(sandbox) == []


def test_update_replaces_the_live_story(sandbox, account):
    async def scenario(adapter: CityAppAdapter):
        await adapter.publish(account, make_post(version=1), marker="dl_1")
        newer = await adapter.publish(account, make_post(version=2, title="更正"), marker="dl_1")
        return newer, await adapter.status(account, newer.remote_id)

    newer, status = run_with_adapter(scenario)
    assert status.extra["revision"] == 2
    assert [p["title"] for p in live(sandbox)] == ["更正"]


def test_withdraw_before_publish_arrives_wins(sandbox, account):
    """The withdrawal overtakes a publish still being retried: the late publish is ignored."""

    async def scenario(adapter: CityAppAdapter):
        await adapter.withdraw(account, "it_flood@1")  # never seen: success
        late = await adapter.publish(account, make_post(version=1), marker="dl_1")
        return late, await adapter.lookup(account, "dl_1")

    late, found = run_with_adapter(scenario)
    assert late.extra["conflict"] is True and late.state == "deleted"
    assert found is None
    assert live(sandbox) == []


def test_withdraw_of_an_older_revision_keeps_the_newer_story(sandbox, account):
    async def scenario(adapter: CityAppAdapter):
        await adapter.publish(account, make_post(version=2), marker="dl_1")
        await adapter.withdraw(account, "it_flood@1")  # 409: receiver holds a newer revision
        return await adapter.status(account, "it_flood@2")

    assert run_with_adapter(scenario).state == "published"
    assert len(live(sandbox)) == 1


def test_wrong_secret_is_auth_failed_after_one_resigned_retry(sandbox, account):
    wrong = account_for(account.credentials["webhook_url"], new_secret())
    before = sandbox.stats()["cityapp"]["requests"]
    with pytest.raises(AuthFailed) as caught:
        run_with_adapter(lambda a: a.publish(wrong, make_post(), marker="dl_1"))
    assert caught.value.code == 401
    assert sandbox.stats()["cityapp"]["requests"] - before == 2
    assert live(sandbox) == []


def test_rotated_secrets_are_accepted(sandbox, account):
    both = account_for(
        account.credentials["webhook_url"],
        f"{new_secret()} {account.credentials['signing_secret']}",
    )
    run_with_adapter(lambda a: a.publish(both, make_post(), marker="dl_1"))
    assert len(live(sandbox)) == 1


def test_unregistered_app_is_retryable_404(sandbox, secret):
    stranger = account_for(f"{sandbox.url}/cityapp/webhook/nobody", secret)
    with pytest.raises(Retryable) as caught:
        run_with_adapter(lambda a: a.publish(stranger, make_post(), marker="dl_1"))
    assert caught.value.code == 404 and type(caught.value) is Retryable
    with pytest.raises(Retryable):
        run_with_adapter(lambda a: a.lookup(stranger, "dl_1"))


def test_stale_timestamp_is_retryable_400(sandbox, account):
    sandbox.advance_clock(301)
    with pytest.raises(Retryable) as caught:
        run_with_adapter(lambda a: a.publish(account, make_post(), marker="dl_1"))
    assert caught.value.code == 400 and type(caught.value) is Retryable


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        ("rate_limit", RateLimited, 429),
        ("busy", RateLimited, 503),
        ("http_5xx", Retryable, 500),
    ],
)
def test_faults_map_to_the_taxonomy(sandbox, account, fault, error, status):
    sandbox.config(faults={fault: 1.0})
    with pytest.raises(error) as caught:
        run_with_adapter(lambda a: a.publish(account, make_post(), marker="dl_1"))
    assert type(caught.value) is error
    assert caught.value.code == status
    if error is RateLimited:
        assert caught.value.retry_after == 1.0
    assert live(sandbox) == []
    assert sandbox.stats()["cityapp"]["errors"] == 1


def test_timeout_after_delivery_is_outcome_unknown_and_lookup_finds_it(sandbox, account):
    sandbox.config(faults={"timeout": 1.0}, timeout_s=STALL_S)
    stalled_until = time.monotonic() + STALL_S
    post = make_post()
    with pytest.raises(OutcomeUnknown):
        run_with_adapter(
            lambda a: a.publish(account, post, marker="dl_1"),
            timeout=aiohttp.ClientTimeout(total=0.3),
        )
    sandbox.config(faults={"timeout": 0.0})

    async def recover(adapter: CityAppAdapter):
        found = await adapter.lookup(account, "dl_1")
        resent = await adapter.publish(account, post, marker="dl_1")
        return found, resent

    found, resent = run_with_adapter(recover)
    assert found is not None and found.remote_id == resent.remote_id == "it_flood@1"
    assert len(live(sandbox)) == 1
    assert sandbox.stats()["cityapp"]["duplicates"] == 0
    # Let the stalled handler finish: a server stopped under it logs a teardown error.
    time.sleep(max(0.0, stalled_until - time.monotonic() + 0.2))
