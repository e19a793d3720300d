"""Reply deadlines in Chinese working days: 法定节假日 off, 调休 weekend make-up days on,
counted from the day (Beijing time) a message arrives to the end of the N-th working day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hub.services.interaction.deadlines import due_at, is_working_day


def beijing(y: int, m: int, d: int) -> datetime:
    """10:00 Beijing time that day."""
    return datetime(y, m, d, 2, tzinfo=UTC)


def end_of(y: int, m: int, d: int) -> datetime:
    """24:00 Beijing time of that day, in UTC."""
    return datetime(y, m, d, 16, tzinfo=UTC)


def test_holidays_and_make_up_workdays():
    assert not is_working_day(date(2026, 10, 1))  # 国庆节
    assert not is_working_day(date(2026, 10, 5))  # a Monday inside the holiday
    assert is_working_day(date(2026, 10, 10))  # a Saturday worked as 调休
    assert not is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    assert is_working_day(date(2026, 12, 3))


def test_due_after_n_working_days():
    # Thursday 3 Dec 2026 + 3 working days: Fri 4, Mon 7, Tue 8 → end of Tuesday.
    assert due_at(beijing(2026, 12, 3), 3) == end_of(2026, 12, 8)
    # Late evening Beijing time is still that day (23:30 on Thursday = 15:30 UTC).
    assert due_at(datetime(2026, 12, 3, 15, 30, tzinfo=UTC), 1) == end_of(2026, 12, 4)
    # Just after midnight Beijing (Friday 00:30 = Thursday 16:30 UTC) counts from Friday.
    assert due_at(datetime(2026, 12, 3, 16, 30, tzinfo=UTC), 1) == end_of(2026, 12, 7)
    # Over 国庆 (1-7 Oct off): 30 Sep + 3 working days = 8, 9 and the 调休 Saturday 10 Oct.
    assert due_at(beijing(2026, 9, 30), 3) == end_of(2026, 10, 10)


def test_a_year_without_data_falls_back_to_weekdays():
    assert is_working_day(date(2027, 1, 4)) and not is_working_day(date(2027, 1, 9))
    assert due_at(beijing(2027, 1, 8), 1) == end_of(2027, 1, 11)
