"""Browser tests: Playwright driving the system's Chromium (never a downloaded browser) against
a hub started the way a newcomer starts it (``yunchu up``), with the sandbox platforms.

A failing test leaves a screenshot of each open page under ``test-artifacts/``. Without
Chromium the tests skip, saying so — except in CI (``CI`` set), where ``.ci/run`` installs it
and its absence is a failure.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.test_up import start_up, stop_up

CHROMIUM = os.environ.get("YUNCHU_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "browser-test-password-1"
# The admin asks for the typed number from this many accounts on: low, so the story meets it.
CONFIRM_THRESHOLD = 3


def _chromium() -> str:
    found = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"Chromium is not installed ({CHROMIUM}); .ci/run installs it")
    pytest.skip(f"Chromium is not installed ({CHROMIUM}): apt-get install -y chromium")
    raise AssertionError  # unreachable


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[FAILED] = report.failed


FAILED = pytest.StashKey[bool]()


@dataclass
class Hub:
    url: str
    token: str
    admin_name: str
    admin_password: str
    data: dict[str, Any] = field(default_factory=dict)

    def api(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        return requests.request(method, self.url + "api/v1" + path, json=body, timeout=30,
                                headers={"Authorization": f"Bearer {self.token}"})

    def made(self, method: str, path: str, body: dict) -> dict[str, Any]:
        response = self.api(method, path, body)
        assert response.status_code in (200, 201), (path, response.text[:500])
        return response.json()


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory, redis_server_url: str,
       sandbox_server) -> Iterator[Hub]:
    """``yunchu up`` on a fresh data directory, one worker, allowed to call the sandbox;
    stopped once the module's tests are done (its worker must not run beside other tests)."""
    _chromium()
    data = tmp_path_factory.mktemp("up") / "var"
    redis_url = redis_server_url.rsplit("/", 1)[0] + "/9"  # its own queues
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    process, lines = start_up(data, redis_url, YUNCHU_WORKERS="1",
                              YUNCHU_OUTBOUND_ALLOW=sandbox_server.allow_entry,
                              YUNCHU_CONFIRM_THRESHOLD=str(CONFIRM_THRESHOLD),
                              YUNCHU_RECONCILE_INTERVAL_S="0.5")
    try:
        yield hub_of(process, lines)
    finally:
        stop_up(process)


def hub_of(process: Any, lines: dict[str, str]) -> Hub:
    """The started ``yunchu up``, signed in by the bootstrap admin of its ``login:`` line."""
    login = process.stdout.readline().rstrip("\n")
    assert login.startswith("login: "), login
    name, _, password = login.removeprefix("login: ").partition(" / ")
    return Hub(url=lines["url"], token=lines["token"], admin_name=name, admin_password=password)


def seed_county(hub: Hub, user: str, roles: list[str]) -> None:
    """yun › c1 › c1-k1, and ``user`` with ``roles`` in the county."""
    for slug, kind, parent in (("yun", "province", None), ("c1", "city", "yun"),
                               ("c1-k1", "county", "c1")):
        hub.made("POST", "/orgs", {"slug": slug, "name": f"机构{slug}", "kind": kind,
                                   "parent": parent})
    hub.made("POST", "/users", {"org": "c1-k1", "name": user, "roles": roles,
                                "password": PASSWORD})


@contextmanager
def signed_in(chromium: Any, up: Hub, who: str, *, timeout_ms: int) -> Iterator[Any]:
    """A fresh Chinese-locale page signed in as ``who``."""
    context = chromium.new_context(locale="zh-CN")
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    sign_in(page, up, who)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def newsroom(up: Hub, sandbox_server) -> Hub:
    """A province, a city and a county with sandbox WeChat accounts, an editor, three
    reviewers and a county operator, all with passwords (made through the API)."""
    for slug, kind, parent in (("yun", "province", None), ("c1", "city", "yun"),
                               ("c1-k1", "county", "c1")):
        up.made("POST", "/orgs", {"slug": slug, "name": f"机构{slug}", "kind": kind,
                                  "parent": parent})
    people = {"editor": ("c1", ["editor"], None), "operator": ("c1-k1", ["operator"], None)}
    people |= {f"reviewer{n}": ("yun", ["reviewer"], n) for n in (1, 2, 3)}
    for who, (org, roles, stage) in people.items():
        body: dict[str, Any] = {"org": org, "name": who, "roles": roles, "password": PASSWORD}
        if stage:
            body["review_stage"] = stage
        up.made("POST", "/users", body)
    for n, org in enumerate(("c1", "c1-k1", "c1-k1")):
        up.made("POST", "/accounts", {
            "org": org, "platform": "wechat", "name": f"{org}-政务微信{n}",
            "credentials": {"appid": f"wxbrowser{n:04d}", "secret": f"secret-{n}-0123456789"},
            "api_base": sandbox_server.platform_url("wechat")})
    return up


@pytest.fixture(scope="module")
def chromium(up: Hub) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(),
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def people(request: pytest.FixtureRequest, chromium, up: Hub) -> Iterator[Any]:
    """``people(name, **context_options)``: a signed-in page per person (own cookies)."""
    opened: list[tuple[str, Any]] = []

    def open_as(who: str | None, **options: Any) -> Any:
        context = chromium.new_context(locale="zh-CN", **options)
        context.set_default_timeout(15_000)
        page = context.new_page()
        opened.append((who or "anonymous", page))
        if who is not None:
            sign_in(page, up, who)
        return page

    yield open_as
    if request.node.stash.get(FAILED, False):
        ARTIFACTS.mkdir(exist_ok=True)
        for n, (who, page) in enumerate(opened):
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            with contextlib.suppress(Exception):  # a closed page: nothing to show
                page.screenshot(path=str(ARTIFACTS / f"{safe}-{n}-{who}.png"), full_page=True)
    for _, page in opened:
        page.context.close()


def sign_in(page: Any, up: Hub, who: str) -> None:
    password = up.admin_password if who == up.admin_name else PASSWORD
    page.goto(up.url + "admin/login")
    page.fill('input[name="name"]', who)
    page.fill('input[name="password"]', password)
    page.click('form[action$="/admin/login"] button[type="submit"]')
    page.wait_for_url(up.url + "admin/")


def jpeg(size: tuple[int, int] = (900, 500)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 90, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()
