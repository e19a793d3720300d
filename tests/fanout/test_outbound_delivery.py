"""A delivery to an account aimed at an internal address fails before anything is sent.

Accounts stored before the outbound policy existed (or written straight into the database)
can still point at loopback or a metadata address; the worker's connector is what stands
between them and the account's credentials. A real listener on 127.0.0.1 counts connections:
zero while it is not named in YUNCHU_OUTBOUND_ALLOW, and it is reached once it is, so the
zero is the policy's doing.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from sqlalchemy import update

from hub.models import Account

BANNER = b"-ERR wrong number of arguments (internal-redis-7.2)\r\n"


class CountingListener:
    """A TCP server on a free loopback port that counts connections and answers a banner."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> CountingListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(1)
                try:
                    self.received += conn.recv(65536)
                    conn.sendall(BANNER)
                except OSError:
                    pass


def _aim(rig, accounts: list[str], api_base: str) -> None:
    with rig.hub.runtime.db.session() as session:
        session.execute(update(Account).where(Account.id.in_(accounts)).values(api_base=api_base))


def _deliveries(rig, answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    path = f"/api/v1/dispatches/{answer['dispatch_id']}/deliveries"
    return {d["account"]: d for d in rig.deliveries(path)}


def test_accounts_aimed_at_internal_addresses_send_nothing_until_allowed(rig):
    with CountingListener() as listener:
        good = rig.account("c1-k1")
        aimed = [rig.account("c1-k1", "wechat"), rig.account("c1-k1", "weibo")]
        metadata = rig.account("c1-k1", "weibo")
        _aim(rig, aimed, f"http://127.0.0.1:{listener.port}/api")
        _aim(rig, [metadata], "http://169.254.169.254/latest")

        answer = rig.pushed(rig.item("c1"), {"accounts": [good, *aimed, metadata]})
        rig.drain()
        deliveries = _deliveries(rig, answer)
        assert deliveries[good]["state"] in ("published", "pending_review"), deliveries[good]
        for account in (*aimed, metadata):
            delivery = deliveries[account]
            assert delivery["state"] == "failed", delivery
            assert "出站策略" in delivery["error"] and "YUNCHU_OUTBOUND_ALLOW" in delivery["error"]
            assert "internal-redis" not in delivery["error"] and "ERR" not in delivery["error"]
        assert listener.connections == 0 and listener.received == b""

        # Named in the allow list, the same listener is reached: the zero above was the policy.
        settings = rig.hub.runtime.settings
        rig.hub.runtime.settings = settings.with_overrides(
            outbound_allow=f"{settings.outbound_allow},127.0.0.1:{listener.port}")
        try:
            rig.pushed(rig.item("c1"), {"accounts": [aimed[0]]})
            rig.drain()
        finally:
            rig.hub.runtime.settings = settings
        assert listener.connections >= 1
