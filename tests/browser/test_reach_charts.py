"""The reach pages in a real browser, on a hub started by ``yunchu up``: the rankings page
draws its ECharts chart (served by the hub, under the admin's CSP) and its table's first row
is the account the figures make first; an item's reach chart draws the item's days.

Figures are written into the hub's database (reach_post_days) the way the collector's store
leaves them; collection itself is tested end to end in tests/fanout/test_reach_e2e.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.hub.reach_helpers import seed, wci
from tests.test_up import start_up, stop_up

from .conftest import Hub, _chromium, hub_of

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


class _Answer:
    def __init__(self, response: Any):
        self.status_code = response.status_code
        self.json = response.json()


class UpClient:
    """What tests/hub/reach_helpers.seed needs of a hub, over HTTP and the hub's database."""

    def __init__(self, up: Hub, engine: Any):
        self.up = up
        self.runtime = SimpleNamespace(db=SimpleNamespace(session=lambda: Session(engine)))

    def post(self, path: str, body: dict) -> _Answer:
        return _Answer(self.up.api("POST", path.removeprefix("/api/v1"), body))

    def get(self, path: str) -> _Answer:
        return _Answer(self.up.api("GET", path.removeprefix("/api/v1")))


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory, redis_server_url: str) -> Iterator[Hub]:
    """``yunchu up`` (no workers) on a data directory this module knows, with the figures."""
    from hub.infra.db import make_engine

    _chromium()
    data = tmp_path_factory.mktemp("reach-up") / "var"
    process, lines = start_up(data, redis_server_url.rsplit("/", 1)[0] + "/9")
    try:
        hub = hub_of(process, lines)
        engine = make_engine(f"sqlite:///{data / 'yunchu.db'}")
        hub.data = seed(UpClient(hub, engine))
        engine.dispose()
        yield hub
    finally:
        stop_up(process)


def expected_first(rows: list[dict[str, Any]], accounts: dict[str, str]) -> str:
    """The November leader, computed from the seeded rows alone."""
    posts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in rows:
        if row["day"].month == 11:
            figures = posts[row["account_id"]][row["post_id"]]
            figures[0] += row["reads"]
            figures[1] += row["likes"]
    best = max(posts, key=lambda a: wci({p: tuple(v) for p, v in posts[a].items()}))
    return {v: k for k, v in accounts.items()}[best]


def test_rankings_chart_and_first_row(people, up: Hub) -> None:
    page = people(up.admin_name)
    page.goto(up.url + "admin/rankings?period=2026-11&platform=wechat")
    chart = page.wait_for_selector('[data-chart="ranking-wechat"][data-rendered]')
    assert int(chart.get_attribute("data-rendered")) == 4  # one bar per ranked account
    assert page.locator('[data-chart="ranking-wechat"] svg path').count() >= 4
    first = page.inner_text(".ranking-table tbody tr:first-child td.name")
    assert first == expected_first(up.data["rows"], up.data["accounts"]) == "丁"
    assert page.locator(".ranking-table tbody tr:first-child svg.spark polyline").count() == 1
    # The city breakdown of the month's pushed item is drawn too.
    page.wait_for_selector('[data-chart="item-cities-1"][data-rendered="2"] svg')


def test_item_reach_chart(people, up: Hub) -> None:
    page = people(up.admin_name)
    item = up.data["item"]
    page.goto(up.url + f"admin/items/{item}/reach?from=2026-11-01&to=2026-11-30")
    chart = page.wait_for_selector('[data-chart="item-over-time"][data-rendered]')
    assert chart.get_attribute("data-rendered") == "30"
    assert page.locator('[data-chart="item-over-time"] svg path').count() >= 1
    assert page.inner_text('[data-total="views"]') == "6000"
    page.wait_for_selector('[data-chart="item-platforms"][data-rendered="1"] svg path')
