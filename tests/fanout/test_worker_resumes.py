"""RQ quits its loop on any Redis error (a timeout; a server still loading its append-only
file after a restart): the cluster rig saw a worker exit that way on a Redis restart. The
worker process starts the loop again, and stops only when asked to."""

from __future__ import annotations

import pytest

from hub import worker as worker_module


class _Loop:
    runs: list[str] = []

    def __init__(self, queues, *, connection, serializer, name):
        self.name = name
        self._stop_requested = False
        self._shutdown_requested_date = None

    def work(self, **_: object) -> bool:
        _Loop.runs.append(self.name)
        if len(_Loop.runs) == 2:
            import redis

            raise redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory")
        # the third loop is stopped by a signal: RQ flags a busy worker, and only dates the
        # request of an idle one (which leaves its loop by StopRequested)
        if len(_Loop.runs) >= 3:
            self._shutdown_requested_date = "now"
        return True


@pytest.fixture
def fake_rq(monkeypatch: pytest.MonkeyPatch) -> type[_Loop]:
    _Loop.runs = []
    monkeypatch.setattr(worker_module, "FanoutWorker", _Loop)
    monkeypatch.setattr(worker_module, "queue", lambda connection, name: name)
    monkeypatch.setattr(worker_module, "RESUME_AFTER_S", 0.0)
    return _Loop


def test_the_rq_loop_is_resumed_until_a_stop_is_requested(fake_rq) -> None:
    worker_module._work(connection=None, owner="vm:1:abc", burst=False)
    assert fake_rq.runs == ["vm:1:abc", "vm:1:abc.1", "vm:1:abc.2"]


def test_a_burst_worker_is_not_resumed(fake_rq) -> None:
    worker_module._work(connection=None, owner="vm:1:abc", burst=True)
    assert fake_rq.runs == ["vm:1:abc"]


def test_rqs_reconnect_backoff_is_capped_at_two_seconds() -> None:
    from rq import SimpleWorker

    assert SimpleWorker.max_connection_wait_time > 2.0  # RQ's own: up to a minute idle
    assert worker_module.FanoutWorker.max_connection_wait_time == 2.0
