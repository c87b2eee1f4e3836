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
