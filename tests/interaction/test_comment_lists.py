"""Each adapter's comment list against the sandbox over HTTP: every generated comment is read
once, in pages, and a second pass from the kept cursor finds nothing new until more come."""

from __future__ import annotations

import pytest

from adapters.base import PostRef, Unsupported
from tests.platforms.douyin import support as dy
from tests.platforms.wechat import support as wx
from tests.platforms.weibo import support as wb
from tests.storage import samples

from .conftest import chatter, generated

DAY = 86400


async def read_all(adapter, account, post: PostRef, cursor, count: int):
    seen, calls = [], 0
    while True:
        page = await adapter.list_comments(account, post, cursor, count=count)
        calls += 1
        seen += page.comments
        cursor = page.cursor
        post = PostRef(post.remote_id, post.url, page.post_key or post.key)
        if not page.has_more:
            return seen, cursor, post, calls


def test_wechat_comments_page_by_begin_and_carry_the_article_key(sandbox, redis_url):
    account = wx.account_for(sandbox.platform_url("wechat"), "wx00000000000000c1")
    chatter(sandbox, comments_per_day=60, seed=7)

    async def scenario(adapter):
        receipt = await adapter.publish(account, wx.make_post(), marker="dl_c1")
        status = await adapter.status(account, receipt.remote_id)
        post = PostRef(status.remote_id, status.url)
        sandbox.advance_clock(DAY)
        first, cursor, post, calls = await read_all(adapter, account, post, None, 20)
        again, _, _, _ = await read_all(adapter, account, post, cursor, 20)
        sandbox.advance_clock(DAY)
        more, _, _, _ = await read_all(adapter, account, post, cursor, 20)
        return first, again, more, calls, post

    first, again, more, calls, post = wx.run_with_adapter(redis_url, scenario)
    [made] = generated(sandbox, "wechat").values()
    assert len(first) > 30 and calls == -(-len(first) // 20) + (len(first) % 20 == 0)
    assert [c.comment_id for c in first] == [str(c["number"]) for c in made[:len(first)]]
    assert again == [] and len(more) > 20
    assert len({c.remote_id for c in first + more}) == len(first) + len(more)
    assert post.key and first[0].remote_id.startswith(post.key + ":")
    assert first[0].user_id and first[0].user_id.startswith("o")


def test_wechat_comments_closed_is_unsupported(sandbox, redis_url):
    account = wx.account_for(sandbox.platform_url("wechat"), "wx00000000000000c2")

    async def scenario(adapter):
        receipt = await adapter.publish(account, wx.make_post(), marker="dl_c2")
        status = await adapter.status(account, receipt.remote_id)
        sandbox.register("wechat", "wx00000000000000c2", verified=False)
        with pytest.raises(Unsupported) as refused:
            await adapter.list_comments(account, PostRef(status.remote_id, status.url), None,
                                        count=10)
        return refused.value.code

    assert wx.run_with_adapter(redis_url, scenario) == 48001


def test_weibo_comments_walk_back_with_max_id_then_keep_since_id(sandbox):
    account = wb.account_for(sandbox.platform_url("weibo"))
    chatter(sandbox, comments_per_day=50, seed=3)

    async def scenario(adapter):
        receipt = await adapter.publish(account, wb.make_post(), marker="dl_w1")
        post = PostRef(receipt.remote_id)
        sandbox.advance_clock(DAY)
        first, cursor, post, calls = await read_all(adapter, account, post, None, 20)
        again, cursor2, _, _ = await read_all(adapter, account, post, cursor, 20)
        sandbox.advance_clock(DAY / 2)
        more, _, _, _ = await read_all(adapter, account, post, cursor2, 20)
        return first, again, more, calls

    first, again, more, calls = wb.run_with_adapter(scenario)
    [made] = generated(sandbox, "weibo").values()
    assert len(first) + len(more) == len(made) and len(first) > 20 and calls >= 2
    assert again == [] and more
    ids = [c.comment_id for c in first + more]
    assert len(set(ids)) == len(ids)
    assert first[0].author_name and first[0].created_at.tzinfo is not None


def test_douyin_comments_page_by_cursor_with_encoded_ids(sandbox, redis_url):
    mp4 = samples.video()
    account = dy.account_for(sandbox.platform_url("douyin"))
    chatter(sandbox, comments_per_day=30, seed=5)

    async def scenario(adapter, cache):
        receipt = await adapter.publish(account, dy.render_post(mp4), marker="dl_d1")
        post = PostRef(receipt.remote_id)
        sandbox.advance_clock(DAY)
        first, cursor, post, _ = await read_all(adapter, account, post, None, 10)
        again, _, _, _ = await read_all(adapter, account, post, cursor, 10)
        return first, again

    first, again = dy.run_adapter(redis_url, scenario)
    [made] = generated(sandbox, "douyin").values()
    assert len(first) == len(made) > 10 and again == []
    assert all("+" in c.comment_id and c.comment_id.startswith("@") for c in first)
