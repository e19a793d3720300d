"""The reach clients' reading of answers: WeChat's running totals differenced into per-day
gains (a delayed last day provisional), the user spans, and markers of yunchu's own posts."""

from __future__ import annotations

from datetime import date

from adapters.reach import Figures, marker_in
from adapters.wechat_reach import article_days, spans, user_days


def test_running_totals_become_daily_gains_and_a_delayed_day_is_provisional():
    body = {"is_delay": True, "list": [
        {"url": "u1", "detail_list": [
            {"stat_date": "2026-12-02", "read_user": 30, "share_user": 2, "zaikan_user": 1,
             "like_user": 1, "comment_count": 0},
            {"stat_date": "2026-12-01", "read_user": 10, "share_user": 1, "zaikan_user": 0,
             "like_user": 1, "comment_count": 0}]},
        {"url": "not-ours", "detail_list": [{"stat_date": "2026-12-01", "read_user": 5}]}]}
    found = article_days(body, {"u1": "article:a1"})
    assert [(d.day, d.figures, d.final) for d in found] == [
        (date(2026, 12, 1), Figures(reads=10, likes=1, shares=1), True),
        (date(2026, 12, 2), Figures(reads=20, likes=1, shares=1), False)]


def test_spans_split_runs_at_gaps_and_at_the_longest_span():
    days = [date(2026, 12, d) for d in (1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13)]
    assert spans(days, 7) == [(date(2026, 12, 1), date(2026, 12, 3)),
                              (date(2026, 12, 5), date(2026, 12, 11)),
                              (date(2026, 12, 12), date(2026, 12, 13))]


def test_user_days_sum_the_sources_of_a_day():
    summary = {"list": [{"ref_date": "2026-12-01", "user_source": 0, "new_user": 3,
                         "cancel_user": 1},
                        {"ref_date": "2026-12-01", "user_source": 17, "new_user": 2,
                         "cancel_user": 0}]}
    cumulate = {"list": [{"ref_date": "2026-12-01", "cumulate_user": 900}]}
    [day] = user_days(summary, cumulate)
    assert (day.followers, day.followers_gained, day.followers_lost) == (900, 5, 1)


def test_markers_are_found_in_links_and_text():
    assert marker_in("会议部署 https://hub.example/p/it_1?d=dlv_01abc") == "dlv_01abc"
    assert marker_in("抖音视频 d=dlv_9") == "dlv_9"
    assert marker_in("no marker here, odd=1") is None
