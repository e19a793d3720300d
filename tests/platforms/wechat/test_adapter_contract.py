"""WeChatAdapter against the real sandbox over HTTP (the `sandbox` fixture) and real Redis."""

from __future__ import annotations

import asyncio
import dataclasses
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from adapters import base as taxonomy
from adapters.wechat import WeChatAdapter
from tests.platforms.wechat.support import account_for, make_post, run_with_adapter

APPID = "wx00000000000000b1"


@pytest.fixture
def account(sandbox):
    return account_for(sandbox.platform_url("wechat"), APPID)


def live(sandbox) -> list[dict]:
    return sandbox.posts(platform="wechat", state="live")


def requests_made(sandbox) -> int:
    return sandbox.stats()["wechat"]["requests"]


def test_publish_status_lookup_withdraw_round_trip(sandbox, account, redis_url):
    post = make_post()

    async def scenario(adapter: WeChatAdapter):
        receipt = await adapter.publish(account, post, marker="dl_round")
        status = await adapter.status(account, receipt.remote_id)
        found = await adapter.lookup(account, "dl_round")
        missing = await adapter.lookup(account, "dl_other")
        return receipt, status, found, missing

    receipt, status, found, missing = run_with_adapter(redis_url, scenario)
    assert receipt.state == "pending_review" and receipt.remote_id.isdigit()
    assert status.state == "published"
    assert status.url.startswith("https://mp.weixin.qq.com/s?")
    article_id = status.extra["article_id"]
    assert status.remote_id == f"article:{article_id}"  # the handle from now on
    assert status.extra["publish_id"] == receipt.remote_id
    assert found is not None and found.state == "published"
    assert found.remote_id == status.remote_id and found.url == status.url
    assert missing is None

    [post_live] = live(sandbox)
    assert post_live["account"] == APPID and post_live["remote_id"] == article_id
    assert post_live["title"] == "市政府召开防汛工作会议"  # UTF-8 on the wire, not \uXXXX
    assert post_live["text"] == "会议部署了本周强降雨应对工作。"
    extra = sandbox.state.ledger.get("wechat", article_id).extra
    source = urlsplit(extra["content_source_url"])
    assert source.path == "/p/it_flood" and parse_qs(source.query) == {"d": ["dl_round"]}

    async def withdraw_twice(adapter: WeChatAdapter):
        await adapter.withdraw(account, receipt.remote_id)
        await adapter.withdraw(account, receipt.remote_id)  # already gone: still success
        await adapter.withdraw(account, found.remote_id)  # by article id too
        return (
            await adapter.status(account, receipt.remote_id),
            await adapter.status(account, found.remote_id),
            await adapter.lookup(account, "dl_round"),
        )

    after, after_by_article, found_after = run_with_adapter(redis_url, withdraw_twice)
    assert after.state == "deleted" and after_by_article.state == "deleted"
    assert found_after is not None and found_after.state == "deleted"
    assert live(sandbox) == []
    assert [p["remote_id"] for p in sandbox.posts(platform="wechat", state="deleted")] == [
        article_id
    ]


def test_inline_images_are_rehosted_in_the_published_body(sandbox, account, redis_url):
    async def scenario(adapter: WeChatAdapter):
        receipt = await adapter.publish(account, make_post(), marker="dl_img")
        found = await adapter.lookup(account, "dl_img")
        status = await adapter.status(account, found.remote_id)
        return receipt, status

    _, status = run_with_adapter(redis_url, scenario)
    assert status.state == "published"
    # The sandbox drops <img> tags whose src is not an uploadimg URL, like WeChat.
    body = published_content(sandbox, status.extra["article_id"])
    assert '<img src="http://mmbiz.qpic.cn/mmbiz_png/' in body
    assert "{{media:" not in body


def published_content(sandbox, article_id: str) -> str:
    import requests

    base = f"{sandbox.url}/wechat/cgi-bin/"
    token = requests.post(
        base + "stable_token",
        json={"grant_type": "client_credential", "appid": APPID, "secret": "s3cr3t"},
        timeout=5,
    ).json()["access_token"]
    answer = requests.post(
        base + "freepublish/getarticle",
        params={"access_token": token},
        json={"article_id": article_id},
        timeout=5,
    ).json()
    return answer["news_item"][0]["content"]


def test_publish_pending_until_the_platform_finishes(sandbox, account, redis_url):
    sandbox.register("wechat", APPID, publish_delay_s=120)

    async def before(adapter: WeChatAdapter):
        receipt = await adapter.publish(account, make_post(), marker="dl_slow")
        status = await adapter.status(account, receipt.remote_id)
        with pytest.raises(taxonomy.Retryable) as caught:
            await adapter.withdraw(account, receipt.remote_id)
        lookup = await adapter.lookup(account, "dl_slow")
        return receipt, status, caught.value, lookup

    receipt, status, error, lookup = run_with_adapter(redis_url, before)
    assert status.state == "pending_review"
    assert type(error) is taxonomy.Retryable and "仍在发布中" in error.reason
    assert lookup is None  # batchget lists finished publishes only
    sandbox.advance_clock(120)

    async def after(adapter: WeChatAdapter):
        return await adapter.status(account, receipt.remote_id)

    assert run_with_adapter(redis_url, after).state == "published"
    assert len(live(sandbox)) == 1


def test_failed_publish_is_rejected_with_a_reason_and_needs_no_withdrawal(
    sandbox, account, redis_url
):
    sandbox.register("wechat", APPID, publish_status=4)

    async def scenario(adapter: WeChatAdapter):
        receipt = await adapter.publish(account, make_post(), marker="dl_bad")
        status = await adapter.status(account, receipt.remote_id)
        await adapter.withdraw(account, receipt.remote_id)
        return status

    status = run_with_adapter(redis_url, scenario)
    assert status.state == "rejected"
    assert status.extra["reason"] == "平台审核未通过 (rejected by platform review)"
    assert status.extra["fail_idx"] == [1]
    assert sandbox.posts(platform="wechat") == []


def test_expired_token_is_refreshed_once_and_the_call_succeeds(sandbox, account, redis_url):
    async def scenario(adapter: WeChatAdapter):
        receipt = await adapter.publish(account, make_post(), marker="dl_tok")
        sandbox.advance_clock(7201)  # the token cached in Redis is now expired on WeChat's side
        before = requests_made(sandbox)
        status = await adapter.status(account, receipt.remote_id)
        return status, requests_made(sandbox) - before

    status, calls = run_with_adapter(redis_url, scenario)
    assert status.state == "published"
    assert calls == 3  # get → 42001, stable_token, get again


def test_workers_share_one_token_per_app(sandbox, account, redis_url):
    async def scenario(adapter: WeChatAdapter):
        other_worker = WeChatAdapter(adapter.session, adapter.tokens)
        before = requests_made(sandbox)
        await asyncio.gather(
            *(worker.lookup(account, "dl_none") for worker in (adapter, other_worker) * 4)
        )
        return requests_made(sandbox) - before

    # At most one stable_token per worker process (they are handed the same token), then
    # eight batchgets; never one fetch per caller.
    assert run_with_adapter(redis_url, scenario) <= 2 + 8


def test_callers_in_one_worker_share_one_token_fetch(sandbox, account, redis_url):
    async def scenario(adapter: WeChatAdapter):
        before = requests_made(sandbox)
        await asyncio.gather(*(adapter.lookup(account, "dl_none") for _ in range(8)))
        return requests_made(sandbox) - before

    assert run_with_adapter(redis_url, scenario) == 1 + 8


def test_a_new_worker_reads_a_batch_of_cached_tokens_in_one_round_trip(sandbox, redis_url):
    accounts = [account_for(sandbox.platform_url("wechat"), f"wx00000000000000c{i}")
                for i in range(4)]
    broken = dataclasses.replace(accounts[0], credentials={"appid": ""})

    async def scenario(adapter: WeChatAdapter):
        await asyncio.gather(*(adapter.lookup(a, "dl_none") for a in accounts))  # tokens cached
        new_worker = WeChatAdapter(adapter.session, adapter.tokens)
        reads: list[str] = []
        for name in ("get", "get_many"):
            method = getattr(adapter.tokens, name)

            def counted(*args, _name=name, _method=method):
                reads.append(_name)
                return _method(*args)

            setattr(new_worker.tokens, name, counted)
        await new_worker.warm([*accounts, broken])
        before = requests_made(sandbox)
        await asyncio.gather(*(new_worker.lookup(a, "dl_none") for a in accounts))
        return reads, requests_made(sandbox) - before

    reads, calls = run_with_adapter(redis_url, scenario)
    assert reads == ["get_many"]  # one MGET, then no per-call GET
    assert calls == len(accounts)  # no token fetch either: only the four lookups


def test_revoked_credentials_fail_without_a_retry_loop(sandbox, account, redis_url):
    async def publish(adapter: WeChatAdapter):
        receipt = await adapter.publish(account, make_post(), marker="dl_rev")
        sandbox.revoke("wechat", APPID)
        before = requests_made(sandbox)
        with pytest.raises(taxonomy.AuthFailed) as caught:
            await adapter.status(account, receipt.remote_id)
        return caught.value, requests_made(sandbox) - before

    error, calls = run_with_adapter(redis_url, publish)
    assert calls == 2  # get → 40001, stable_token → 40125; no further attempts
    assert error.code == 40125
    assert "s3cr3t" not in error.reason


def test_wrong_secret_is_auth_failed(sandbox, account, redis_url):
    async def first_use(adapter: WeChatAdapter):
        await adapter.lookup(account, "dl_x")  # registers the right secret

    run_with_adapter(redis_url, first_use)
    wrong = dataclasses.replace(account, credentials={"appid": APPID, "secret": "guess"})

    async def scenario(adapter: WeChatAdapter):
        with pytest.raises(taxonomy.AuthFailed):
            await adapter.lookup(wrong, "dl_x")

    run_with_adapter(redis_url, scenario)


def test_ip_not_whitelisted_is_account_misconfigured(sandbox, account, redis_url):
    from adapters.base import AccountMisconfigured

    sandbox.register("wechat", APPID, ip_blocked=True)

    async def scenario(adapter: WeChatAdapter):
        with pytest.raises(AccountMisconfigured) as caught:
            await adapter.publish(account, make_post(), marker="dl_ip")
        return caught.value

    assert run_with_adapter(redis_url, scenario).code == 40164


def test_minute_quota_is_rate_limited(sandbox, account, redis_url):
    sandbox.config(faults={"rate_limit": 1.0})

    async def scenario(adapter: WeChatAdapter):
        with pytest.raises(taxonomy.RateLimited) as caught:
            await adapter.publish(account, make_post(), marker="dl_rl")
        return caught.value

    error = run_with_adapter(redis_url, scenario)
    assert error.code == 45011 and error.retry_after == 60
    assert sandbox.posts(platform="wechat") == []

    sandbox.config(retry_after_s=2.5)  # a gateway that says how long: believed over the default
    assert run_with_adapter(redis_url, scenario).retry_after == 2.5


def test_daily_quota_is_rate_limited_until_the_next_day(sandbox, account, redis_url):
    async def scenario(adapter: WeChatAdapter):
        for _ in range(100):  # freepublish/batchget: 100 calls a day
            await adapter.lookup(account, "dl_none")
        with pytest.raises(taxonomy.RateLimited) as caught:
            await adapter.lookup(account, "dl_none")
        return caught.value

    error = run_with_adapter(redis_url, scenario)
    assert error.code == 45009
    assert 0 < error.retry_after <= 86400


@pytest.mark.parametrize("fault", ["busy", "http_5xx"])
def test_system_error_and_5xx_are_retryable(sandbox, account, redis_url, fault):
    sandbox.config(faults={fault: 1.0})

    async def scenario(adapter: WeChatAdapter):
        with pytest.raises(taxonomy.Retryable) as caught:
            await adapter.publish(account, make_post(), marker="dl_busy")
        return caught.value

    error = run_with_adapter(redis_url, scenario)
    assert type(error) is taxonomy.Retryable
    assert error.code in ((-1,) if fault == "busy" else (502, 503))


def test_timeout_after_sending_is_outcome_unknown(sandbox, account, redis_url):
    sandbox.config(faults={"timeout": 1.0}, timeout_s=1.0)

    async def scenario(adapter: WeChatAdapter):
        with pytest.raises(taxonomy.OutcomeUnknown):
            await adapter.publish(account, make_post(), marker="dl_to")

    run_with_adapter(redis_url, scenario, timeout=aiohttp.ClientTimeout(total=0.3, connect=5))


def test_content_the_platform_refuses_is_content_rejected(sandbox, account, redis_url):
    post = make_post()
    article = {**post.fields["article"], "title": "题" * 33}  # bypassing the channel's check
    too_long = dataclasses.replace(post, fields={**post.fields, "article": article})

    async def scenario(adapter: WeChatAdapter):
        with pytest.raises(taxonomy.ContentRejected) as caught:
            await adapter.publish(account, too_long, marker="dl_long")
        return caught.value

    error = run_with_adapter(redis_url, scenario)
    assert error.code == 45003 and "标题" in error.reason


def test_withdraw_without_delete_permission_is_unsupported(sandbox, account, redis_url):
    sandbox.register("wechat", APPID, can_delete=False)

    async def scenario(adapter: WeChatAdapter):
        receipt = await adapter.publish(account, make_post(), marker="dl_perm")
        with pytest.raises(taxonomy.Unsupported) as caught:
            await adapter.withdraw(account, receipt.remote_id)
        return caught.value

    assert run_with_adapter(redis_url, scenario).code == 48001
    assert len(live(sandbox)) == 1


def test_lookup_pages_through_recent_publishes(sandbox, account, redis_url):
    async def scenario(adapter: WeChatAdapter):
        first = await adapter.publish(account, make_post("it_0"), marker="dl_oldest")
        for n in range(1, 23):
            await adapter.publish(account, make_post(f"it_{n}"), marker=f"dl_{n}")
        return first, await adapter.lookup(account, "dl_oldest")

    first, found = run_with_adapter(redis_url, scenario)
    assert found is not None and found.state == "published"
    status_of_first = sandbox.state.ledger.list(platform="wechat")[0]
    assert found.remote_id == f"article:{status_of_first.remote_id}"


def test_a_retry_reuses_the_cover_and_images_already_uploaded(sandbox, account, redis_url):
    post = make_post()
    too_long = dataclasses.replace(post, fields={
        **post.fields, "article": {**post.fields["article"], "title": "标" * 80}})

    async def scenario(adapter: WeChatAdapter):
        with pytest.raises(taxonomy.ContentRejected):  # draft/add refuses; cover and image are uploaded
            await adapter.publish(account, too_long, marker="dl_memo")
        before = requests_made(sandbox)
        receipt = await adapter.publish(account, post, marker="dl_memo")
        return receipt, requests_made(sandbox) - before

    receipt, calls = run_with_adapter(redis_url, scenario)
    assert receipt.state == "pending_review"
    assert calls == 2  # draft/add + freepublish/submit: nothing uploaded twice


def test_a_remembered_material_deleted_on_wechat_is_rebuilt(sandbox, account, redis_url):
    post = make_post()
    too_long = dataclasses.replace(post, fields={
        **post.fields, "article": {**post.fields["article"], "title": "标" * 80}})

    async def scenario(adapter: WeChatAdapter):
        with pytest.raises(taxonomy.ContentRejected):  # the cover is uploaded and remembered
            await adapter.publish(account, too_long, marker="dl_gone")
        cover = next(b for b in post.media if b.name == post.fields["cover"])
        thumb = await adapter.tokens.get(f"{adapter_app(account).memo_prefix}cover:{cover.sha256}")
        assert thumb
        # Someone deletes the cover from the account's material library by hand.
        await adapter._call(adapter_app(account), "material/del_material",
                            json={"media_id": thumb})
        with pytest.raises(taxonomy.Retryable) as caught:
            await adapter.publish(account, post, marker="dl_gone")
        again = await adapter.publish(account, post, marker="dl_gone")
        return caught.value, again

    error, again = run_with_adapter(redis_url, scenario)
    assert error.code == 40007 and "重新上传" in error.reason
    assert again.state == "pending_review"


def adapter_app(account):
    from adapters.wechat import app_of

    return app_of(account)


def test_a_publish_stops_before_going_public_when_the_engine_takes_back_its_go_ahead(
    sandbox, account, redis_url
):
    """A withdrawal clicked while a publish is between its calls: the adapter asks the engine
    (``go_ahead``) before the draft and before the submit that makes it public, and stops."""
    asked: list[int] = []

    def until(calls: int):
        def check() -> bool:
            asked.append(1)
            return len(asked) <= calls
        return check

    async def scenario(adapter: WeChatAdapter, calls: int):
        gate = taxonomy.set_go_ahead(until(calls))
        try:
            return await adapter.publish(account, make_post(), marker=f"dl_gate{calls}")
        finally:
            taxonomy.reset_go_ahead(gate)

    for calls in (0, 1):  # stopped before the draft, then before the submit
        asked.clear()
        with pytest.raises(taxonomy.Withheld):
            run_with_adapter(redis_url, lambda adapter, n=calls: scenario(adapter, n))
        assert sandbox.posts(platform="wechat") == [] and len(asked) == calls + 1
    asked.clear()
    receipt = run_with_adapter(redis_url, lambda adapter: scenario(adapter, 2))
    assert receipt.remote_id and len(live(sandbox)) == 1  # the go-ahead held: published
    assert len(asked) == 2
