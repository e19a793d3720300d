"""`yunchu bench --intake`: comment intake at scale, and whether it delays a withdrawal.

One run, one database, one pair of workers, the sandbox on loopback:

1. Three articles are pushed to every WeChat, Weibo and city-app account: A (whose comments
   intake reads), B and C (withdrawn below).
2. **Withdrawal alone**: B is withdrawn with nothing else queued.
3. The sandbox's commenters write ``--comments-per-day`` comments under every live post and
   their clock (``ahead_s``) moves a day ahead: a day's comments wait under A (and C).
4. **Withdrawal with intake**: intake is planned for every post of A (hundreds of jobs on the
   maintenance queue) and, at the same moment, C is withdrawn. ``withdraw_ratio`` is C's time
   over B's: 1.0 means intake did not delay the withdrawal.
5. **Intake alone**: another day of comments, intake planned again and timed to the end.

The workers' own intake schedule is switched off (``YUNCHU_INTAKE_INTERVAL_S`` a day, its
Redis mark set) so intake runs exactly when the bench plans it. Platform calls are the
sandbox's request counts over the intake-alone phase, against each platform's quota and the
intake rate budgets (hub/services/interaction/budget.py).
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from hub.models import CommentCursor, Delivery, InteractionMessage

from .cpumeter import CpuMeter

if TYPE_CHECKING:
    from .run import Bench

ARTICLE_PLATFORMS = ["wechat", "weibo", "cityapp"]
DAY_S = 86400
WATCH_S = 0.5
WEIBO_APP_RATE = "200/200"


@dataclass
class IntakePhase:
    planned: dict[str, int] = field(default_factory=dict)
    jobs: int = 0
    wall_s: float | None = None
    comments_taken: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)


@dataclass
class IntakeResult:
    accounts: int
    comments_per_day: float
    posts_polled: int = 0
    withdraw_alone_s: float | None = None
    withdraw_with_intake_s: float | None = None
    withdraw_ratio: float | None = None
    withdraw_states: dict[str, dict[str, int]] = field(default_factory=dict)
    # CPU seconds per process over each withdrawal (workers, sandbox, PostgreSQL, the whole
    # machine): what intake's work beside it cost, and the machine's other load.
    withdraw_cpu_s: dict[str, dict[str, float]] = field(default_factory=dict)
    intake_during_withdrawal: IntakePhase = field(default_factory=IntakePhase)
    intake_alone: IntakePhase = field(default_factory=IntakePhase)
    duplicates_taken: int = 0
    quotas: dict[str, Any] = field(default_factory=dict)


def run_intake(bench: Bench, comments_per_day: float, timeout: float) -> dict[str, Any]:
    from hub.services.interaction import planner

    from .run import _sandbox_post

    assert bench.runtime is not None
    result = IntakeResult(accounts=bench.accounts, comments_per_day=comments_per_day)
    bench._reset_sandbox()
    redis = bench.runtime.redis
    redis.set(planner.DUE_KEY, 1, ex=DAY_S)  # the workers' reconciler plans no intake
    items = [_article(bench, tag) for tag in ("A", "B", "C")]
    bench.env["YUNCHU_INTAKE_INTERVAL_S"] = str(DAY_S)
    # One Weibo app's intake share (10,000 calls an hour) reads a province's Weibo posts in
    # steady state (see ``quotas``) but needs minutes for the catch-up pass all at once that
    # the bench times: the bench's sandbox gives its Weibo app more room, and so does this.
    bench.env["YUNCHU_INTAKE_RATE_WEIBO_APP"] = WEIBO_APP_RATE
    workers = bench._start_workers([sys.executable, "-m", "cli", "worker"])
    meter = CpuMeter(lambda: {"sandbox": bench.processes[0].pid,
                              **{f"worker{i}": p.pid for i, p in enumerate(workers)}})
    started = time.time()
    dispatches = [bench._api("POST", f"/api/v1/items/{item}/push", {"targets": {
        "orgs": ["yun"], "platforms": ARTICLE_PLATFORMS}})["dispatch_id"] for item in items]
    _wait_live(bench, dispatches, started, timeout)
    bench.log(f"[intake] three articles live on every account in {time.time() - started:.1f}s")

    cpu_at = meter.snapshot()
    alone_s, states = _withdraw(bench, items[1], timeout)
    result.withdraw_alone_s, result.withdraw_states["alone"] = alone_s, states
    result.withdraw_cpu_s["alone"] = meter.since(cpu_at, meter.snapshot())
    bench.log(f"[intake] withdrawal alone: {alone_s}s {states}")

    # A day of comments: the commenters' clock moves, not the sandbox's (tokens and the city
    # app's webhook tolerance run on that one).
    _sandbox_post(bench.sandbox_url, "/_sandbox/chatter",
                  {"comments_per_day": comments_per_day, "abusive_share": 0.1, "seed": 1,
                   "ahead_s": DAY_S})
    with bench.runtime.db.session() as session:  # only A's posts: B is gone, C goes next
        a_posts = dict(session.execute(select(Delivery.platform, func.count()).where(
            Delivery.item_id == items[0], Delivery.state == "published",
            Delivery.platform.in_(planner.polled_platforms())).group_by(
            Delivery.platform)).all())
    result.posts_polled = sum(a_posts.values())

    during = result.intake_during_withdrawal
    phase_start, cpu_at, calls_at = _phase_marks(bench, meter)
    report = planner.plan(bench.runtime, redis)
    during.planned, during.jobs = report.planned, report.jobs
    withdraw_cpu_at = meter.snapshot()
    with_s, states = _withdraw(bench, items[2], timeout)
    result.withdraw_with_intake_s, result.withdraw_states["with_intake"] = with_s, states
    result.withdraw_cpu_s["with_intake"] = meter.since(withdraw_cpu_at, meter.snapshot())
    bench.log(f"[intake] withdrawal with {report.jobs} intake jobs queued: {with_s}s {states}")
    _finish_phase(bench, during, phase_start, sum(report.planned.values()), cpu_at, calls_at,
                  meter, timeout)
    bench.log(f"[intake] intake beside the withdrawal: {during.wall_s}s, "
              f"{during.comments_taken} comments, calls {during.calls}")
    if alone_s and with_s:
        result.withdraw_ratio = round(with_s / alone_s, 3)

    _sandbox_post(bench.sandbox_url, "/_sandbox/chatter", {"ahead_s": 2 * DAY_S})
    alone = result.intake_alone
    with bench.runtime.db.session() as session:
        session.execute(CommentCursor.__table__.update().values(next_poll_at=func.now()))
    phase_start, cpu_at, calls_at = _phase_marks(bench, meter)
    report = planner.plan(bench.runtime, redis)
    alone.planned, alone.jobs = report.planned, report.jobs
    _finish_phase(bench, alone, phase_start, sum(report.planned.values()), cpu_at, calls_at,
                  meter, timeout)
    bench.log(f"[intake] intake alone: {alone.wall_s}s for {sum(alone.planned.values())} "
              f"posts, {alone.comments_taken} comments, calls {alone.calls}")
    with bench.runtime.db.session() as session:
        total, distinct = session.execute(select(
            func.count(), func.count(func.distinct(InteractionMessage.remote_id)))).one()
    result.duplicates_taken = total - distinct
    result.quotas = quotas(alone, a_posts, comments_per_day, bench.accounts)
    bench._stop(workers)
    return asdict(result)


def _article(bench: Bench, tag: str) -> str:
    from cli.demo_media import demo_cover_jpeg

    from .run import approve

    cover = bench._upload(demo_cover_jpeg(), "cover.jpg")
    item = bench._api("POST", "/api/v1/items", {
        "org": "yun", "kind": "article", "title": f"防汛工作部署（{tag}）",
        "body": "<p>各地要压实防汛责任，做好强降雨应对。</p>", "summary": "部署强降雨应对",
        "author": "王敏", "source": "云省日报", "cover": cover})["id"]
    approve(bench._api, item, bench.reviewers)
    return item


def _count(bench: Bench, *where: Any) -> int:
    assert bench.runtime is not None
    with bench.runtime.db.session() as session:
        return session.scalar(select(func.count()).where(*where))


def _wait_live(bench: Bench, dispatches: list[str], since: float, timeout: float) -> None:
    open_states = ("scheduled", "queued", "sending", "retry", "pending_review")
    while time.time() - since < timeout:
        if not _count(bench, Delivery.dispatch_id.in_(dispatches), Delivery.state.in_(
                open_states)):
            return
        time.sleep(WATCH_S)
    raise RuntimeError(f"the pushes did not finish in {timeout:.0f}s")


def _withdraw(bench: Bench, item: str, timeout: float) -> tuple[float | None, dict[str, int]]:
    from .run import WITHDRAW_OPEN_STATES

    clicked_at = time.time()
    withdrawal = bench._api("POST", f"/api/v1/items/{item}/withdraw",
                            {"reason": "基准测试撤稿"})["withdrawal_id"]
    click_s = time.time() - clicked_at
    seconds, counts = bench._wait(Delivery.withdrawal_id, [withdrawal], WITHDRAW_OPEN_STATES,
                                  Delivery.withdrawn_at, clicked_at, timeout)
    if seconds is not None:  # where the time went: the click, then 10/50/90/100 % done
        counts = {**counts, "timeline": {"clicks_s": round(click_s, 3), **bench._timeline(
            Delivery.withdrawal_id, [withdrawal], Delivery.withdrawn_at, clicked_at)}}
    return (round(seconds, 3) if seconds is not None else None), counts


def _phase_marks(bench: Bench, meter: CpuMeter) -> tuple[datetime, Any, dict[str, int]]:
    from .run import _sandbox_get

    stats = _sandbox_get(bench.sandbox_url, "/_sandbox/stats")
    return (datetime.now(UTC), meter.snapshot(),
            {p: v["requests"] for p, v in stats.items()})


def _finish_phase(bench: Bench, phase: IntakePhase, started: datetime, planned: int,
                  cpu_at: Any, calls_at: dict[str, int], meter: CpuMeter,
                  timeout: float) -> None:
    from hub.fanout.queueing import MAINTENANCE_QUEUE, queue
    from hub.services.interaction import planner

    from .run import _sandbox_get

    assert bench.runtime is not None
    clock = time.time()
    maintenance = queue(bench.runtime.redis, MAINTENANCE_QUEUE)
    while time.time() - clock < timeout:
        if _count(bench, CommentCursor.polled_at >= started) >= planned:
            break
        if maintenance.count == 0:
            # Posts an intake job gave back to a withdrawal are due again: the next plan (the
            # reconciler's, every YUNCHU_INTAKE_INTERVAL_S, in a deployment) takes them.
            phase.jobs += planner.plan(bench.runtime, bench.runtime.redis).jobs
        time.sleep(WATCH_S)
    assert bench.runtime is not None
    with bench.runtime.db.session() as session:
        last = session.scalar(select(func.max(CommentCursor.polled_at)))
        phase.comments_taken = session.scalar(select(func.count()).where(
            InteractionMessage.received_at >= started))
    phase.wall_s = round((last - started).total_seconds(), 3) if last else None
    phase.cpu_s = meter.since(cpu_at, meter.snapshot())
    stats = _sandbox_get(bench.sandbox_url, "/_sandbox/stats")
    phase.calls = {p: v["requests"] - calls_at.get(p, 0) for p, v in stats.items()
                   if v["requests"] - calls_at.get(p, 0)}


def quotas(alone: IntakePhase, posts_by_platform: dict[str, int], comments_per_day: float,
           accounts: int) -> dict[str, Any]:
    """Calls per post and day at the intake cadence, against each platform's limit."""
    from hub.infra.config import load_settings
    from hub.services.interaction.budget import intake_rates

    settings = load_settings()
    posts = sum(posts_by_platform.values())
    per_pass = {p: round(n / posts_by_platform[p], 2)
                for p, n in alone.calls.items() if posts_by_platform.get(p)}
    # A post with comments arriving is polled every poll_min_s at most; at most one poll per
    # new comment finds something, the others back off (doubling) towards poll_max_s.
    ceiling = DAY_S / settings.intake_poll_min_s
    expected = min(ceiling, 2 * comments_per_day + 8)
    per_day = {p: round(posts_by_platform[p] * per_pass[p] * expected)
               for p in per_pass}
    return {
        "posts": posts, "posts_by_platform": posts_by_platform,
        "calls_per_post_per_pass": per_pass, "calls_per_day_expected": per_day,
        "polls_per_post_per_day_ceiling": ceiling,
        "polls_per_post_per_day_expected": expected,
        "intake_budget_per_account_per_day": {
            p: round(intake_rates(p)[1].per_second * DAY_S) for p in per_pass},
        "platform_limits": {
            "weibo": "150 calls/h per user for everything (intake budget 60/h), "
                     "10,000-30,000/h per app (IP)",
            "wechat": "comment/list: no documented quota (sandbox 100,000/day per account)",
            "douyin": "content calls 100/s per account (sandbox); item.comment scope",
        },
        "note": f"{accounts} accounts; one post each polled: {expected:.0f} polls a day at "
                f"{comments_per_day:g} comments a day (ceiling {ceiling:.0f})",
    }


def run_intake_bench(*, accounts: int, latency_ms: float, workers: int, json_path,
                     timeout: float, comments_per_day: float, log=print) -> dict[str, Any]:
    from hub.infra.config import load_settings

    from .run import Bench, _report

    settings = load_settings()
    bench = Bench(settings, accounts=accounts, latency_ms=latency_ms, workers=workers, log=log)
    try:
        bench.setup()
        result = run_intake(bench, comments_per_day, timeout)
    finally:
        bench.close()
    return _report(bench, settings, {"intake": result,
                                     "withdraw_ratio": result["withdraw_ratio"]},
                   json_path, accounts=accounts, latency_ms=latency_ms, workers=workers,
                   kill_worker_at=None, withdraw_at=None)
