"""Any platform whose starter is in the registry is offered by the API and the admin: a
stand-in for the WeChat 第三方平台 starter plugs in with one registry line."""

from __future__ import annotations

import pytest

from hub.services.onboarding import registry
from hub.services.onboarding.base import Begun, StartFailed
from tests.hub.helpers import error_of, make_tree


def _fake_wechat(runtime, *, callback_url: str, account) -> Begun:
    return Begun("pre-auth-code-" + "x" * 20, "https://hub.test/wechat/authorize?pac=1", 600)


def test_a_registered_starter_is_offered_and_started(hub, monkeypatch):
    make_tree(hub)
    monkeypatch.setitem(registry.STARTERS, "wechat", _fake_wechat)
    started = hub.post("/api/v1/orgs/c1/authorizations", {"platform": "wechat"})
    assert started.status_code == 201, started.json
    assert started.json["platform"] == "wechat" and started.json["status"] == "pending"
    assert started.json["url"] == "https://hub.test/wechat/authorize?pac=1"
    assert hub.get(started.json["qr_url"]).data.startswith(b"\x89PNG")
    from hub.services import authorization_actions

    assert "wechat" in authorization_actions.connectable()
    assert authorization_actions.connectable().index("wechat") < \
        authorization_actions.connectable().index("weibo")


@pytest.mark.parametrize("failure", [StartFailed("pre_auth_code unavailable")])
def test_a_starter_that_cannot_start_is_a_502_in_the_error_shape(hub, monkeypatch, failure):
    make_tree(hub)

    def failing(runtime, *, callback_url, account):
        raise failure

    monkeypatch.setitem(registry.STARTERS, "wechat", failing)
    answer = hub.post("/api/v1/orgs/c1/authorizations", {"platform": "wechat"})
    assert answer.status_code == 502 and error_of(answer)["code"] == "platform_unavailable"
