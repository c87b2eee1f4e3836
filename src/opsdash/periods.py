"""Time in one place: each grain declared once (GRAIN: its SQL unit and step, pandas offset and frequency, code,
label), period ends, previous periods, codes (2026-11, 2026-W45, 2026-Q4), labels for people, the latest complete
period, the split of a series at a data cut-off and like-for-like comparisons of a partial period, and the dates
opsdash reports on (READ_FROM..READ_TO). Pure functions, no I/O.

A period is *complete* when the data cut-off (`as_of`) falls on or after its last day; otherwise it runs
"to date" and is compared with the same number of days at the start of the previous period, never with the
whole of it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

#: The dates opsdash reports on. A stored date or time outside them (a typo such as 0026 or 20026, a
#: placeholder such as 9999-12-31 or 0001-01-01, a BC date) is no fact about a 21st-century vendor: a row holding
#: one in any of its date or time columns is left out of every figure, chart, filter bound and download (as if
#: it had been rejected; new loads reject such values), and the Loads page lists those rows by load and column.
#: The window also keeps every date within what pandas and Python can represent.
READ_FROM, READ_TO = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


class PeriodError(ValueError):
    """A period code that names no period."""


@dataclass(frozen=True)
class Grain:
    """One grain, declared once: how SQL, pandas and people step through its periods.

    `unit` is DuckDB's date_trunc unit, `step` the length of one period (pandas DateOffset keywords, also the
    SQL interval), `freq` the pandas frequency of period starts, `pattern` and `first_day` parse its code
    (2026-11, 2026-W45, 2026-Q4, 2026-11-03; `example` is one), `code_of`/`label_of` write a period's start for
    machines and for people (`moment`: the label as a table's date format), `start_of` finds the period of a
    day. Previous periods, ends and the partial-period test (is_complete) follow from these.
    """

    name: str
    unit: str
    step: tuple[tuple[str, int], ...]
    freq: str
    pattern: str
    first_day: Callable[[re.Match[str]], dt.date]
    code_of: Callable[[dt.date], str]
    label_of: Callable[[dt.date], str]
    start_of: Callable[[dt.date], dt.date]
    example: str
    moment: str  # the label as a moment.js date format, for tables that keep periods as sortable dates

    @property
    def offset(self) -> pd.DateOffset:
        """One period as a pandas offset."""
        return pd.DateOffset(**dict(self.step))

    @property
    def sql_step(self) -> str:
        """One period as a SQL interval (INTERVAL 7 DAY, INTERVAL 1 MONTH)."""
        (unit, n), = self.step
        return f"INTERVAL {n} {unit.rstrip('s').upper()}"


def _iso_week(m: re.Match[str]) -> dt.date:
    try:
        return dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError as exc:
        raise PeriodError(f"no ISO week {m[0]}") from exc


def _month(m: re.Match[str]) -> dt.date:
    if not 1 <= int(m[2]) <= 12:
        raise PeriodError(f"no month {m[0]}")
    return dt.date(int(m[1]), int(m[2]), 1)


def _day(m: re.Match[str]) -> dt.date:
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise PeriodError(f"no day {m[0]}") from exc


def _week_code(d: dt.date) -> str:
    iso = d.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _quarter(d: dt.date) -> int:
    return (d.month - 1) // 3 + 1


#: Every grain, finest first. Weeks are ISO weeks (Monday to Sunday), quarters calendar quarters.
GRAIN: dict[str, Grain] = {g.name: g for g in (
    Grain("day", "day", (("days", 1),), "D", r"(\d{4})-(\d{2})-(\d{2})", _day,
          lambda d: f"{d:%Y-%m-%d}", lambda d: f"{d.day} {d:%b %Y}", lambda d: d, "2026-10-05", "D MMM YYYY"),
    Grain("week", "week", (("days", 7),), "W-MON", r"(\d{4})-W(\d{1,2})", _iso_week,
          _week_code, lambda d: f"Week of {d.day} {d:%b %Y}", lambda d: d - dt.timedelta(days=d.weekday()),
          "2026-W43", "[Week of] D MMM YYYY"),
    Grain("month", "month", (("months", 1),), "MS", r"(\d{4})-(\d{1,2})", _month,
          lambda d: f"{d:%Y-%m}", lambda d: f"{d:%b %Y}", lambda d: d.replace(day=1), "2026-10", "MMM YYYY"),
    Grain("quarter", "quarter", (("months", 3),), "QS", r"(\d{4})-Q([1-4])",
          lambda m: dt.date(int(m[1]), 3 * int(m[2]) - 2, 1),
          lambda d: f"{d.year}-Q{_quarter(d)}", lambda d: f"Q{_quarter(d)} {d.year}",
          lambda d: dt.date(d.year, 3 * (_quarter(d) - 1) + 1, 1), "2026-Q3", "[Q]Q YYYY"),
)}
GRAINS = tuple(GRAIN)


def grain_of(name: str) -> Grain:
    """The declaration of a grain, or an error listing the grains."""
    try:
        return GRAIN[name]
    except KeyError:
        raise PeriodError(f"unknown grain {name!r}; expected one of {', '.join(GRAINS)}") from None


def _date(d: dt.date | dt.datetime | pd.Timestamp) -> dt.date:
    if isinstance(d, pd.Timestamp):
        return d.date()
    return d.date() if isinstance(d, dt.datetime) else d


def start_of(d: dt.date | dt.datetime | pd.Timestamp, grain: str) -> dt.date:
    """The first day of the period of `grain` holding `d` (weeks start on ISO Mondays)."""
    return grain_of(grain).start_of(_date(d))


def sql_step(grain: str) -> str:
    """One period of `grain` as a SQL interval."""
    return grain_of(grain).sql_step


def sql_unit(grain: str) -> str:
    """The date_trunc unit of `grain`."""
    return grain_of(grain).unit


def shift(start: dt.date, grain: str, n: int = 1) -> dt.date:
    """The start of the period `n` periods after (negative: before) the one starting on `start`."""
    offset = {k: v * n for k, v in grain_of(grain).step}
    return (pd.Timestamp(start) + pd.DateOffset(**offset)).date()


def end(start: dt.date, grain: str) -> dt.date:
    """The last day of the period of `grain` starting on `start`."""
    return shift(start, grain) - dt.timedelta(days=1)


def previous(start: dt.date, grain: str) -> dt.date:
    return shift(start, grain, -1)


def code(start: dt.date, grain: str) -> str:
    """The period's machine name: 2026-11-03 (day), 2026-W45 (ISO week), 2026-11 (month), 2026-Q4 (quarter)."""
    return grain_of(grain).code_of(_date(start))


def parse(text: str, grain: str | None = None) -> tuple[str, dt.date, dt.date]:
    """'2026-10' (month), '2026-W43' (ISO week), '2026-Q3' (quarter) or '2026-10-05' (day) ->
    (grain, first day, last day)."""
    text = text.strip()
    for g in (GRAIN["week"], GRAIN["quarter"], GRAIN["month"], GRAIN["day"]):
        if m := re.fullmatch(g.pattern, text):
            start, found = g.first_day(m), g.name
            break
    else:
        raise PeriodError(f"period {text!r} not understood; expected a month (2026-10), an ISO week (2026-W43) "
                          "or a quarter (2026-Q3)")
    if grain is not None and grain != found:
        raise PeriodError(f"period {text} is a {found}, not a {grain}")
    return found, start, end(start, found)


def label(start: dt.date | dt.datetime | pd.Timestamp, grain: str) -> str:
    """The period as people write it: 3 Nov 2026, Week of 3 Nov 2026, Nov 2026, Q4 2026."""
    return grain_of(grain).label_of(_date(start))


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


def covered(start: dt.date, grain: str, cut: dt.date | dt.datetime | pd.Timestamp | None) -> Window:
    """The period starting on `start` as data cut off at `cut` covers it: to date when the cut falls within it,
    whole when it falls after it, or before it starts, or there is no data (then nothing is compared like for
    like)."""
    last = end(start, grain)
    return window(start, grain, _date(cut) if cut is not None and _date(cut) >= start else last)


def latest(day: dt.date | dt.datetime | pd.Timestamp, grain: str, n: int) -> list[dt.date]:
    """The starts of the `n` periods of `grain` up to the one holding `day`, latest first."""
    first = start_of(day, grain)
    return [shift(first, grain, -i) for i in range(n)]


def between(start: dt.date, stop: dt.date, grain: str) -> list[dt.date]:
    """The starts of the periods of `grain` from the one holding `start` to the one holding `stop`, in order."""
    return [d.date() for d in pd.date_range(start_of(start, grain), start_of(stop, grain), freq=grain_of(grain).freq)]


def year_ago(start: dt.date, grain: str) -> dt.date | None:
    """The start of the same period a year earlier (ISO week number for weeks; None when it has no twin)."""
    if grain == "week":
        year, week, _ = start.isocalendar()
        try:
            return dt.date.fromisocalendar(year - 1, week, 1)
        except ValueError:  # week 53 in a 52-week year
            return None
    if start.month == 2 and start.day == 29:
        return start.replace(year=start.year - 1, day=28)
    return start.replace(year=start.year - 1)


@dataclass(frozen=True)
class Split:
    """Periods of a series against a data cut-off: `complete` (the cut falls on or after their last day),
    `running` (the cut falls within them: drawn "to date", kept out of SPC limits) and `after` (they start after
    the cut: no data can be in them yet). Boolean masks aligned with the series."""

    complete: pd.Series
    running: pd.Series
    after: pd.Series


def split_at_cut(starts: pd.Series, cut: dt.date | dt.datetime | pd.Timestamp | None, grain: str | None) -> Split:
    """Split period starts at a cut-off; without a cut-off (or a grain) every period counts as complete."""
    none = pd.Series(False, index=starts.index)
    if cut is None or grain is None or not len(starts):
        return Split(pd.Series(True, index=starts.index), none, none)
    after = starts > start_of(cut, grain)
    running = (starts > latest_complete(cut, grain)) & ~after
    return Split(~running & ~after, running, after)
