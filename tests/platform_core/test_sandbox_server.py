"""The sandbox server over real HTTP: control API, platform middleware, module registry."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.server import available_platforms, build_app, platform_modules
from tests.support.sandbox_thread import RunningSandbox, running_sandbox

ECHO_MODULES = {"echo": "tests.platform_core.echo_platform"}


@pytest.fixture(scope="module")
def echo_server() -> Iterator[RunningSandbox]:
    with running_sandbox(modules=ECHO_MODULES) as server:
        yield server


@pytest.fixture
def echo(echo_server: RunningSandbox) -> RunningSandbox:
    echo_server.reset()
    return echo_server


def publish(sb: RunningSandbox, account: str, title: str, text: str = "正文", **kw: Any) -> Any:
    payload = {"account": account, "secret": "s-" + account, "title": title, "text": text}
    return requests.post(f"{sb.url}/echo/posts", json=payload, timeout=kw.get("timeout", 10))


def test_a_platform_app_is_served_with_its_middlewares_keys_and_dynamic_routes(
    echo: RunningSandbox,
) -> None:
    answer = requests.get(f"{echo.url}/echo/greet/县融媒", timeout=10)
    assert answer.json() == {"greeting": "你好", "name": "县融媒"}
    assert answer.headers["X-Echo-Middleware"] == "ran"
    assert requests.head(f"{echo.url}/echo/greet/x", timeout=10).status_code == 200
    assert requests.post(f"{echo.url}/echo/greet/x", timeout=10).status_code == 405
    assert requests.get(f"{echo.url}/echo/greet", timeout=10).status_code == 404
    assert echo.stats()["echo"]["requests"] == 4  # every request under /echo is counted


# ---------------------------------------------------------------- control API


def test_posts_listing_filters_and_contract_shape(echo: RunningSandbox) -> None:
    first = publish(echo, "a1", "通知一").json()["id"]
    publish(echo, "a2", "通知二")
    publish(echo, "a1", "通知三")
    requests.post(f"{echo.url}/echo/posts/{first}/delete", timeout=10)

    body = requests.get(f"{echo.url}/_sandbox/posts", timeout=10).json()
    assert body["total"] == 3 and len(body["items"]) == 3
    assert body["items"][0] == {
        "platform": "echo",
        "account": "a1",
        "remote_id": first,
        "title": "通知一",
        "text": "正文",
        "state": "deleted",
        "created_at": body["items"][0]["created_at"],
    }
    assert [p["title"] for p in echo.posts(account="a1")] == ["通知一", "通知三"]
    assert [p["title"] for p in echo.posts(platform="echo", state="live")] == ["通知二", "通知三"]
    assert [p["title"] for p in echo.posts(state="deleted")] == ["通知一"]
    assert echo.posts(platform="weibo") == []

    bad = requests.get(f"{echo.url}/_sandbox/posts", params={"state": "gone"}, timeout=10)
    assert bad.status_code == 400


def test_stats_count_posts_duplicates_deletes_requests_and_errors(echo: RunningSandbox) -> None:
    remote_id = publish(echo, "a1", "同一篇").json()["id"]
    publish(echo, "a1", "同一篇")  # double post while the first is live
    publish(echo, "a1", "另一篇")
    requests.post(f"{echo.url}/echo/posts/{remote_id}/delete", timeout=10)
    requests.post(f"{echo.url}/echo/posts/{remote_id}/delete", timeout=10)  # already gone
    requests.get(f"{echo.url}/echo/missing", timeout=10)  # 404: an error answer
    requests.get(f"{echo.url}/echo/ping", timeout=10)  # module counts too: still one request
    echo.stats()  # control calls are not platform requests

    assert echo.stats() == {
        "echo": {
            "created": 3,
            "deleted": 1,
            "live": 2,
            "duplicates": 1,
            "requests": 7,
            "errors": 1,
        }
    }


def test_config_changes_at_run_time_and_drives_faults(echo: RunningSandbox) -> None:
    assert echo.config(faults={"http_5xx": 1.0})["faults"]["http_5xx"] == 1.0
    assert publish(echo, "a1", "t").status_code == 503
    echo.config(faults={"http_5xx": 0.0, "rate_limit": 1.0})
    assert publish(echo, "a1", "t").json() == {"errcode": 45009, "errmsg": "rate_limit"}
    echo.config(faults={"rate_limit": 0.0})
    assert publish(echo, "a1", "t").json()["errcode"] == 0

    stats = echo.stats()["echo"]
    # the 503 is counted once although the module counted it and the status is 5xx
    assert (stats["requests"], stats["errors"], stats["created"]) == (3, 2, 1)
    current = requests.get(f"{echo.url}/_sandbox/config", timeout=10).json()
    assert current["faults"] == {"http_5xx": 0.0, "timeout": 0.0, "rate_limit": 0.0, "busy": 0.0,
                                 "unknown_error": 0.0}


def test_invalid_config_is_refused_with_a_readable_reason(echo: RunningSandbox) -> None:
    for payload in ({"faults": {"http_5xx": 2}}, {"latency_ms": -5}, {"nonsense": 1}):
        answer = requests.post(f"{echo.url}/_sandbox/config", json=payload, timeout=10)
        assert answer.status_code == 400
        assert answer.json()["error"]
    not_json = requests.post(f"{echo.url}/_sandbox/config", data=b"{oops", timeout=10)
    assert not_json.status_code == 400
    assert echo.state.config.as_dict()["latency_ms"] == 0.0


def test_timeout_fault_stalls_timeout_s_then_answers_504(echo: RunningSandbox) -> None:
    echo.config(faults={"timeout": 1.0}, timeout_s=0.2)
    answer = publish(echo, "a1", "t")
    assert answer.status_code == 504
    assert echo.stats()["echo"]["errors"] == 1
    assert echo.posts() == []


def test_a_client_timeout_shorter_than_the_stall_gives_up(echo: RunningSandbox) -> None:
    echo.config(faults={"timeout": 1.0}, timeout_s=5)
    with pytest.raises(requests.Timeout):
        publish(echo, "a1", "t", timeout=0.3)


def test_latency_applies_to_platform_requests_only(echo: RunningSandbox) -> None:
    echo.config(latency_ms=5000)
    # control API answers at once even though platform requests now take 5 s
    assert requests.get(f"{echo.url}/_sandbox/stats", timeout=2).status_code == 200
    with pytest.raises(requests.Timeout):
        requests.get(f"{echo.url}/echo/ping", timeout=0.3)

    echo.config(latency_ms=200)
    started = time.monotonic()
    requests.get(f"{echo.url}/echo/ping", timeout=10)
    assert time.monotonic() - started >= 0.19


def test_revoke_refuses_every_later_call_of_that_account_only(echo: RunningSandbox) -> None:
    assert publish(echo, "a1", "t").json()["errcode"] == 0
    answer = requests.post(f"{echo.url}/_sandbox/accounts/echo/a1/revoke", timeout=10)
    assert answer.json() == {"ok": True}
    assert publish(echo, "a1", "t2").json() == {"errcode": 40001, "errmsg": "revoked"}
    assert publish(echo, "a2", "t2").json()["errcode"] == 0
    assert echo.stats()["echo"]["errors"] == 1


def test_account_registration_reaches_the_shared_state(echo: RunningSandbox) -> None:
    answer = requests.post(
        f"{echo.url}/_sandbox/accounts/cityapp/app-7",
        json={"signing_secret": "whsec_abc"},
        timeout=10,
    )
    assert answer.json() == {"ok": True}
    assert echo.state.accounts.registered("cityapp", "app-7") == {"signing_secret": "whsec_abc"}
    array = requests.post(f"{echo.url}/_sandbox/accounts/cityapp/x", json=[1], timeout=10)
    assert array.status_code == 400


def test_clock_advance_moves_sandbox_time(echo: RunningSandbox) -> None:
    before = echo.state.clock.now()
    assert echo.advance_clock(7200) >= before + 7200
    negative = requests.post(f"{echo.url}/_sandbox/clock/advance", json={"seconds": -1}, timeout=10)
    assert negative.status_code == 400
    missing = requests.post(f"{echo.url}/_sandbox/clock/advance", json={}, timeout=10)
    assert missing.status_code == 400


def test_reset_forgets_posts_accounts_config_and_time(echo: RunningSandbox) -> None:
    publish(echo, "a1", "t")
    echo.revoke("echo", "a2")
    echo.config(latency_ms=1, faults={"busy": 0.5})
    echo.advance_clock(86400)

    assert requests.post(f"{echo.url}/_sandbox/reset", timeout=10).json() == {"ok": True}

    assert echo.posts() == []
    assert echo.stats()["echo"] == dict.fromkeys(
        ("created", "deleted", "live", "duplicates", "requests", "errors"), 0
    )
    assert echo.state.config.latency_ms == 0 and echo.state.config.faults["busy"] == 0
    assert echo.state.clock.now() < time.time() + 60
    assert publish(echo, "a2", "t").json()["errcode"] == 0


def test_index_lists_mounted_platforms(echo: RunningSandbox) -> None:
    assert requests.get(f"{echo.url}/_sandbox/", timeout=10).json()["platforms"] == ["echo"]


# ---------------------------------------------------------------- registry and fixture


def test_missing_platform_modules_are_skipped_but_broken_ones_fail() -> None:
    modules = {**ECHO_MODULES, "ghost": "tests.platform_core.no_such_platform"}
    assert list(available_platforms(modules=modules)) == ["echo"]
    broken = {"broken": "tests.platform_core.broken_platform"}
    with pytest.raises(ModuleNotFoundError, match="yunchu_dependency_that_is_not_installed"):
        build_app(modules=broken)


def test_default_registry_mounts_every_platform_module_that_exists() -> None:
    app_platforms = list(available_platforms())
    modules = platform_modules()
    assert set(app_platforms) <= set(modules)
    for platform in modules:
        try:
            __import__(modules[platform])
        except ModuleNotFoundError:
            assert platform not in app_platforms
        else:
            assert platform in app_platforms


def test_the_shared_fixture_serves_the_control_api_and_resets(sandbox: RunningSandbox) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:") and not sandbox.url.endswith("/")
    assert sandbox.platform_url("weibo") == sandbox.url + "/weibo"
    sandbox.call_in_server(
        sandbox.state.ledger.create, "weibo", "u1", remote_id="1", title="t", text="x"
    )
    sandbox.register("cityapp", "app1", signing_secret="whsec_1")
    sandbox.revoke("weibo", "u1")
    assert [p["remote_id"] for p in sandbox.posts(platform="weibo")] == ["1"]
    assert sandbox.stats()["weibo"]["created"] == 1
    assert sandbox.state.accounts.registered("cityapp", "app1") == {"signing_secret": "whsec_1"}
    assert sandbox.state.accounts.is_revoked("weibo", "u1")

    sandbox.reset()

    assert sandbox.posts() == []
    assert sandbox.state.accounts.registered("cityapp", "app1") is None
    assert not sandbox.state.accounts.is_revoked("weibo", "u1")
