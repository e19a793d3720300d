"""Each adapter's reply calls against the sandbox over HTTP, with the platforms' rules: one
reply per WeChat comment (88005), 精选 and deleting a comment, customer-service messages only
within 48 h (45015), Weibo's 140 characters and hourly comment limit."""

from __future__ import annotations

import json
import urllib.request

import pytest

from adapters.base import ContentRejected, PostRef, RateLimited
from sandbox.replies import WEIBO_REPLIES_PER_HOUR
from tests.platforms.wechat import support as wx
from tests.platforms.weibo import support as wb

from .conftest import chatter

DAY = 86400


def book(sandbox, platform: str) -> dict:
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/replies?platform={platform}") as r:
        return json.load(r)


def test_wechat_one_reply_per_comment_elect_and_delete(sandbox, redis_url):
    account = wx.account_for(sandbox.platform_url("wechat"), "wx00000000000000r1")
    chatter(sandbox, comments_per_day=30, seed=4)

    async def scenario(adapter):
        receipt = await adapter.publish(account, wx.make_post(), marker="dl_r1")
        status = await adapter.status(account, receipt.remote_id)
        sandbox.advance_clock(DAY)
        page = await adapter.list_comments(account, PostRef(status.remote_id, status.url),
                                           None, count=10)
        post = PostRef(status.remote_id, status.url, page.post_key)
        first, second = page.comments[0], page.comments[1]
        await adapter.reply_comment(account, post, first.comment_id, "感谢留言，已转相关部门。")
        with pytest.raises(ContentRejected) as again:
            await adapter.reply_comment(account, post, first.comment_id, "再回复一次")
        await adapter.elect_comment(account, post, first.comment_id, True)
        await adapter.hide_comment(account, post, second.comment_id)
        with pytest.raises(ContentRejected) as gone:
            await adapter.reply_comment(account, post, second.comment_id, "回复已删留言")
        listed = await adapter.list_comments(account, post, None, count=10)
        return again.value.code, gone.value.code, listed.comments[0]

    again, gone, shown = wx.run_with_adapter(redis_url, scenario)
    assert (again, gone) == (88005, 88004)
    assert shown.reply is not None and shown.reply.text == "感谢留言，已转相关部门。"
    assert shown.elected
    seen = book(sandbox, "wechat")
    assert [e["action"] for e in seen["entries"]] == ["reply", "markelect", "delete"]
    assert seen["calls"]["wechat:reply"] == 3


def test_wechat_customer_service_message_within_48_hours_only(sandbox, redis_url):
    account = wx.account_for(sandbox.platform_url("wechat"), "wx00000000000000r2")
    chatter(sandbox, messages_per_day=50, seed=9)
    state_messages = sandbox_messages(sandbox, "wx00000000000000r2")

    async def scenario(adapter):
        user = state_messages()
        await adapter.send_message(account, user, "您好，已收到。")
        sandbox.advance_clock(3 * DAY)
        with pytest.raises(ContentRejected) as late:
            await adapter.send_message(account, user, "您好，已收到。")
        return late.value.code

    # The chatter makes messages for apps with a message server only; the window check reads
    # its stream, so the test grows it through the sandbox's own clock.
    assert wx.run_with_adapter(redis_url, scenario) == 45015
    assert [e["action"] for e in book(sandbox, "wechat")["entries"]] == ["custom_send"]


def sandbox_messages(sandbox, appid: str):
    """A function giving the openid of a user who wrote to ``appid`` within the last day."""
    from sandbox.chatter import chatter_of

    def first_user() -> str:
        sandbox.advance_clock(DAY)
        messages = chatter_of(sandbox.state).messages(appid, sandbox.state.clock.now() - DAY)
        assert messages
        return "o" + messages[-1].user[:27]

    return first_user


def test_weibo_reply_length_and_hourly_limit(sandbox):
    account = wb.account_for(sandbox.platform_url("weibo"))
    chatter(sandbox, comments_per_day=200, seed=3)

    async def scenario(adapter):
        receipt = await adapter.publish(account, wb.make_post(), marker="dl_wr")
        post = PostRef(receipt.remote_id)
        sandbox.advance_clock(DAY)
        page = await adapter.list_comments(account, post, None, count=50)
        target = page.comments[0].comment_id
        with pytest.raises(ContentRejected) as long:
            await adapter.reply_comment(account, post, target, "长" * 141)
        sent = await adapter.reply_comment(account, post, target, "感谢关注")
        for _ in range(WEIBO_REPLIES_PER_HOUR - 1):
            await adapter.reply_comment(account, post, target, "感谢关注")
        with pytest.raises(RateLimited) as limited:
            await adapter.reply_comment(account, post, target, "感谢关注")
        return long.value.code, sent, limited.value.code

    long, sent, limited = wb.run_with_adapter(scenario)
    assert long == 20012 and limited == 10024 and sent.remote_id
    entries = book(sandbox, "weibo")["entries"]
    assert len(entries) == WEIBO_REPLIES_PER_HOUR and entries[0]["text"] == "感谢关注"


def test_douyin_reply_to_a_comment(sandbox, redis_url):
    from tests.platforms.douyin import support as dy
    from tests.storage import samples

    account = dy.account_for(sandbox.platform_url("douyin"))
    chatter(sandbox, comments_per_day=30, seed=5)

    async def scenario(adapter, cache):
        receipt = await adapter.publish(account, dy.render_post(samples.video()), marker="dl_dr")
        post = PostRef(receipt.remote_id)
        sandbox.advance_clock(DAY)
        page = await adapter.list_comments(account, post, None, count=10)
        return await adapter.reply_comment(account, post, page.comments[0].comment_id,
                                           "感谢关注"), page.comments[0].comment_id

    sent, comment = dy.run_adapter(redis_url, scenario)
    [entry] = book(sandbox, "douyin")["entries"]
    assert sent.remote_id and (entry["comment"], entry["text"]) == (comment, "感谢关注")
