"""Ranking periods: an ISO week (``2026-W48``) or a calendar month (``2026-11``), in China
days (Asia/Shanghai, the days the platforms report in)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ...errors import invalid
from ...messages import Message
from ...models.reach import month_start, next_month, previous_month
from .plan import china_day

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
KINDS = ("week", "month")


@dataclass(frozen=True)
class Period:
    kind: str  # "week" | "month"
    start: date
    end: date  # included

    @property
    def id(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start:%Y-%m}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        if self.kind == "week":
            return week_of(self.start - timedelta(days=7))
        return month_of(previous_month(self.start))

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "from": self.start.isoformat(),
                "to": self.end.isoformat()}


def week_of(day: date) -> Period:
    start = day - timedelta(days=day.isoweekday() - 1)
    return Period("week", start, start + timedelta(days=6))


def month_of(day: date) -> Period:
    start = month_start(day)
    return Period("month", start, next_month(start) - timedelta(days=1))


def parse(raw: str | None, now: datetime) -> Period:
    """``2026-W48``, ``2026-11``, ``week`` / ``month`` (the current one); default the
    current month. Anything else is a 422 on ``period``."""
    today = china_day(now)
    if not raw or raw == "month":
        return month_of(today)
    if raw == "week":
        return week_of(today)
    try:
        if match := _WEEK.match(raw):
            return week_of(date.fromisocalendar(int(match[1]), int(match[2]), 1))
        if match := _MONTH.match(raw):
            return month_of(date(int(match[1]), int(match[2]), 1))
    except ValueError:
        pass
    raise invalid("period", Message("rankings.period"))
