"""Accounts created by 扫码授权 publish through the same adapters as accounts added with pasted
tokens: the sealed credentials are what the adapters read, and the sandbox accepts the tokens
its consent pages minted. A token the holder withdrew is refused on use."""

from __future__ import annotations

import pytest

from adapters.base import AccountRef, AuthFailed
from tests.hub.helpers import make_tree
from tests.hub.onboarding.support import authorize, connect_to_sandbox
from tests.platforms.douyin.support import render_post, run_adapter
from tests.platforms.weibo.support import make_post, run_with_adapter
from tests.storage.samples import video


def _ref(hub, account_id: str) -> AccountRef:
    from hub.models import Account

    with hub.runtime.db.session() as session:
        row = session.get(Account, account_id)
        credentials = hub.runtime.box.open(row.credentials_sealed, bound_to=row.id)
        return AccountRef(id=row.id, platform=row.platform,
                          api_base=hub.runtime.settings.api_base(row.platform),
                          credentials=credentials)


def test_weibo_and_douyin_accounts_connected_by_consent_publish(hub, sandbox,
                                                                redis_server_url):
    make_tree(hub)
    connect_to_sandbox(hub, sandbox)
    weibo = _ref(hub, authorize(hub, "c1", "weibo", "1404376560")["account_id"])
    receipt = run_with_adapter(lambda adapter: adapter.publish(weibo, make_post(), marker="m1"))
    assert receipt.state == "published" and receipt.extra["uid"] == "1404376560"
    douyin = _ref(hub, authorize(hub, "c1", "douyin", "ou_dy_yuncheng")["account_id"])

    async def publish(adapter, _cache):
        return await adapter.publish(douyin, render_post(video()), marker="m2")

    receipt = run_adapter(redis_server_url, publish)
    assert receipt.remote_id
    assert [p["account"] for p in sandbox.posts(platform="douyin")] == ["ou_dy_yuncheng"]
    sandbox.revoke("weibo", "1404376560")  # the holder cancels the grant on the phone
    with pytest.raises(AuthFailed):
        run_with_adapter(lambda adapter: adapter.publish(weibo, make_post("it_2"), marker="m3"))
