"""The number a caller confirmed: a push or a withdrawal given ``expected_total`` goes ahead
only if it covers exactly that many deliveries, so a confirmation shown a minute ago cannot
authorise a push whose reach has grown since. Optional: without it nothing changes."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, invalid

FIELD = "expected_total"


def expected_total(body: dict[str, Any]) -> int | None:
    value = body.get(FIELD)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid(FIELD, "expected_total 须为非负整数 (expected_total must be a "
                             "non-negative integer)")
    return value


def check(expected: int | None, total: int) -> None:
    """409 ``expected_total_mismatch`` (the transaction is rolled back) when the caller
    confirmed another number than the one this push or withdrawal covers."""
    if expected is None or expected == total:
        return
    raise ApiError(409, f"涉及数量已变化：确认的是{expected}，现在是{total}，请重新确认 "
                        f"(the number changed since it was confirmed: {expected} confirmed, "
                        f"{total} now; confirm again)",
                   code="expected_total_mismatch",
                   details={"expected_total": expected, "total": total})
