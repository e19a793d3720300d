"""A fifth platform registered from the test suite alone (tests/platform_core/bulletin: channel,
adapter with its spec, emulator, event hook) works everywhere the four built-in ones do: seeded,
validated, pushed and withdrawn by real worker processes on PostgreSQL, Redis and the sandbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from flask import g
from sqlalchemy import func, select

from hub.fanout.ratelimit import Rate, configured
from hub.infra.config import load_settings
from hub.models import Account
from hub.platforms import EXTRA_ENV, names, register, spec, unregister
from tests.platform_core.bulletin.adapter import SPEC
from tests.support.sandbox_thread import RunningSandbox, running_sandbox

SPEC_PATH = "tests.platform_core.bulletin.adapter:SPEC"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningSandbox]:
    """The platform joins through the environment (so the worker processes see it too), and a
    sandbox of its own mounts the emulator the spec names."""
    monkeypatch.setenv(EXTRA_ENV, SPEC_PATH)
    with running_sandbox() as server:
        yield server


def test_a_fifth_platform_is_seeded_pushed_and_withdrawn_end_to_end(fanout):
    assert names()[-1] == "bulletin" and "bulletin" in fanout.sandbox.state.platforms
    fanout.seed(accounts=40)
    with fanout.hub.runtime.db.session() as session:
        boards = session.execute(select(func.count()).where(
            Account.platform == "bulletin")).scalar_one()
    assert boards > 0  # the seed's share of the spec

    item = fanout.approved_item()
    pushed = fanout.push(item, {"orgs": ["yun"], "platforms": ["bulletin"]})
    assert pushed["total"] == boards
    fanout.start_workers(1)
    progress = fanout.wait_dispatch(pushed["dispatch_id"], timeout=60)
    assert progress["counts"]["published"] == boards, fanout.failures(pushed["dispatch_id"])
    live = fanout.sandbox.posts(platform="bulletin", state="live")
    assert len(live) == boards and len({p["account"] for p in live}) == boards

    withdrawal = fanout.withdraw(item)
    done = fanout.wait_withdrawal(withdrawal["withdrawal_id"], timeout=60)
    assert done["remaining"] == 0 and done["counts"]["withdrawn"] == boards, done
    assert fanout.sandbox.posts(platform="bulletin", state="live") == []
    assert fanout.duplicates() == 0


def test_the_fifth_platforms_accounts_settings_and_labels_come_from_its_spec(fanout):
    hub = fanout.hub
    fanout.seed(accounts=1)
    body = {"org": "yun", "platform": "bulletin", "name": "云省公告栏",
            "api_base": fanout.sandbox.platform_url("bulletin")}
    r = hub.post("/api/v1/accounts", {**body, "credentials": {"board": "board00001"}})
    assert r.status_code == 422 and r.json["error"]["details"]["missing"] == ["token"], r.json
    r = hub.post("/api/v1/accounts", {**body, "credentials": {"board": "b1", "token": "t"}})
    assert r.status_code == 422 and r.json["error"]["details"]["field"] == "credentials.board"
    r = hub.post("/api/v1/accounts", {**body, "credentials": {"board": "board00001",
                                                              "token": "t"}})
    assert r.status_code == 201, r.json
    account = r.json
    assert account["external_id"] == "board00001"
    assert account["callback_url"].endswith(f"/callbacks/bulletin/{account['id']}")
    r = hub.post("/api/v1/accounts", {**body, "name": "另一个", "credentials": {
        "board": "board00001", "token": "other"}})
    assert r.status_code == 409 and r.json["error"]["code"] == "identity_taken", r.json
    listed = hub.get("/api/v1/accounts?platform=bulletin")
    assert listed.status_code == 200 and [a["id"] for a in listed.json["items"]] == [account["id"]]

    event = hub.client.get(f"/callbacks/bulletin/{account['id']}")
    assert event.status_code == 200 and event.text == f"bulletin event for {account['id']}"
    assert hub.client.get(f"/callbacks/weibo/{account['id']}").status_code == 404

    settings = load_settings({"YUNCHU_BULLETIN_API_BASE": "http://gw.example.gov.cn/b/",
                              "YUNCHU_DATA_DIR": str(fanout.log_dir)})
    assert settings.api_base("bulletin") == "http://gw.example.gov.cn/b"
    assert settings.platform_hosts.endswith(",api.bulletin.example.gov.cn")
    assert configured("bulletin") == (Rate(100, 100), Rate(5, 5))

    from admin.i18n import label

    with hub.app.test_request_context():
        g.lang = "en"
        assert label("platform", "bulletin") == "Notice board"
        g.lang = "zh"
        assert label("platform", "bulletin") == "公告栏"


def test_register_adds_a_platform_to_this_process_only_until_unregistered():
    twin = dataclasses.replace(SPEC, name="bulletin2", label_zh="公告栏二")
    assert "bulletin2" not in names()
    register(twin)
    try:
        assert spec("bulletin2") is twin and names()[-1] == "bulletin2"
        with pytest.raises(ValueError, match="already registered"):
            register(twin)
    finally:
        unregister("bulletin2")
    assert "bulletin2" not in names()
    with pytest.raises(ValueError, match="lowercase"):
        dataclasses.replace(SPEC, name="Bulletin Board")
