"""`yunchu bench --withdraw-at SHARE`: the emergency. A province-wide push is running and the
withdrawal is clicked once SHARE of it is live; how long from that click until no copy is live
(nothing open among the withdrawal's rows, the platforms' ledgers empty), against a standalone
withdrawal of the same live posts (the same accounts, pushed again and left to finish first)
in the same run: ``emergency_ratio`` is the first over the second.

The push's sends not yet made when the click lands must be cancelled, not published and then
removed: ``published_after_click`` counts those that went out after it (calls already on the
wire at the click, at most), ``cancelled`` those that never went out."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from hub.models import PUBLISH_OPEN, Delivery

from .cpumeter import CpuMeter

if TYPE_CHECKING:
    from .run import Bench

ARTICLE_PLATFORMS = ["wechat", "weibo", "cityapp"]
WATCH_S = 0.2  # how often the push's live count is read before the click


@dataclass
class Phase:
    """One withdrawal: its click, how long until zero live copies, and what it left."""

    live_at_click: int = 0
    clicks_s: float = 0.0
    withdraw_s: float | None = None
    states: dict[str, int] = field(default_factory=dict)
    timeline: dict[str, Any] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    live_after: int = 0
    duplicates: int = 0
    open_after: int = 0


@dataclass
class EmergencyResult:
    accounts: int
    withdraw_at: float
    push_total: int = 0
    push_click_s: float = 0.0
    clicked_after_push_s: float = 0.0  # from the push's click to the withdrawal's
    published_before_click: int = 0
    published_after_click: int = 0  # went out after the click (were on the wire), then removed
    cancelled: int = 0
    withdrawn: int = 0
    failed: int = 0
    lost: int = 0
    duplicates: int = 0
    live_after_withdraw: int = 0
    emergency: Phase = field(default_factory=Phase)
    standalone: Phase = field(default_factory=Phase)
    emergency_ratio: float | None = None
    # The same ratio in CPU seconds of the run's own processes (workers, sandbox, PostgreSQL,
    # Redis, the API): on a machine shared with other work, wall time moves with the others'
    # load, this does not.
    emergency_cpu_ratio: float | None = None


def run_emergency(bench: Bench, share: float, timeout: float) -> dict[str, Any]:
    """Both withdrawals on one pair of workers: the emergency first, then the standalone
    withdrawal of the posts the emergency found live."""
    from .run import _sandbox_get

    assert bench.runtime is not None
    result = EmergencyResult(accounts=bench.accounts, withdraw_at=share)
    bench._reset_sandbox()
    article, video = bench.approved_items("emergency")
    workers = bench._start_workers([sys.executable, "-m", "cli", "worker"])
    meter = CpuMeter(lambda: {"sandbox": bench.processes[0].pid,
                              **{f"worker{i}": p.pid for i, p in enumerate(workers)}})
    pushed_at = time.time()
    dispatches = _push(bench, article, video, None)
    result.push_click_s = round(time.time() - pushed_at, 3)
    result.push_total = _count(bench, Delivery.dispatch_id.in_(dispatches))
    live = _wait_live(bench, dispatches, share * result.push_total, pushed_at, timeout)
    bench.log(f"[emergency] {live}/{result.push_total} live: withdrawing")
    phase, withdrawals, clicked_at = _withdraw(bench, (article, video), meter, timeout)
    result.emergency = phase
    result.clicked_after_push_s = round(clicked_at - pushed_at, 3)
    _account_for(bench, result, dispatches, withdrawals, clicked_at)
    stats = _sandbox_get(bench.sandbox_url, "/_sandbox/stats")
    phase.live_after = sum(v["live"] for v in stats.values())
    phase.duplicates = sum(v["duplicates"] for v in stats.values())
    result.live_after_withdraw, result.duplicates = phase.live_after, phase.duplicates
    bench.log(f"[emergency] withdraw: {phase.withdraw_s}s {phase.states} "
              f"(published before the click {result.published_before_click}, after "
              f"{result.published_after_click}, cancelled {result.cancelled})")

    # The standalone withdrawal of the same posts: pushed again to the same accounts, the push
    # left to finish, then withdrawn with nothing else running.
    targets = _live_accounts(bench, withdrawals)
    bench._reset_sandbox()
    article2, video2 = bench.approved_items("standalone")
    started = time.time()
    again = _push(bench, article2, video2, targets)
    _wait_done(bench, again, started, timeout)
    alone, _, _ = _withdraw(bench, (article2, video2), meter, timeout)
    stats = _sandbox_get(bench.sandbox_url, "/_sandbox/stats")
    alone.live_after = sum(v["live"] for v in stats.values())
    alone.duplicates = sum(v["duplicates"] for v in stats.values())
    result.standalone = alone
    result.lost += alone.open_after
    result.live_after_withdraw += alone.live_after
    result.duplicates += alone.duplicates
    if phase.withdraw_s and alone.withdraw_s:
        result.emergency_ratio = round(phase.withdraw_s / alone.withdraw_s, 3)
    if _own_cpu(alone):
        result.emergency_cpu_ratio = round(_own_cpu(phase) / _own_cpu(alone), 3)
    bench.log(f"[standalone] withdraw of {alone.live_at_click} live: {alone.withdraw_s}s; "
              f"emergency_ratio {result.emergency_ratio} (CPU {result.emergency_cpu_ratio})")
    bench._stop(workers)
    return asdict(result)


def _own_cpu(phase: Phase) -> float:
    return sum(v for k, v in phase.cpu_s.items() if not k.startswith("machine_"))


def _push(bench: Bench, article: str, video: str,
          accounts: dict[str, list[str]] | None) -> list[str]:
    """The article to the WeChat, Weibo and city-app accounts, the video to the Douyin ones
    (or, with ``accounts``, to those accounts of each item)."""
    def targets(kind: str, platforms: list[str]) -> dict[str, Any]:
        if accounts is None:
            return {"orgs": ["yun"], "platforms": platforms}
        return {"accounts": accounts[kind]}

    dispatches = []
    for item, kind, platforms in ((article, "article", ARTICLE_PLATFORMS),
                                  (video, "video", ["douyin"])):
        if accounts is not None and not accounts[kind]:
            continue
        dispatches.append(bench._api("POST", f"/api/v1/items/{item}/push",
                                     {"targets": targets(kind, platforms)})["dispatch_id"])
    return dispatches


def _count(bench: Bench, *where: Any) -> int:
    assert bench.runtime is not None
    with bench.runtime.db.session() as session:
        return session.execute(select(func.count()).where(*where)).scalar_one()


def _wait_live(bench: Bench, dispatches: list[str], wanted: float, since: float,
               timeout: float) -> int:
    while time.time() - since < timeout:
        live = _count(bench, Delivery.dispatch_id.in_(dispatches),
                      Delivery.state.in_(("published", "pending_review")))
        if live >= wanted:
            return live
        time.sleep(WATCH_S)
    raise RuntimeError(f"the push did not reach {wanted:.0f} live posts in {timeout:.0f}s")


def _wait_done(bench: Bench, dispatches: list[str], since: float, timeout: float) -> None:
    push_s, counts = bench._wait(Delivery.dispatch_id, dispatches, PUBLISH_OPEN,
                                 Delivery.published_at, since, timeout)
    if push_s is None:
        raise RuntimeError(f"the standalone push did not finish in {timeout:.0f}s: {counts}")
    bench.log(f"[standalone] pushed again in {push_s:.1f}s: {counts}")


def _withdraw(bench: Bench, items: tuple[str, str], meter: CpuMeter,
              timeout: float) -> tuple[Phase, list[str], float]:
    from .run import WITHDRAW_OPEN_STATES

    phase = Phase()
    cpu_at = meter.snapshot()
    clicked_at = time.time()
    withdrawals = [bench._api("POST", f"/api/v1/items/{item}/withdraw",
                              {"reason": "基准测试紧急撤稿"})["withdrawal_id"]
                   for item in items]
    phase.clicks_s = round(time.time() - clicked_at, 3)
    withdraw_s, counts = bench._wait(Delivery.withdrawal_id, withdrawals, WITHDRAW_OPEN_STATES,
                                     Delivery.withdrawn_at, clicked_at, timeout)
    phase.withdraw_s = round(withdraw_s, 3) if withdraw_s is not None else None
    phase.cpu_s = meter.since(cpu_at, meter.snapshot())
    phase.states = counts
    phase.open_after = sum(counts.get(s, 0) for s in WITHDRAW_OPEN_STATES)
    phase.timeline = {"clicks_s": phase.clicks_s}
    if withdraw_s is not None:
        phase.timeline.update(bench._timeline(Delivery.withdrawal_id, withdrawals,
                                              Delivery.withdrawn_at, clicked_at))
    # What was live when the click committed: every removal the withdrawal queued or found
    # in flight, i.e. every row it did not cancel.
    phase.live_at_click = sum(n for state, n in counts.items() if state != "cancelled")
    return phase, withdrawals, clicked_at


def _account_for(bench: Bench, result: EmergencyResult, dispatches: list[str],
                 withdrawals: list[str], clicked_at: float) -> None:
    """Where each of the push's rows ended, and when its post (if any) went out."""
    from datetime import UTC, datetime

    assert bench.runtime is not None
    click = datetime.fromtimestamp(clicked_at, UTC)
    with bench.runtime.db.session() as session:
        rows = dict(session.execute(select(Delivery.state, func.count()).where(
            Delivery.dispatch_id.in_(dispatches)).group_by(Delivery.state)).all())
        before, after = session.execute(select(
            func.count().filter(Delivery.published_at < click),
            func.count().filter(Delivery.published_at >= click)).where(
            Delivery.withdrawal_id.in_(withdrawals))).one()
    result.published_before_click, result.published_after_click = before, after
    result.cancelled = rows.get("cancelled", 0)
    result.withdrawn = rows.get("withdrawn", 0)
    result.failed = rows.get("failed", 0)
    result.lost = sum(rows.get(s, 0) for s in PUBLISH_OPEN) + result.emergency.open_after


def _live_accounts(bench: Bench, withdrawals: list[str]) -> dict[str, list[str]]:
    """The accounts whose copy the emergency withdrawal removed, by item kind."""
    assert bench.runtime is not None
    with bench.runtime.db.session() as session:
        rows = session.execute(select(Delivery.account_id, Delivery.platform).where(
            Delivery.withdrawal_id.in_(withdrawals), Delivery.state == "withdrawn",
            Delivery.published_at.is_not(None))).all()
    accounts: dict[str, list[str]] = {"article": [], "video": []}
    for account_id, platform in rows:
        accounts["video" if platform == "douyin" else "article"].append(account_id)
    return accounts
