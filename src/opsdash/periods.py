"""Time in one place: period ends, previous periods, codes (2026-11, 2026-W45, 2026-Q4), labels for people,
the latest complete period and like-for-like comparisons of a partial period. Pure functions, no I/O.

A period is *complete* when the data cut-off (`as_of`) falls on or after its last day; otherwise it runs
"to date" and is compared with the same number of days at the start of the previous period, never with the
whole of it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

GRAINS = ("day", "week", "month", "quarter")
_STEP = {"day": {"days": 1}, "week": {"days": 7}, "month": {"months": 1}, "quarter": {"months": 3}}


class PeriodError(ValueError):
    """A period code that names no period."""


def _date(d: dt.date | dt.datetime | pd.Timestamp) -> dt.date:
    if isinstance(d, pd.Timestamp):
        return d.date()
    return d.date() if isinstance(d, dt.datetime) else d


def start_of(d: dt.date | dt.datetime | pd.Timestamp, grain: str) -> dt.date:
    """The first day of the period of `grain` holding `d` (weeks start on ISO Mondays)."""
    d = _date(d)
    if grain == "day":
        return d
    if grain == "week":
        return d - dt.timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    if grain == "quarter":
        return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    raise PeriodError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def shift(start: dt.date, grain: str, n: int = 1) -> dt.date:
    """The start of the period `n` periods after (negative: before) the one starting on `start`."""
    offset = {k: v * n for k, v in _STEP[grain].items()}
    return (pd.Timestamp(start) + pd.DateOffset(**offset)).date()


def end(start: dt.date, grain: str) -> dt.date:
    """The last day of the period of `grain` starting on `start`."""
    return shift(start, grain) - dt.timedelta(days=1)


def previous(start: dt.date, grain: str) -> dt.date:
    return shift(start, grain, -1)


def code(start: dt.date, grain: str) -> str:
    """The period's machine name: 2026-11-03 (day), 2026-W45 (ISO week), 2026-11 (month), 2026-Q4 (quarter)."""
    if grain == "day":
        return f"{start:%Y-%m-%d}"
    if grain == "week":
        iso = start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if grain == "month":
        return f"{start:%Y-%m}"
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def parse(text: str, grain: str | None = None) -> tuple[str, dt.date, dt.date]:
    """'2026-10' (month), '2026-W43' (ISO week), '2026-Q3' (quarter) or '2026-10-05' (day) ->
    (grain, first day, last day)."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})-W(\d{1,2})", text):
        try:
            start = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError as exc:
            raise PeriodError(f"no ISO week {text}") from exc
        found = "week"
    elif m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        start, found = dt.date(int(m[1]), 3 * int(m[2]) - 2, 1), "quarter"
    elif m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        if not 1 <= int(m[2]) <= 12:
            raise PeriodError(f"no month {text}")
        start, found = dt.date(int(m[1]), int(m[2]), 1), "month"
    elif m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        try:
            start = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            raise PeriodError(f"no day {text}") from exc
        found = "day"
    else:
        raise PeriodError(f"period {text!r} not understood; expected a month (2026-10), an ISO week (2026-W43) "
                          "or a quarter (2026-Q3)")
    if grain is not None and grain != found:
        raise PeriodError(f"period {text} is a {found}, not a {grain}")
    return found, start, end(start, found)


def label(start: dt.date | dt.datetime | pd.Timestamp, grain: str) -> str:
    """The period as people write it: 3 Nov 2026, Week of 3 Nov 2026, Nov 2026, Q4 2026."""
    start = _date(start)
    if grain == "day":
        return f"{start.day} {start:%b %Y}"
    if grain == "week":
        return f"Week of {start.day} {start:%b %Y}"
    if grain == "month":
        return f"{start:%b %Y}"
    if grain == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    raise PeriodError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def end_of_day(d: dt.date) -> dt.datetime:
    """The last instant of a day: the cut-off at which a window ending that day is measured (an item still open
    at it counts as open, one closed the day after does not count as closed)."""
    return dt.datetime.combine(_date(d), dt.time.max)


def label_of(code_text: str) -> str:
    """A period's code as people write it: 2026-11 -> Nov 2026, 2026-W45 -> Week of 2 Nov 2026, 2026-Q4 -> Q4 2026."""
    grain, start, _ = parse(code_text)
    return label(start, grain)


def is_complete(start: dt.date, grain: str, as_of: dt.date | dt.datetime | pd.Timestamp) -> bool:
    """True when the data cut-off falls on or after the period's last day."""
    return _date(as_of) >= end(start, grain)


def latest_complete(as_of: dt.date | dt.datetime | pd.Timestamp, grain: str) -> dt.date:
    """The start of the latest period of `grain` that the data covers whole."""
    current = start_of(as_of, grain)
    return current if is_complete(current, grain, as_of) else previous(current, grain)


@dataclass(frozen=True)
class Window:
    """A period as reported: its dates, and for a partial period the days it covers so far."""

    grain: str
    start: dt.date
    end: dt.date            # the period's last day
    through: dt.date        # the last day with data counted (== end for a complete period)

    @property
    def partial(self) -> bool:
        return self.through < self.end

    @property
    def days(self) -> int:
        return (self.through - self.start).days + 1

    @property
    def label(self) -> str:
        """Nov 2026, Nov 2026 (to 26 Nov) for a period that runs to date, Nov 2026 (no data yet) for one that
        starts after the data cut-off."""
        text = label(self.start, self.grain)
        if self.through < self.start:
            return f"{text} (no data yet)"
        return f"{text} (to {self.through.day} {self.through:%b})" if self.partial else text


def window(start: dt.date, grain: str, as_of: dt.date | dt.datetime | pd.Timestamp) -> Window:
    """The period starting on `start`, cut at the data cut-off when it runs to date; a period starting after the
    cut-off covers no day (its `through` is the day before its start)."""
    last = end(start, grain)
    cut = _date(as_of)
    return Window(grain, start, last, min(last, cut) if cut >= start else start - dt.timedelta(days=1))


def like_for_like(w: Window) -> Window:
    """The previous period to compare `w` with: whole when `w` is complete; otherwise its first `w.days` days
    (clipped to its own length: 31 days of March against all 28 of February)."""
    prev = previous(w.start, w.grain)
    last = end(prev, w.grain)
    if not w.partial:
        return Window(w.grain, prev, last, last)
    return Window(w.grain, prev, last, min(last, prev + dt.timedelta(days=w.days - 1)))


def span(w: Window) -> str:
    """The days a window covers, as people write them: 1–26 Nov, 27 Oct–2 Nov, 3 Nov (a single day)."""
    if w.start == w.through:
        return f"{w.start.day} {w.start:%b}"
    if (w.start.year, w.start.month) == (w.through.year, w.through.month):
        return f"{w.start.day}–{w.through.day} {w.through:%b}"
    return f"{w.start.day} {w.start:%b}–{w.through.day} {w.through:%b}"
