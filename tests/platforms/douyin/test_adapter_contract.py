"""DouyinAdapter against the real Douyin sandbox over HTTP (the `sandbox` fixture, real Redis)."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace

import aiohttp
import pytest

from adapters import base as taxonomy
from adapters import douyin
from adapters.douyin import DouyinAdapter, cache_key
from sandbox.douyin import world_for
from tests.platforms.douyin.support import Clock, account_for, render_post, run_adapter

FIFTEEN_DAYS = 1_296_000


def live(sandbox) -> list[dict]:
    return sandbox.posts(platform="douyin", state="live")


def test_single_upload_create_status_withdraw_round_trip(
    sandbox, redis_url, account, mp4, douyin_settings
):
    post = render_post(mp4)

    async def scenario(adapter: DouyinAdapter, _cache):
        receipt = await adapter.publish(account, post, marker="dlv_one")
        in_review = await adapter.status(account, receipt.remote_id)
        sandbox.state.clock.advance(douyin_settings.review_delay_s)
        published = await adapter.status(account, receipt.remote_id)
        return receipt, in_review, published

    receipt, in_review, published = run_adapter(redis_url, scenario)
    assert receipt.state == "pending_review"
    assert any(char in receipt.remote_id for char in "@+/=")  # opaque id survives unharmed
    assert in_review.state == "pending_review" and in_review.url is None
    assert published.state == "published"
    assert published.url and published.url.startswith("https://www.iesdouyin.com/share/video/")
    [ledger] = live(sandbox)
    assert ledger["account"] == account.credentials["open_id"]
    assert ledger["remote_id"] == receipt.remote_id
    assert ledger["text"] == post.fields["text"] + " https://hub.example.gov.cn/p/it_rain?d=dlv_one"
    stored = sandbox.state.ledger.get("douyin", receipt.remote_id)
    assert stored.extra["video_bytes"] == len(mp4) and stored.extra["video_parts"] == 1
    assert stored.extra["cover_tsp"] == 1.0

    async def withdraw(adapter: DouyinAdapter, _cache):
        await adapter.withdraw(account, receipt.remote_id)
        await adapter.withdraw(account, receipt.remote_id)  # already gone: still success
        return await adapter.status(account, receipt.remote_id)

    assert run_adapter(redis_url, withdraw).state == "deleted"
    assert live(sandbox) == []
    assert sandbox.stats()["douyin"]["deleted"] == 1


def test_chunked_upload_splits_the_video_into_parts(
    sandbox, redis_url, account, mp4, douyin_settings
):
    douyin_settings.min_chunk_bytes = 1024
    post = render_post(mp4)
    assert post.fields["upload"] == "single"  # the adapter's hard limit forces chunks here

    async def scenario(adapter: DouyinAdapter, _cache):
        return await adapter.publish(account, post, marker="dlv_big")

    receipt = run_adapter(redis_url, scenario, single_upload_max=2048, chunk_bytes=1024)
    stored = sandbox.state.ledger.get("douyin", receipt.remote_id)
    assert stored.extra["video_parts"] == -(-len(mp4) // 1024)
    assert stored.extra["video_bytes"] == len(mp4)


def test_chunks_below_the_platform_minimum_are_refused(
    sandbox, redis_url, account, mp4, douyin_settings
):
    douyin_settings.min_chunk_bytes = 2048
    post = render_post(mp4)

    async def scenario(adapter: DouyinAdapter, _cache):
        await adapter.publish(account, post, marker="dlv_small_chunks")

    with pytest.raises(taxonomy.ContentRejected) as caught:
        run_adapter(redis_url, scenario, single_upload_max=1024, chunk_bytes=1024)
    assert caught.value.code == 2100005
    assert live(sandbox) == []


def test_custom_cover_is_uploaded_and_used(sandbox, redis_url, account, mp4):
    post = render_post(mp4, cover=b"\xff\xd8\xff\xe0 tiny jpeg")

    async def scenario(adapter: DouyinAdapter, _cache):
        return await adapter.publish(account, post, marker="dlv_cover")

    receipt = run_adapter(redis_url, scenario)
    stored = sandbox.state.ledger.get("douyin", receipt.remote_id)
    assert stored.extra["cover_image"].startswith("image-")
    assert stored.extra["cover_tsp"] is None


def test_review_rejection_is_reported(sandbox, redis_url, account, mp4, douyin_settings):
    post = render_post(mp4, title="审核不通过的样片")

    async def scenario(adapter: DouyinAdapter, _cache):
        receipt = await adapter.publish(account, post, marker="dlv_bad")
        sandbox.state.clock.advance(douyin_settings.review_delay_s)
        return await adapter.status(account, receipt.remote_id)

    rejected = run_adapter(redis_url, scenario)
    assert rejected.state == "rejected"
    assert rejected.extra["video_status"] == 2
    assert rejected.extra["reason"].startswith("抖音审核")


def test_lookup_finds_the_post_by_marker_across_pages(
    sandbox, redis_url, account, mp4, douyin_settings
):
    douyin_settings.list_page_max = 1
    post = render_post(mp4)

    async def scenario(adapter: DouyinAdapter, _cache):
        first = await adapter.publish(account, post, marker="dlv_a1")
        await adapter.publish(account, post, marker="dlv_a")
        await adapter.publish(account, post, marker="dlv_b")
        return (
            first,
            await adapter.lookup(account, "dlv_a1"),
            await adapter.lookup(account, "dlv_zz"),
        )

    first, found, missing = run_adapter(redis_url, scenario)
    assert found is not None and found.remote_id == first.remote_id
    assert found.state == "pending_review"
    assert missing is None


def test_two_creates_make_two_posts(sandbox, redis_url, account, mp4):
    post = render_post(mp4)

    async def scenario(adapter: DouyinAdapter, _cache):
        await adapter.publish(account, post, marker="dlv_same")
        await adapter.publish(account, post, marker="dlv_same")

    run_adapter(redis_url, scenario)
    assert len(live(sandbox)) == 2
    assert sandbox.stats()["douyin"]["duplicates"] == 1


def test_expired_token_is_refreshed_once_and_the_call_repeated(sandbox, redis_url, account, mp4):
    open_id = account.credentials["open_id"]
    post = render_post(mp4)

    async def scenario(adapter: DouyinAdapter, cache):
        receipt = await adapter.publish(account, post, marker="dlv_tok")
        sandbox.state.clock.advance(FIFTEEN_DAYS + 60)
        expired_status = await adapter.status(account, receipt.remote_id)
        again = await adapter.status(account, receipt.remote_id)
        return expired_status, again, json.loads(await cache.get(cache_key(account)))

    status, again, cached = run_adapter(redis_url, scenario)
    assert status.state == again.state == "published"
    assert world_for(sandbox.state).refreshes[open_id] == 1
    assert cached["a"] != account.credentials["access_token"]
    assert cached["e"] is not None


def test_token_is_refreshed_before_it_expires(sandbox, redis_url, account, mp4):
    open_id = account.credentials["open_id"]
    clock = Clock(sandbox.state.clock.now())

    async def scenario(adapter: DouyinAdapter, cache):
        await adapter.lookup(account, "dlv_x")  # credentials token, expiry unknown
        sandbox.state.clock.advance(FIFTEEN_DAYS + 1)
        clock.now += FIFTEEN_DAYS + 1
        await adapter.lookup(account, "dlv_x")  # expired -> refresh, expiry now known
        errors_before = sandbox.stats()["douyin"]["errors"]
        sandbox.state.clock.advance(FIFTEEN_DAYS - 3600)
        clock.now += FIFTEEN_DAYS - 3600
        await adapter.lookup(account, "dlv_x")  # within the margin: refresh first
        return errors_before, sandbox.stats()["douyin"]["errors"]

    errors_before, errors_after = run_adapter(redis_url, scenario, clock=clock)
    assert world_for(sandbox.state).refreshes[open_id] == 2
    assert errors_after == errors_before  # the platform never saw the token expire


def test_new_style_expiry_code_is_refreshed_too(sandbox, redis_url, account, douyin_settings):
    douyin_settings.new_style_expiry = True

    async def scenario(adapter: DouyinAdapter, _cache):
        await adapter.lookup(account, "dlv_x")
        sandbox.state.clock.advance(FIFTEEN_DAYS + 1)
        return await adapter.lookup(account, "dlv_x")

    assert run_adapter(redis_url, scenario) is None
    assert world_for(sandbox.state).refreshes[account.credentials["open_id"]] == 1


def test_revoked_authorisation_is_auth_failed(sandbox, redis_url, account):
    async def scenario(adapter: DouyinAdapter, _cache):
        await adapter.lookup(account, "dlv_x")
        sandbox.revoke("douyin", account.credentials["open_id"])
        await adapter.lookup(account, "dlv_x")

    with pytest.raises(taxonomy.AuthFailed) as caught:
        run_adapter(redis_url, scenario)
    assert caught.value.code == 10010  # the refresh was tried once, then given up
    assert account.credentials["access_token"] not in caught.value.reason


def test_token_of_another_open_id_is_a_misconfigured_account(sandbox, redis_url, api_base):
    account = account_for(api_base)
    wrong = account_for(
        api_base, open_id="someone-else", access_token=account.credentials["access_token"]
    )

    async def scenario(adapter: DouyinAdapter, _cache):
        await adapter.lookup(wrong, "dlv_x")

    with pytest.raises(taxonomy.AccountMisconfigured) as caught:
        run_adapter(redis_url, scenario)
    assert caught.value.code == 28001015


def test_missing_credentials_are_a_misconfigured_account(sandbox, redis_url, api_base):
    account = account_for(api_base, refresh_token="")

    async def scenario(adapter: DouyinAdapter, _cache):
        await adapter.lookup(account, "dlv_x")

    with pytest.raises(taxonomy.AccountMisconfigured, match="refresh_token"):
        run_adapter(redis_url, scenario)


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("rate_limit", taxonomy.RateLimited, 28003018),
        ("busy", taxonomy.Retryable, 2100004),
        ("http_5xx", taxonomy.Retryable, 503),
    ],
)
def test_faults_map_to_the_taxonomy(sandbox, redis_url, account, fault, error, code):
    sandbox.config(faults={fault: 1.0})

    async def scenario(adapter: DouyinAdapter, _cache):
        await adapter.lookup(account, "dlv_x")

    with pytest.raises(error) as caught:
        run_adapter(redis_url, scenario)
    assert caught.value.code == code
    assert not isinstance(caught.value, taxonomy.OutcomeUnknown)


def test_timeout_is_outcome_unknown(sandbox, redis_url, account):
    sandbox.config(faults={"timeout": 1.0}, timeout_s=2)

    async def scenario(adapter: DouyinAdapter, _cache):
        await adapter.lookup(account, "dlv_x")

    with pytest.raises(taxonomy.OutcomeUnknown):
        run_adapter(redis_url, scenario, timeout=aiohttp.ClientTimeout(total=0.3))


def test_per_account_request_frequency_is_rate_limited(
    sandbox, redis_url, account, douyin_settings
):
    douyin_settings.requests_per_second = 1
    sandbox.state.clock.advance(1 - sandbox.state.clock.now() % 1)  # start of a fresh second

    async def scenario(adapter: DouyinAdapter, _cache):
        await adapter.lookup(account, "dlv_x")
        await adapter.lookup(account, "dlv_x")

    with pytest.raises(taxonomy.RateLimited) as caught:
        run_adapter(redis_url, scenario)
    assert caught.value.code == 28003018


def test_daily_quota_waits_until_the_next_beijing_day(
    sandbox, redis_url, account, mp4, douyin_settings
):
    douyin_settings.daily_create_quota = 1
    post = render_post(mp4)

    async def scenario(adapter: DouyinAdapter, _cache):
        await adapter.publish(account, post, marker="dlv_q1")
        await adapter.publish(account, post, marker="dlv_q2")

    with pytest.raises(taxonomy.RateLimited) as caught:
        run_adapter(redis_url, scenario)
    assert caught.value.code == 2190001
    assert 0 < caught.value.retry_after <= 86_400
    assert len(live(sandbox)) == 1


def test_withdraw_without_delete_permission_is_unsupported(
    sandbox, redis_url, account, mp4, douyin_settings
):
    post = render_post(mp4)

    async def scenario(adapter: DouyinAdapter, _cache):
        receipt = await adapter.publish(account, post, marker="dlv_keep")
        douyin_settings.delete_enabled = False
        await adapter.withdraw(account, receipt.remote_id)

    with pytest.raises(taxonomy.Unsupported) as caught:
        run_adapter(redis_url, scenario)
    assert caught.value.code == 2100007
    assert len(live(sandbox)) == 1


def test_publish_without_the_create_scope_is_auth_failed(
    sandbox, redis_url, account, mp4, douyin_settings
):
    douyin_settings.scopes = ("video.data.bind",)

    async def scenario(adapter: DouyinAdapter, _cache):
        await adapter.publish(account, render_post(mp4), marker="dlv_scope")

    with pytest.raises(taxonomy.AuthFailed) as caught:
        run_adapter(redis_url, scenario)
    assert caught.value.code == 2100007


def near_expiry_entry(account, now: float, *, refresh_left_s: float) -> str:
    return json.dumps(
        {
            "a": account.credentials["access_token"],
            "r": account.credentials["refresh_token"],
            "e": now + 10 * 86_400,
            "re": now + refresh_left_s,
            "nr": False,
        }
    )


def test_refresh_token_is_renewed_a_week_before_it_expires(sandbox, redis_url, account):
    clock = Clock(sandbox.state.clock.now())

    async def scenario(adapter: DouyinAdapter, cache):
        key = cache_key(account)
        await cache.set(key, near_expiry_entry(account, clock.now, refresh_left_s=86_400), 3600)
        await adapter.lookup(account, "dlv_x")
        return json.loads(await cache.get(key))

    cached = run_adapter(redis_url, scenario, clock=clock)
    sandbox_account = world_for(sandbox.state).accounts[account.credentials["open_id"]]
    assert sandbox_account.renewals == 1
    assert cached["r"] == sandbox_account.refresh_token != account.credentials["refresh_token"]
    assert cached["re"] == pytest.approx(clock.now + 30 * 86_400)
    assert cached["a"] == account.credentials["access_token"]  # the access token was still good


def test_refused_renewal_is_remembered_and_not_retried(
    sandbox, redis_url, account, douyin_settings
):
    douyin_settings.renew_enabled = False
    clock = Clock(sandbox.state.clock.now())

    async def scenario(adapter: DouyinAdapter, cache):
        key = cache_key(account)
        await cache.set(key, near_expiry_entry(account, clock.now, refresh_left_s=86_400), 3600)
        await adapter.lookup(account, "dlv_x")
        requests_after_first = sandbox.stats()["douyin"]["requests"]
        await adapter.lookup(account, "dlv_x")
        return (
            requests_after_first,
            sandbox.stats()["douyin"]["requests"],
            json.loads(await cache.get(key)),
        )

    first, second, cached = run_adapter(redis_url, scenario, clock=clock)
    assert second - first == 1  # only the list call: no second renewal attempt
    assert cached["nr"] is True
    assert cached["r"] == account.credentials["refresh_token"]


@pytest.mark.parametrize("entry", ["not json", '{"a": "act.x", "r": "rft.x", "e": "soon"}'])
def test_unreadable_cache_entry_falls_back_to_the_credentials(sandbox, redis_url, account, entry):
    async def scenario(adapter: DouyinAdapter, cache):
        await cache.set(cache_key(account), entry, 3600)
        return await adapter.lookup(account, "dlv_x")

    assert run_adapter(redis_url, scenario) is None
    assert world_for(sandbox.state).refreshes.get(account.credentials["open_id"]) is None


def test_large_videos_are_read_off_the_loop_and_few_at_a_time(sandbox, redis_url, api_base, mp4):
    post = render_post(mp4)
    [video] = [blob for blob in post.media if blob.name == post.fields["video"]]
    readers: list[str] = []

    def read() -> bytes:
        readers.append(threading.current_thread().name)
        return mp4

    # Metadata says 20 MB (the bytes stay small): a "large" video for the adapter.
    large = replace(video, size=douyin.LARGE_VIDEO_BYTES + 1, read=read)
    large_post = replace(post, media=tuple(large if b is video else b for b in post.media))
    accounts = [account_for(api_base) for _ in range(6)]
    running, peak = 0, 0

    async def scenario(adapter: DouyinAdapter, _cache):
        nonlocal running, peak
        upload = adapter._upload_single

        async def counted(account, blob):
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            try:
                await asyncio.sleep(0.05)  # hold the slot long enough for others to queue
                return await upload(account, blob)
            finally:
                running -= 1

        adapter._upload_single = counted
        loop_thread = threading.current_thread().name
        receipts = await asyncio.gather(*(adapter.publish(a, large_post, marker=f"dlv_{i}")
                                          for i, a in enumerate(accounts)))
        return loop_thread, receipts

    loop_thread, receipts = run_adapter(redis_url, scenario)
    assert len({r.remote_id for r in receipts}) == 6
    assert peak == douyin.LARGE_VIDEOS_IN_MEMORY
    assert len(readers) == 6 and loop_thread not in readers


def test_a_refresh_is_noted_for_the_fan_out_and_a_cached_token_is_not(sandbox, redis_url,
                                                                       account):
    async def scenario(adapter: DouyinAdapter, cache):
        await adapter.lookup(account, "dlv_x")  # the credentials' token: nothing fetched
        untouched = adapter.refreshes.take(account.id)
        sandbox.state.clock.advance(FIFTEEN_DAYS + 1)
        await adapter.lookup(account, "dlv_x")  # refused, refreshed, repeated
        noted = adapter.refreshes.take(account.id)
        return untouched, noted, adapter.refreshes.take(account.id), \
            json.loads(await cache.get(cache_key(account)))

    untouched, noted, taken_twice, cached = run_adapter(redis_url, scenario)
    assert untouched is None and taken_twice is None
    assert noted == cached["e"] is not None
