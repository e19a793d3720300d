"""Reach collection's schedule: the reconciler's sweep puts one plan on the maintenance queue
per interval, a worker drains it into collection jobs and runs them, and a job hands its
accounts back when a withdrawal is waiting. Real Redis, database, sandbox and worker."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from hub.fanout.executor import WITHDRAW_QUEUE_KEY, Executor
from hub.fanout.loop import LoopThread
from hub.fanout.queueing import MAINTENANCE_QUEUE, queue
from hub.models import AccountDay
from hub.services.reach import runner, schedule

from .support import ApiRig


def maintenance_jobs(rig: ApiRig) -> list[str]:
    return [job.func_name for job in queue(rig.hub.runtime.redis, MAINTENANCE_QUEUE).jobs]


@pytest.mark.parametrize("rig", ["postgres"], indirect=True)
def test_one_plan_per_interval_then_jobs_on_the_maintenance_queue(rig: ApiRig):
    accounts = [rig.account("c1-k1", p) for p in ("wechat", "weibo", "douyin")]
    rig.sweep()  # the test hub has collection off (reach_interval_s 0)
    assert schedule.PLAN_JOB not in maintenance_jobs(rig)
    runtime = rig.hub.runtime
    runtime.settings = dataclasses.replace(runtime.settings, reach_interval_s=3600)
    rig.sweep()
    assert maintenance_jobs(rig).count(schedule.PLAN_JOB) == 1
    rig.sweep()  # within the interval: no second plan
    assert maintenance_jobs(rig).count(schedule.PLAN_JOB) == 1
    rig.drain()  # the plan, then one collection job per platform
    assert maintenance_jobs(rig) == []  # (the refresher's job too)
    with rig.hub.runtime.db.session() as session:
        rows = dict(session.execute(select(AccountDay.account_id, func.count()).group_by(
            AccountDay.account_id)).all())
    assert set(rows) == set(accounts)  # every account was asked (followers at least)


@pytest.mark.parametrize("rig", ["postgres"], indirect=True)
def test_a_waiting_withdrawal_takes_the_worker_back(rig: ApiRig):
    account = rig.account("c1-k1", "weibo")
    redis = rig.hub.runtime.redis
    redis.rpush(WITHDRAW_QUEUE_KEY, "a-withdrawal-job")
    loop = LoopThread()
    executor = Executor(rig.hub.runtime, "reach-yield")
    loop.run(executor.start())
    try:
        report = loop.run(runner.run(executor, "weibo", [account]))
    finally:
        loop.run(executor.close())
        loop.stop()
        redis.delete(WITHDRAW_QUEUE_KEY)
    assert report.deferred == [account] and report.collected == 0 and not report.calls
    assert rig.sandbox.stats()["weibo"]["requests"] == 0


@pytest.mark.parametrize("rig", ["postgres"], indirect=True)
def test_a_platform_limit_leaves_the_account_for_the_next_collection(rig: ApiRig):
    account = rig.account("c1-k1", "weibo")
    rig.sandbox.config(faults={"rate_limit": 1.0})  # every call: 10023 out of rate limit
    loop = LoopThread()
    executor = Executor(rig.hub.runtime, "reach-limited")
    loop.run(executor.start())
    try:
        report = loop.run(runner.run(executor, "weibo", [account]))
    finally:
        loop.run(executor.close())
        loop.stop()
    assert report.errors == {"rate_limited": 1} and report.deferred == []
    assert report.collected == 0 and report.failed == 1
    assert rig.sandbox.stats()["weibo"]["requests"] == 1  # no retry storm


@pytest.mark.parametrize("rig", ["postgres"], indirect=True)
def test_a_withdrawal_running_elsewhere_pauses_collection(rig: ApiRig):
    """A withdrawal on another worker (its Redis mark, nothing on the queue): collection asks
    the platform nothing while the mark lives, and collects once it lapses."""
    import threading

    from hub.fanout import withdrawal_gate

    account = rig.account("c1-k1", "weibo")
    redis = rig.hub.runtime.redis
    withdrawal_gate.mark(redis)
    seen: list[int] = []
    lapse = threading.Event()

    def watch() -> None:
        for _ in range(8):
            seen.append(rig.sandbox.stats()["weibo"]["requests"])
            lapse.wait(0.1)
        redis.delete(withdrawal_gate.ACTIVE_KEY)

    loop = LoopThread()
    executor = Executor(rig.hub.runtime, "reach-paused")
    loop.run(executor.start())
    try:
        watcher = threading.Thread(target=watch)
        watcher.start()
        report = loop.run(runner.run(executor, "weibo", [account]), timeout=30)
        watcher.join()
    finally:
        redis.delete(withdrawal_gate.ACTIVE_KEY)
        loop.run(executor.close())
        loop.stop()
    assert seen and set(seen) == {0}, seen
    assert report.deferred == [] and report.collected == 1 and sum(report.calls.values()) > 0
    assert rig.sandbox.stats()["weibo"]["requests"] > 0
