"""`yunchu bench --kill-worker-at SHARE`: SIGKILL one worker once SHARE of a withdrawal's rows
are terminal (the one holding the most claims then: the worst case), and report what it cost: how many claims it held, how soon the reconciler took
them back, and (in ``bench.run``) the seconds it added against an undisturbed run."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from hub.infra.runtime import Runtime
from hub.models import Delivery, DeliveryAttempt

POLL_S = 0.2


def _pid_of(worker_name: str) -> int:
    return int(worker_name.split(":")[1])  # worker names are host:pid:random


class WorkerKiller(threading.Thread):
    """Watches a withdrawal's rows and, when ``share`` of them are terminal, kills the worker
    among ``workers`` that holds the most claims."""

    def __init__(self, runtime: Runtime, workers: list[subprocess.Popen], withdrawals: list[str],
                 open_states: tuple[str, ...], share: float, clicked_at: float,
                 log: Callable[[str], None]):
        super().__init__(name="bench-worker-killer", daemon=True)
        self.runtime, self.workers, self.withdrawals = runtime, workers, withdrawals
        self.worker: subprocess.Popen | None = None
        self.open_states, self.share, self.clicked_at, self.log = \
            open_states, share, clicked_at, log
        self.stopping = threading.Event()
        self.killed_at: float | None = None  # time.time()
        self.claims_held = 0

    def run(self) -> None:
        while not self.stopping.wait(POLL_S):
            with self.runtime.db.session() as session:
                counts = dict(session.execute(
                    select(Delivery.state, func.count())
                    .where(Delivery.withdrawal_id.in_(self.withdrawals))
                    .group_by(Delivery.state)).all())
                total = sum(counts.values())
                done = total - sum(counts.get(s, 0) for s in self.open_states)
                if not total or done < self.share * total:
                    continue
                held = dict(session.execute(
                    select(Delivery.lease_owner, func.count())
                    .where(Delivery.state.in_(("sending", "withdrawing")))
                    .group_by(Delivery.lease_owner)).all())
            by_pid = {_pid_of(owner): n for owner, n in held.items() if owner}
            worker = max(self.workers, key=lambda p: by_pid.get(p.pid, 0))
            worker.send_signal(signal.SIGKILL)
            self.killed_at = time.time()
            self.worker, self.claims_held = worker, by_pid.get(worker.pid, 0)
            worker.wait(timeout=10)
            self.log(f"killed worker pid {worker.pid} at {done}/{total} terminal, "
                     f"holding {self.claims_held} claims")
            return

    def report(self) -> dict[str, Any]:
        """What the kill did, once the phase is over."""
        if self.killed_at is None or self.worker is None:
            return {"share": self.share, "killed": False}
        with self.runtime.db.session() as session:
            redriven, last = session.execute(
                select(func.count(), func.max(DeliveryAttempt.at)).where(
                    DeliveryAttempt.outcome == "interrupted",
                    DeliveryAttempt.worker.like(f"%:{self.worker.pid}:%"))).one()
        return {"share": self.share, "killed": True,
                "killed_at_s": round(self.killed_at - self.clicked_at, 3),
                "claims_held": self.claims_held, "claims_redriven": redriven,
                # From the SIGKILL until the reconciler had taken the last claim back.
                "redriven_after_s": (round(last.timestamp() - self.killed_at, 3)
                                     if last is not None else None)}
