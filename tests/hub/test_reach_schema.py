"""The reach tables' monthly partition helpers (hub/models/reach.py)."""

from __future__ import annotations

from datetime import date

from hub.infra.migrate import include_name
from hub.models.reach import (
    is_partition,
    next_month,
    partition_ddl,
    partition_name,
    previous_month,
)


def test_months_step_over_year_ends():
    assert next_month(date(2026, 12, 31)) == date(2027, 1, 1)
    assert previous_month(date(2027, 1, 15)) == date(2026, 12, 1)
    assert previous_month(date(2026, 3, 1)) == date(2026, 2, 1)


def test_partition_names_and_ddl():
    assert partition_name(date(2026, 12, 1)) == "reach_post_days_p202612"
    assert is_partition("reach_post_days_p202612")
    assert not is_partition("reach_post_days")
    assert not is_partition("reach_post_days_p2026")
    assert partition_ddl(date(2026, 12, 9)).endswith(
        "reach_post_days_p202612 PARTITION OF reach_post_days "
        "FOR VALUES FROM ('2026-12-01') TO ('2027-01-01')")
    assert not include_name("reach_post_days_p202612", "table", {})
    assert include_name("reach_post_days", "table", {})
