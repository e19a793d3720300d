"""Reach clients belong to the executor that built them (hub/services/reach/runner.py): the
reach bench makes an executor per run, and the second, born at the first's address, was
handed the first's clients, whose HTTP session was closed ("Session is closed"). Comment
intake's budget (on the executor's Redis client) was kept the same way."""

from __future__ import annotations

from hub.services.reach.runner import clients


class _Executor:
    """What ``clients`` reads of an executor."""

    def __init__(self) -> None:
        self.redis = None
        self.http = object()
        self.adapters: dict = {}


def test_each_executor_gets_clients_on_its_own_session():
    addresses: list[int] = []
    for _ in range(50):
        executor = _Executor()
        built = clients(executor)
        assert built, "no platform has a reach client"
        assert all(client.session is executor.http for client in built.values())
        assert clients(executor) is built  # built once per executor
        addresses.append(id(executor))
        del built, executor  # freed: the next executor is likely born at its address
    reused = sum(a == b for a, b in zip(addresses, addresses[1:], strict=False))
    assert reused, "no executor was born at its predecessor's address: nothing was tested"


def test_each_executor_gets_an_intake_budget_on_its_own_redis_client():
    """The same for comment intake's budget (hub/services/interaction/poller.py)."""
    from hub.services.interaction.poller import limiter_of

    class _Redis:
        def register_script(self, script):
            return script

    addresses: list[int] = []
    for _ in range(50):
        executor = _Executor()
        executor.redis = _Redis()
        limiter = limiter_of(executor)
        assert limiter._redis is executor.redis and limiter_of(executor) is limiter
        addresses.append(id(executor))
        del limiter, executor
    reused = sum(a == b for a, b in zip(addresses, addresses[1:], strict=False))
    assert reused, "no executor was born at its predecessor's address: nothing was tested"
