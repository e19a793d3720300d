"""Times as editors read them: Beijing time (UTC+8, no daylight saving), minutes precision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

BEIJING = timezone(timedelta(hours=8), "CST")


def parse(value: Any) -> datetime | None:
    """A datetime (naive ones are UTC, as the database stores them) or an RFC 3339 string."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def local_time(value: Any, seconds: bool = False) -> str:
    moment = parse(value)
    if moment is None:
        return "—" if value in (None, "") else str(value)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if seconds else
                                               "%Y-%m-%d %H:%M")
