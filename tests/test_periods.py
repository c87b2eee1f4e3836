"""Time in one place: period arithmetic against pandas' own periods, labels, complete and partial periods."""

import datetime as dt

import pandas as pd
import pytest

from opsdash import periods

FREQ = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q"}
DAYS = [dt.date(2024, 2, 29), dt.date(2026, 1, 1), dt.date(2026, 11, 26), dt.date(2026, 12, 31), dt.date(2027, 3, 31),
        dt.date(2020, 12, 28)]


@pytest.mark.parametrize("grain", periods.GRAINS)
@pytest.mark.parametrize("day", DAYS)
def test_start_end_previous_equal_pandas_periods(grain: str, day: dt.date) -> None:
    p = pd.Period(day, FREQ[grain])
    start = periods.start_of(day, grain)
    assert start == p.start_time.date()
    assert periods.end(start, grain) == p.end_time.date()
    assert periods.previous(start, grain) == (p - 1).start_time.date()
    assert periods.parse(periods.code(start, grain))[1:] == (start, p.end_time.date())


def test_labels_for_people() -> None:
    assert periods.label(dt.date(2026, 11, 1), "month") == "Nov 2026"
    assert periods.label(dt.date(2026, 11, 3), "week") == "Week of 3 Nov 2026"
    assert periods.label(dt.date(2026, 10, 1), "quarter") == "Q4 2026"
    assert periods.label(dt.date(2026, 11, 3), "day") == "3 Nov 2026"
    assert periods.code(dt.date(2020, 12, 28), "week") == "2020-W53"
    assert periods.code(dt.date(2026, 10, 1), "quarter") == "2026-Q4"


def test_latest_complete_period() -> None:
    # Data to 26 Nov: November runs to date, October is the latest whole month.
    assert periods.latest_complete(dt.datetime(2026, 11, 26, 17, 5), "month") == dt.date(2026, 10, 1)
    assert periods.latest_complete(dt.date(2026, 11, 30), "month") == dt.date(2026, 11, 1)
    # Thursday 26 Nov 2026: the week of 23 Nov is partial, the week of 16 Nov complete.
    assert periods.latest_complete(dt.date(2026, 11, 26), "week") == dt.date(2026, 11, 16)
    assert periods.latest_complete(dt.date(2026, 11, 26), "quarter") == dt.date(2026, 7, 1)


def test_a_partial_period_is_compared_like_for_like() -> None:
    w = periods.window(dt.date(2026, 11, 1), "month", dt.datetime(2026, 11, 26, 9))
    assert (w.partial, w.days, w.through) == (True, 26, dt.date(2026, 11, 26))
    assert w.label == "Nov 2026 (to 26 Nov)"
    prev = periods.like_for_like(w)
    assert (prev.start, prev.through, prev.days) == (dt.date(2026, 10, 1), dt.date(2026, 10, 26), 26)
    # 31 days of March against the whole of February, never beyond it.
    march = periods.window(dt.date(2027, 3, 1), "month", dt.date(2027, 3, 30))
    assert periods.like_for_like(march).through == dt.date(2027, 2, 28)
    whole = periods.window(dt.date(2026, 10, 1), "month", dt.date(2026, 11, 26))
    assert not whole.partial and whole.label == "Oct 2026"
    assert periods.like_for_like(whole).through == dt.date(2026, 9, 30)


def test_bad_codes_are_refused_with_what_was_expected() -> None:
    for text in ("2026-13", "2026-W54", "Nov 2026", "2026-02-30"):
        with pytest.raises(periods.PeriodError):
            periods.parse(text)
    with pytest.raises(periods.PeriodError, match="is a week, not a month"):
        periods.parse("2026-W03", "month")


def test_a_code_reads_as_people_write_the_period() -> None:
    assert periods.label_of("2026-11") == "Nov 2026"
    assert periods.label_of("2026-W45") == "Week of 2 Nov 2026"  # ISO week 45 of 2026 starts on Monday 2 Nov
    assert periods.label_of("2026-Q4") == "Q4 2026" and periods.label_of("2026-11-03") == "3 Nov 2026"
    for code in ("2026-10", "2026-W41", "2026-Q3"):  # every code of every grain reads back as its label
        grain, start, _ = periods.parse(code)
        assert periods.label_of(code) == periods.label(start, grain) and periods.code(start, grain) == code


@pytest.mark.parametrize("grain", periods.GRAINS)
def test_each_grain_is_declared_once_for_sql_pandas_and_people(grain: str) -> None:
    g = periods.GRAIN[grain]
    start = periods.start_of(dt.date(2026, 11, 26), grain)
    # pandas: the declared offset steps to the next start, the declared frequency lists the starts.
    assert (pd.Timestamp(start) + g.offset).date() == periods.shift(start, grain)
    assert pd.date_range(start, periods.shift(start, grain, 3), freq=g.freq)[1].date() == periods.shift(start, grain)
    # SQL: date_trunc's unit and the interval of one period.
    assert g.unit == grain
    assert periods.sql_step(grain) == {"day": "INTERVAL 1 DAY", "week": "INTERVAL 7 DAY", "month": "INTERVAL 1 MONTH",
                                       "quarter": "INTERVAL 3 MONTH"}[grain]
    # Codes parse back to the grain; the example of its declaration is one.
    assert periods.parse(g.example)[0] == grain
    assert periods.parse(periods.code(start, grain)) == (grain, start, periods.end(start, grain))
    with pytest.raises(periods.PeriodError, match="unknown grain"):
        periods.grain_of("fortnight")
    # Tables write the label with the grain's moment.js format: the same words.
    import re

    tokens = {"YYYY": f"{start.year}", "MMM": f"{start:%b}", "D": f"{start.day}", "Q": f"{(start.month - 1) // 3 + 1}"}
    shown = re.sub(r"\[([^\]]*)\]|YYYY|MMM|D|Q", lambda m: m[1] if m[1] is not None else tokens[m[0]], g.moment)
    assert shown == periods.label(start, grain)


def test_covered_is_to_date_only_when_the_cut_falls_within() -> None:
    nov = dt.date(2026, 11, 1)
    assert periods.covered(nov, "month", dt.date(2026, 11, 26)).through == dt.date(2026, 11, 26)
    assert periods.covered(nov, "month", dt.datetime(2026, 12, 3, 8)).through == dt.date(2026, 11, 30)
    # Data that ends before the period starts (or no data): the period is whole, nothing to compare to date.
    assert not periods.covered(nov, "month", dt.date(2026, 10, 30)).partial
    assert periods.covered(nov, "month", None).through == dt.date(2026, 11, 30)


def test_latest_and_between_list_period_starts() -> None:
    assert periods.latest(dt.date(2026, 11, 26), "week", 3) == [dt.date(2026, 11, 23), dt.date(2026, 11, 16),
                                                                dt.date(2026, 11, 9)]
    assert periods.latest(dt.date(2026, 1, 15), "month", 2) == [dt.date(2026, 1, 1), dt.date(2025, 12, 1)]
    assert periods.between(dt.date(2025, 12, 20), dt.date(2026, 2, 3), "month") == [
        dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)]
    assert periods.between(dt.date(2026, 3, 1), dt.date(2026, 2, 1), "month") == []
    assert periods.between(dt.date(2026, 1, 1), dt.date(2026, 12, 31), "quarter") == [
        dt.date(2026, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 7, 1), dt.date(2026, 10, 1)]


def test_year_ago() -> None:
    assert periods.year_ago(dt.date(2026, 11, 1), "month") == dt.date(2025, 11, 1)
    assert periods.year_ago(dt.date(2024, 2, 29), "day") == dt.date(2023, 2, 28)
    assert periods.year_ago(dt.date(2026, 11, 23), "week") == dt.date(2025, 11, 24)  # ISO week 48 both years
    assert periods.year_ago(dt.date(2020, 12, 28), "week") is None  # 2019 has no week 53


def test_split_at_cut_complete_running_after() -> None:
    starts = pd.Series([dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)])
    s = periods.split_at_cut(starts, dt.date(2026, 11, 26), "month")
    assert s.complete.tolist() == [True, True, False, False]
    assert s.running.tolist() == [False, False, True, False]
    assert s.after.tolist() == [False, False, False, True]
    # A cut on a period's last day completes it; no cut-off or no grain: every period counts as complete.
    assert periods.split_at_cut(starts, dt.date(2026, 11, 30), "month").complete.tolist() == [True, True, True, False]
    assert periods.split_at_cut(starts, None, "month").complete.all()
    assert periods.split_at_cut(starts, dt.date(2026, 11, 26), None).complete.all()
