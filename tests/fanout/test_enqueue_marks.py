"""The reconciler marks a row it enqueued so that sweeps do not pile up jobs for it; claiming
the row spends the mark. Left until it ran out (a minute), a retry that fell due meanwhile
waited it out: in the cluster rig a withdrawal after a Redis restart took 64 s instead of 4."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from hub.fanout.queueing import MARK_PREFIX
from hub.models import Delivery


def test_claiming_a_row_spends_its_enqueue_mark(rig):
    for _ in range(3):
        rig.account("c1-k1")
    item = rig.item("c1")
    rig.pushed(item, {"orgs": ["c1-k1"]})
    connection = rig.hub.runtime.redis
    with rig.hub.runtime.db.session() as session:
        ids = list(session.execute(select(Delivery.id).where(Delivery.item_id == item)).scalars())
    assert len(ids) == 3
    for delivery_id in ids:  # as if a sweep had just enqueued them
        connection.set(MARK_PREFIX + delivery_id, 1, ex=3600)  # outlives a slow drain
    # A row no worker claimed keeps its mark (a name of its own: tests share Redis).
    other = MARK_PREFIX + "dl_other_" + secrets.token_hex(6)
    connection.set(other, 1, ex=3600)
    rig.drain()
    assert [connection.exists(MARK_PREFIX + d) for d in ids] == [0, 0, 0]
    assert connection.exists(other) == 1
    connection.delete(other)
