"""Named queries: every SQL statement opsdash runs besides the KPI compiler (metrics, rollups) and ingest's
staging. Pages, ``ui/``, views, the CLI, sla and the review pack call these functions and never write SQL.

Values are bound parameters; identifiers come only from declarations (the contract, the catalogue), checked
here against them. Conditions are built by one ``Where`` (after datasette's ``Filters``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from opsdash import catalog, contract
from opsdash.store import QueryError, Store
from opsdash.store import quote_ident as qi
from opsdash.store import quote_literal as ql

#: A ``fetchall(sql, params)``: a store's, or a transaction's inside a load.
Fetch = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


class Where:
    """A WHERE clause: conditions from declarations joined by AND, each value bound as ``$<prefix><n>``.

    >>> w = Where("f").values_in("vendor", ["Acme"]).on_or_after("received_date", dt.date(2026, 1, 1))
    >>> w.sql
    '(list_contains($f0, CAST("vendor" AS VARCHAR))) AND (CAST("received_date" AS DATE) >= $f1)'
    """

    def __init__(self, prefix: str = "p") -> None:
        self.prefix = prefix
        self.conditions: list[str] = []
        self.params: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        """A parameter holding `value`, as SQL."""
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def rows(self, condition: str) -> Where:
        """A condition written in a declaration (the catalogue's, the contract's): never user text."""
        self.conditions.append(condition)
        return self

    def values_in(self, column: str, values: Iterable[Any]) -> Where:
        """The column's value, as text, is one of `values`."""
        return self.rows(f"list_contains({self.bind([str(v) for v in values])}, CAST({qi(column)} AS VARCHAR))")

    def equals(self, column: str, value: Any) -> Where:
        return self.rows(f"{qi(column)} = {self.bind(value)}")

    def on_or_after(self, column: str, day: dt.date | None) -> Where:
        return self if day is None else self.rows(f"CAST({qi(column)} AS DATE) >= {self.bind(day)}")

    def on_or_before(self, column: str, day: dt.date | None) -> Where:
        return self if day is None else self.rows(f"CAST({qi(column)} AS DATE) <= {self.bind(day)}")

    def dimensions(self, where: Mapping[str, Sequence[Any]]) -> Where:
        """Each column of `where` restricted to its values (the columns are the catalogue's dimensions)."""
        for column, values in where.items():
            self.values_in(column, values)
        return self

    @property
    def sql(self) -> str:
        return " AND ".join(f"({c})" for c in self.conditions) or "true"


def _time_column(table: str, column: str) -> str:
    if column not in catalog.TIME_COLUMNS.get(table, {}):
        raise ValueError(f"{column!r} is not a date or time column of {table}")
    return column


def reported_rows(table: str, where: Mapping[str, Sequence[Any]], time_column: str,
                  start: dt.date | None, end: dt.date | None, prefix: str = "f") -> Where:
    """The rows a page reports on: inside the reported dates, the filters' dimensions, and `time_column` (a date
    or time column of the table) within [start, end]."""
    unknown = [c for c in where if c not in catalog.DIMENSIONS.get(table, contract.TABLES[table].column_names)]
    if unknown:
        raise ValueError(f"{', '.join(unknown)} is not a column {table} can be filtered by")
    column = _time_column(table, time_column)
    return (Where(prefix).rows(catalog.in_window(table)).dimensions(where)
            .on_or_after(column, start).on_or_before(column, end))


# -- vendors and their contracts ---------------------------------------------------------------------------

def vendors(store: Store) -> list[str]:
    """Every vendor with rows in a data table or a contract level of its own, sorted."""
    parts = [f"SELECT vendor FROM {qi(t)}" for t in catalog.DIMENSIONS]
    rows = store.fetchall(f"SELECT DISTINCT vendor FROM ({' UNION '.join(parts)} "
                          "UNION SELECT vendor FROM sla_targets WHERE vendor <> '*') ORDER BY 1")
    return [r[0] for r in rows]


def targets(store: Store, vendor: str) -> pd.DataFrame:
    """The contract levels that apply to a vendor (its own and those for every vendor, '*')."""
    return store.query("SELECT vendor, kpi, process, priority, target, minimum, level, credit_pct, effective_from, "
                       "effective_to FROM sla_targets WHERE (vendor = ? OR vendor = '*') "
                       f"AND {catalog.in_window('sla_targets')}", [vendor])


def reported(store: Store, vendor: str | None = None) -> pd.DataFrame:
    """The KPIs vendors reported themselves (of one vendor when named), by vendor, KPI, process and period."""
    w = Where().rows(catalog.in_window("reported_kpis"))
    if vendor:
        w.equals("vendor", vendor)
    return store.query("SELECT vendor, kpi, process, period_start, period_end, value AS reported FROM reported_kpis "
                       f"WHERE {w.sql} ORDER BY vendor, kpi, process, period_start", w.params)


def has_rows(store: Store, table: str, vendor: str, start: dt.date | None = None, end: dt.date | None = None) -> bool:
    """Whether the table holds a reported row of the vendor; with dates, one with an event in [start, end]."""
    w = Where().rows(catalog.in_window(table)).equals("vendor", vendor)
    if start is not None and end is not None:
        lo, hi = w.bind(start), w.bind(end)
        w.rows(" OR ".join(f"CAST({qi(c)} AS DATE) BETWEEN {lo} AND {hi}" for c in catalog.EVENT_TIMES[table]))
    row = store.fetchone(f"SELECT count(*) > 0 FROM (SELECT 1 FROM {qi(table)} WHERE {w.sql} LIMIT 1)", w.params)
    return bool(row and row[0])


BREACH_COLUMNS = ["item_id", "process", "priority", "due_at", "completed_at", "still_open", "hours_late"]


def _breached(vendor: str, start: dt.date, end: dt.date, as_of: dt.datetime) -> Where:
    """Work items of the vendor due in [start, end], completed after their due time or still open past it."""
    w = Where().equals("vendor", vendor).rows(catalog.in_window("work_items"))
    w.rows(f"CAST(due_at AS DATE) BETWEEN {w.bind(start)} AND {w.bind(end)}")
    return w.rows(f"completed_at > due_at OR (completed_at IS NULL AND due_at <= {w.bind(as_of)})")


def breaches(store: Store, vendor: str, start: dt.date, end: dt.date, as_of: dt.datetime,
             limit: int | None = None) -> pd.DataFrame:
    """The breached items (see sla.breaches), latest due first, an open one's hours late run to `as_of`."""
    w = _breached(vendor, start, end, as_of)
    cut = w.bind(as_of)
    bound = f" LIMIT {w.bind(int(limit))}" if limit is not None else ""
    return store.query("SELECT item_id, process, priority, due_at, completed_at, completed_at IS NULL AS still_open, "
                       f"round(epoch(coalesce(completed_at, {cut}) - due_at) / 3600.0, 1) AS hours_late "
                       f"FROM work_items WHERE {w.sql} ORDER BY due_at DESC, item_id{bound}", w.params)


def breach_count(store: Store, vendor: str, start: dt.date, end: dt.date, as_of: dt.datetime) -> tuple[int, int]:
    """(breached items, of which still open)."""
    w = _breached(vendor, start, end, as_of)
    row = store.fetchone(f"SELECT count(*), count(*) FILTER (WHERE completed_at IS NULL) FROM work_items "
                         f"WHERE {w.sql}", w.params)
    return (int(row[0]), int(row[1])) if row else (0, 0)


# -- loads and rejects ---------------------------------------------------------------------------------------

def load_history(store: Store) -> pd.DataFrame:
    """Every load, newest last, with machine names; a time no calendar can show (a store edited by hand) empty."""
    return store.query(
        "SELECT load_id, file_name, table_name, mapping_name, rows_read, rows_loaded, rows_rejected, rows_skipped, "
        "rows_replaced, rows_superseded, array_to_string(phi_columns_dropped, ', ') AS phi_columns_dropped, "
        "sha256, loaded_by, "
        f"CASE WHEN {catalog.timestamp_within('started_at')} THEN started_at END AS started_at, "
        f"CASE WHEN {catalog.timestamp_within('finished_at')} THEN finished_at END AS finished_at "
        "FROM loads ORDER BY load_id")


def load_exists(store: Store, load_id: int) -> bool:
    return store.fetchone("SELECT 1 FROM loads WHERE load_id = ?", [load_id]) is not None


def rejects(store: Store, load_id: int | None = None) -> pd.DataFrame:
    """Rejected and skipped rows (of one load when given), by load and line."""
    w = Where()
    if load_id is not None:
        w.equals("load_id", load_id)
    return store.query("SELECT load_id, file_name, line, column_name, kind, reason, raw_values FROM rejects "
                       f"WHERE {w.sql} ORDER BY load_id, line", w.params)


def last_load(store: Store, table: str) -> Any:
    """When the last load of a table finished (None when never, or at a time no calendar can show)."""
    row = store.fetchone(f"SELECT max(finished_at) FROM loads WHERE table_name = ? "
                         f"AND {catalog.timestamp_within('finished_at')}", [table])
    return row[0] if row else None


def version(store: Store) -> tuple[Any, ...]:
    """What changes when the store's figures change: a finished load, or an event removed (no load, so the
    events' count and latest entry count too). A store from before the events table has only its loads'."""
    try:
        row = store.fetchone("SELECT max(load_id), count(*), max(finished_at), "
                             "(SELECT count(*) FROM events), (SELECT max(_load_id) FROM events) FROM loads")
    except QueryError:  # no events table: a store from before it, opened only for reading so far
        row = store.fetchone("SELECT max(load_id), count(*), max(finished_at) FROM loads")
    return tuple(row or ())


def row_count(store: Store, table: str) -> int:
    return int(store.fetchone(f"SELECT count(*) FROM {qi(contract.TABLES[table].name)}")[0])  # type: ignore[index]


# -- dates the pages report on --------------------------------------------------------------------------------

def event_bounds(store: Store) -> tuple[dt.date, dt.date] | None:
    """The first and last event dates of the rows the pages report on (inside catalog.READ_FROM..READ_TO)."""
    firsts, lasts = [], []
    for table, cols in catalog.EVENT_TIMES.items():
        row = store.fetchone(f"SELECT min(CAST({qi(cols[0])} AS DATE)), "
                             f"max(CAST(greatest({', '.join(map(qi, cols))}) AS DATE)) "
                             f"FROM {qi(table)} WHERE {catalog.in_window(table)}")
        if row and row[0]:
            firsts.append(row[0])
            lasts.append(row[1])
    return (min(firsts), max(lasts)) if firsts else None


def outside_window(store: Store) -> pd.DataFrame:
    """Rows left out of every figure because a date or time of theirs lies outside catalog.READ_FROM..READ_TO:
    per table, column and load, how many and the earliest and latest such value as stored (as text: a year
    such as 5881580 has no Python date). Columns: table, column, load, rows, earliest, latest."""
    w, parts = Where(), []
    for table in contract.TABLES:
        for col in catalog.time_columns(table):
            c = qi(col)
            parts.append(f"SELECT {w.bind(table)} AS \"table\", {w.bind(col)} AS \"column\", _load_id AS load, "
                         f"count(*) AS rows, CAST(min({c}) AS VARCHAR) AS earliest, "
                         f"CAST(max({c}) AS VARCHAR) AS latest "
                         f"FROM {qi(table)} WHERE NOT {catalog.within(col, table)} GROUP BY _load_id")
    return store.query(" UNION ALL ".join(parts) + " ORDER BY 1, 2, 3", w.params)


def load_files(store: Store) -> dict[int, str]:
    """Each load's file name (a scoped reader sees none)."""
    return dict(store.fetchall("SELECT load_id, file_name FROM loads")) if store.scope.everything else {}


def outside_rows(store: Store) -> dict[str, int]:
    """Per table, the rows left out (a row with several such values counts once); tables with none omitted."""
    counts = {t: store.fetchone(f"SELECT count(*) FROM {qi(t)} WHERE NOT ({catalog.in_window(t)})")[0]  # type: ignore[index]
              for t in contract.TABLES}
    return {t: int(n) for t, n in counts.items() if n}


# -- rows and counts for pages ------------------------------------------------------------------------------

def distinct_values(fetchall: Fetch, columns: Sequence[tuple[str, str]]) -> list[str]:
    """The distinct non-empty values, as text, of the (table, column) pairs together, sorted."""
    for table, column in columns:
        if column not in contract.TABLES[table].column_names:
            raise ValueError(f"{column!r} is not a column of {table}")
    if not columns:
        return []
    sql = " UNION ".join(f"SELECT DISTINCT CAST({qi(c)} AS VARCHAR) AS v FROM {qi(t)} WHERE {qi(c)} IS NOT NULL"
                         for t, c in columns)
    return sorted(r[0] for r in fetchall(f"SELECT v FROM ({sql})", []))


def counts_by(store: Store, row_set: str, column: str, where: Mapping[str, Sequence[Any]],
              start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    """Rows of a catalogue row set (catalog.ROW_SETS, e.g. denied claims) per value of a dimension, most first."""
    rs = catalog.ROW_SETS[row_set]
    if column not in catalog.DIMENSIONS[rs.table]:
        raise ValueError(f"{column!r} is not a dimension of {rs.table}")
    w = reported_rows(rs.table, where, rs.time_column, start, end).rows(rs.rows).rows(f"{qi(column)} IS NOT NULL")
    return store.query(f"SELECT {qi(column)} AS {qi(column)}, count(*) AS rows FROM {qi(rs.table)} "
                       f"WHERE {w.sql} GROUP BY 1 ORDER BY 2 DESC, 1", w.params)


def raw_rows(store: Store, table: str, where: Mapping[str, Sequence[Any]], start: dt.date | None,
             end: dt.date | None, limit: int) -> tuple[pd.DataFrame, int]:
    """A table's stored rows under the filters by its raw-records time (contract), latest first (at most
    `limit`), and how many there are in all."""
    t, listed_by = contract.TABLES[table], contract.LISTED_BY[table]
    w = reported_rows(table, where, listed_by, start, end)
    total = store.fetchone(f"SELECT count(*) FROM {qi(table)} WHERE {w.sql}", w.params)[0]  # type: ignore[index]
    cols = ", ".join(qi(c) for c in t.column_names)
    df = store.query(f"SELECT {cols} FROM {qi(table)} WHERE {w.sql} ORDER BY {qi(listed_by)} DESC "
                     f"LIMIT {w.bind(int(limit))}", w.params)
    return df, int(total)


def distribution(store: Store, kpi_id: str, where: Mapping[str, Sequence[Any]], start: dt.date | None,
                 end: dt.date | None) -> pd.DataFrame:
    """A whole-days quantile KPI's rows in the range counted per value (claims per day of turnaround): the
    KPI's own value, rows and period from the catalogue. Columns: value, rows."""
    kpi = catalog.get(kpi_id)
    if not (kpi.kind == "quantile" and kpi.discrete):
        raise ValueError(f"{kpi_id} is not a quantile of whole values")
    w = reported_rows(kpi.table, where, kpi.period, start, end).rows(kpi.rows or "true")
    return store.query(f"SELECT {kpi.value} AS value, count(*) AS rows FROM {qi(kpi.table)} WHERE {w.sql} "
                       "GROUP BY 1 ORDER BY 1", w.params)


def by_hour_of_week(store: Store, kpi_id: str, where: Mapping[str, Sequence[Any]], start: dt.date | None,
                    end: dt.date | None, params: Mapping[str, Any]) -> pd.DataFrame:
    """A ratio KPI's rows counted by weekday (0 = Monday) and hour of its period time, with the KPI's own
    conditions: columns weekday, hour, rows (every row of the range), denominator, numerator. `params` are the
    KPI's own (thresholds)."""
    kpi = catalog.get(kpi_id)
    if not kpi.is_ratio or kpi.sums:
        raise ValueError(f"{kpi_id} is not a ratio of counted rows")
    w = reported_rows(kpi.table, where, kpi.period, start, end)
    den = f"({kpi.rows or 'true'}) AND ({kpi.denominator})"
    num = re.sub(r"\b_den\b", "true", kpi.numerator or "false")  # counted among denominator rows only
    return store.query(f"SELECT isodow({kpi.period}) - 1 AS weekday, hour({kpi.period}) AS hour, count(*) AS rows, "
                       f"count(*) FILTER (WHERE {den}) AS denominator, "
                       f"count(*) FILTER (WHERE {den} AND ({num})) AS numerator "
                       f"FROM {qi(kpi.table)} WHERE {w.sql} GROUP BY ALL ORDER BY 1, 2", {**w.params, **params})


# -- capacity -------------------------------------------------------------------------------------------

def _dated(table: str, column: str, vendors: Sequence[str], start: dt.date, end: dt.date) -> Where:
    """Rows of `table` inside the reported dates, of `vendors` (every one in scope when none), whose `column`
    falls from `start` to `end` (days, inclusive)."""
    w = Where("c").on_or_after(column, start).on_or_before(column, end).rows(catalog.in_window(table))
    return w.values_in("vendor", vendors) if vendors else w


def call_profile(store: Store, vendors: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Calls offered per vendor, queue, weekday (0 = Monday) and half-hour (slot: minutes after midnight) from
    `start` to `end` (days, inclusive): the intraday arrival profile staffing spreads a daily forecast by."""
    w = _dated("calls", "offered_at", vendors, start, end)
    return store.query("SELECT vendor, coalesce(queue, '') AS queue, isodow(offered_at) - 1 AS weekday, "
                       "(hour(offered_at) * 60 + minute(offered_at)) // 30 * 30 AS slot, count(*) AS calls "
                       f"FROM calls WHERE {w.sql} GROUP BY ALL ORDER BY ALL", w.params)


def call_handling(store: Store, vendors: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per vendor and queue from `start` to `end`: calls offered, answered, their mean handle time (seconds),
    abandoned, and the seconds every caller waited (answered callers until answered, abandoners until they hung
    up): what Erlang needs of the measured calls."""
    w = _dated("calls", "offered_at", vendors, start, end)
    return store.query(
        "SELECT vendor, coalesce(queue, '') AS queue, count(*) AS offered, count(answered_at) AS answered, "
        "avg(handle_seconds) FILTER (WHERE answered_at IS NOT NULL) AS aht_s, count(abandoned_at) AS abandoned, "
        "coalesce(sum(epoch(coalesce(answered_at, abandoned_at) - offered_at)), 0) AS waited_s "
        f"FROM calls WHERE {w.sql} GROUP BY ALL ORDER BY ALL", w.params)


def _plans(vendors: Sequence[str], start: dt.date, end: dt.date, length: str) -> Where:
    """Staffing plan rows of `vendors` from `start` to `end` whose interval length meets `length` (SQL)."""
    w = Where("s").on_or_after("interval_start", start).on_or_before("interval_start", end).rows(length)
    return w.values_in("vendor", vendors) if vendors else w


def queue_plans(store: Store, vendors: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """The staffing plans' contact-centre intervals (shorter than a day) from `start` to `end`."""
    w = _plans(vendors, start, end, "interval_minutes < 1440")
    return store.query("SELECT vendor, process AS queue, interval_start, interval_minutes, scheduled_staff, "
                       f"shrinkage FROM staffing WHERE {w.sql} ORDER BY ALL", w.params)


def daily_plans(store: Store, vendors: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """The staffing plans' daily rows (back office: FTE per day) from `start` to `end`."""
    w = _plans(vendors, start, end, "interval_minutes = 1440")
    return store.query("SELECT vendor, process, CAST(interval_start AS DATE) AS day, scheduled_staff, "
                       f"productive_hours_per_fte, shrinkage FROM staffing WHERE {w.sql} ORDER BY ALL", w.params)


def completed_per_day(store: Store, vendors: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Work items completed per vendor, process and day from `start` to `end`: the throughput a plan's staff
    kept."""
    w = _dated("work_items", "completed_at", vendors, start, end)
    return store.query("SELECT vendor, process, CAST(completed_at AS DATE) AS day, count(*) AS completed "
                       f"FROM work_items WHERE {w.sql} GROUP BY ALL ORDER BY ALL", w.params)


def due_allowance(store: Store, vendors: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Work items opened from `start` to `end` per vendor, process, priority ('' when none) and the days from
    the day opened to the day due (null: no due time): how long the contract gives each kind of item."""
    w = _dated("work_items", "opened_at", vendors, start, end)
    return store.query("SELECT vendor, process, coalesce(priority, '') AS priority, "
                       "date_diff('day', CAST(opened_at AS DATE), CAST(due_at AS DATE)) AS days, count(*) AS items "
                       f"FROM work_items WHERE {w.sql} GROUP BY ALL ORDER BY ALL", w.params)


def open_items(store: Store, vendors: Sequence[str], cut: dt.date) -> pd.DataFrame:
    """Work items opened before the cut-off day and not completed before it, per vendor, process, priority ('' when
    none) and due day (null: no due time): the backlog a projection starts from."""
    w = Where("w").rows(catalog.in_window("work_items"))
    w.rows(f"opened_at < {w.bind(cut)}").rows(f"(completed_at IS NULL OR completed_at >= {w.bind(cut)})")
    if vendors:
        w.values_in("vendor", vendors)
    return store.query("SELECT vendor, process, coalesce(priority, '') AS priority, CAST(due_at AS DATE) AS due, "
                       f"count(*) AS items FROM work_items WHERE {w.sql} GROUP BY ALL ORDER BY ALL", w.params)


def due_done(store: Store, vendors: Sequence[str], first_due: dt.date, cut: dt.date) -> pd.DataFrame:
    """Work items due on or after `first_due` and completed before the cut-off day, per vendor, process, priority
    ('' when none) and due day: those met their due time (completed by it) and those missed it, already known."""
    w = Where("w").on_or_after("due_at", first_due).rows(catalog.in_window("work_items"))
    w.rows(f"completed_at < {w.bind(cut)}")
    if vendors:
        w.values_in("vendor", vendors)
    return store.query("SELECT vendor, process, coalesce(priority, '') AS priority, CAST(due_at AS DATE) AS due, "
                       "count(*) FILTER (WHERE completed_at <= due_at) AS met, "
                       "count(*) FILTER (WHERE completed_at > due_at) AS missed "
                       f"FROM work_items WHERE {w.sql} GROUP BY ALL ORDER BY ALL", w.params)


# -- outlooks kept after a load (capacity.outlook) -----------------------------------------------------------
#: What an executive reads first of each kept outlook, per queue or process (capacity.outlook.headline_frame).
HEADLINE_COLUMNS = ("vendor", "part", "what", "status", "from_day", "words", "forecast_accuracy")


def outlook_stamp(store: Store) -> str:
    """The store as a kept outlook was made from: its latest load, the number of loads and when the latest
    finished (the same for every reader: a scoped reader sees every load's record)."""
    row = store.fetchone("SELECT max(load_id), count(*), max(finished_at) FROM loads")
    return "/".join("" if x is None else str(x) for x in (row or ()))


def kept_version(store: Store) -> tuple[Any, ...]:
    """What changes when outlooks are kept (after a load, or by `opsdash outlook` with no load): part of the
    cache key of what is read of them. Empty for a store from before they were kept."""
    try:
        return tuple(store.fetchone("SELECT count(*), max(made_at) FROM outlooks") or ())
    except QueryError:
        return ()


def keep_outlooks(store: Store, made_for: str, code: str, made: Sequence[tuple[str, float, bytes]],
                  headlines: pd.DataFrame) -> None:
    """Replace every kept outlook by `made` (vendor, seconds taken, the outlook's bytes) and their headlines, in
    one transaction: a reader sees the old set or the new one."""
    _replace_kept(store, made_for, code, "outlooks", made, "outlook_headlines", headlines, HEADLINE_COLUMNS)


def _replace_kept(store: Store, made_for: str, code: str, table: str, made: Sequence[tuple[Any, float, bytes]],
                  rows_table: str, rows: pd.DataFrame, columns: Sequence[str]) -> None:
    """Replace what is kept in `table` (vendor, made_for, code, made_at, seconds, bytes) by `made`, and in
    `rows_table` by `rows` (`columns`, then made_for and code), in one transaction."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with store.transaction() as tx:
        tx.execute(f"DELETE FROM {qi(table)}")
        tx.execute(f"DELETE FROM {qi(rows_table)}")
        for vendor, seconds, body in made:
            tx.execute(f"INSERT INTO {qi(table)} VALUES (?, ?, ?, ?, ?, ?)", [vendor, made_for, code, now, seconds, body])
        if len(rows):
            tx.register("_kept_rows", rows[list(columns)])
            tx.execute(f"INSERT INTO {qi(rows_table)} SELECT {', '.join(columns)}, ?, ? FROM _kept_rows",
                       [made_for, code])
            tx.unregister("_kept_rows")


def kept_outlook(store: Store, vendor: str, made_for: str, code: str) -> bytes | None:
    """The vendor's kept outlook when it was made for the store as it stands by this code, else None (also in a
    store from before outlooks were kept, opened for reading only)."""
    try:
        row = store.fetchone("SELECT outlook FROM outlooks WHERE vendor = ? AND made_for = ? AND code = ?",
                             [vendor, made_for, code])
    except QueryError:
        return None
    return bytes(row[0]) if row else None


def kept_headlines(store: Store, made_for: str, code: str) -> tuple[pd.DataFrame, list[str]]:
    """The headlines of every kept outlook made for the store as it stands by this code, and the vendors they
    cover (a vendor kept with nothing to judge has no headline but is covered)."""
    try:
        heads = store.query(f"SELECT {', '.join(HEADLINE_COLUMNS)} FROM outlook_headlines "
                            "WHERE made_for = ? AND code = ?", [made_for, code])
        covered = store.fetchall("SELECT vendor FROM outlooks WHERE made_for = ? AND code = ? ORDER BY 1",
                                 [made_for, code])
    except QueryError:
        return pd.DataFrame(columns=list(HEADLINE_COLUMNS)), []
    return heads, [r[0] for r in covered]


# -- denial risk kept after a load (denials.kept) -----------------------------------------------------------
#: An open claim's score as kept and shown (the Claims page's work list, opsdash denials score).
SCORE_COLUMNS = ("vendor", "claim_id", "stage", "facility", "payer", "claim_type", "procedure_group",
                 "received_date", "submitted_date",
                 "billed_amount", "risk", "expected_loss", "reasons")


def claims_columns(store: Store, columns: Sequence[str]) -> pd.DataFrame:
    """Every claim the reader may see, with `columns` (contract columns of claims only)."""
    known = contract.TABLES["claims"].column_names
    wrong = [c for c in columns if c not in known]
    if wrong:
        raise ValueError(f"no claims column {wrong[0]!r}")
    return store.query(f"SELECT {', '.join(qi(c) for c in columns)} FROM claims ORDER BY vendor, claim_id")


def keep_denials(store: Store, made_for: str, code: str, cards: Sequence[tuple[str | None, float, bytes]],
                 scores: pd.DataFrame) -> None:
    """Replace the kept denial cards (vendor or None for the pooled one, seconds taken, the card's bytes) and
    scores, in one transaction."""
    _replace_kept(store, made_for, code, "denial_cards", cards, "denial_scores", scores, SCORE_COLUMNS)


def kept_denial_cards(store: Store, made_for: str, code: str) -> list[tuple[str | None, bytes]]:
    """The kept cards made for the store as it stands by this code, that the reader may see (a scoped reader never
    sees the pooled card); empty in a store from before they were kept."""
    try:
        rows = store.fetchall("SELECT vendor, card FROM denial_cards WHERE made_for = ? AND code = ? "
                              "ORDER BY vendor NULLS FIRST", [made_for, code])
    except QueryError:
        return []
    return [(v, bytes(b)) for v, b in rows]


def kept_denial_scores(store: Store, made_for: str, code: str) -> pd.DataFrame:
    """The kept scores of open claims, highest expected loss first."""
    try:
        return store.query(f"SELECT {', '.join(SCORE_COLUMNS)} FROM denial_scores WHERE made_for = ? AND code = ? "
                           "ORDER BY expected_loss DESC, vendor, claim_id", [made_for, code])
    except QueryError:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))


def denials_kept_version(store: Store) -> tuple[Any, ...]:
    """What changes when a denial model is kept: part of the cache key of what pages read of it."""
    try:
        return tuple(store.fetchone("SELECT count(*), max(made_at) FROM denial_cards") or ())
    except QueryError:
        return ()


# -- events ---------------------------------------------------------------------------------------------

EVENT_COLUMNS = ("vendor", "event_date", "kpi", "process", "description", "is_process_change", "source")


def events(store: Store, vendors: Sequence[str], start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    """The events of `vendors` (every vendor in scope when none) from start to end, oldest first."""
    w = reported_rows("events", {"vendor": vendors} if vendors else {}, "event_date", start, end)
    return store.query(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE {w.sql} "
                       "ORDER BY event_date, vendor, kpi NULLS FIRST, process NULLS FIRST, description", w.params)


def remove_event(store: Store, key: Mapping[str, Any]) -> int:
    """Delete the events matching every key column (empty matching empty); the number removed."""
    w = Where()
    for column in contract.TABLES["events"].key:
        w.rows(f"{qi(column)} IS NOT DISTINCT FROM {w.bind(key[column])}")
    with store.transaction() as tx:
        n = tx.fetchone(f"SELECT count(*) FROM events WHERE {w.sql}", w.params)
        tx.execute(f"DELETE FROM events WHERE {w.sql}", w.params)
    return int(n[0]) if n else 0


# -- the audit trail ------------------------------------------------------------------------------------

AUDIT_COLUMNS = ("event_id", "event_at", "user_name", "role", "action", "page", "what", "filters", "row_count",
                 "load_ids")


def add_audit_events(store: Store, rows: Iterable[Sequence[Any]]) -> None:
    """Store audit events (values in AUDIT_COLUMNS order) in one transaction; an id already stored is skipped."""
    with store.transaction() as tx:
        for values in rows:
            tx.execute(f"INSERT OR IGNORE INTO audit ({', '.join(AUDIT_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})", list(values))


def audit_version(store: Store) -> tuple[Any, ...]:
    return tuple(store.fetchone("SELECT count(*), max(event_at), max(event_id) FROM audit") or ())


def audit_trail(store: Store, limit: int) -> pd.DataFrame:
    """The newest events first, with machine names; a time no calendar can show (a store edited by hand) empty."""
    return store.query(f"SELECT CASE WHEN {catalog.timestamp_within('event_at')} THEN event_at END AS event_at, "
                       "user_name, role, action, page, what, filters, row_count, load_ids "
                       "FROM audit ORDER BY event_at DESC LIMIT ?", [limit])


# -- alerts and their outbox (opsdash.alerts) ------------------------------------------------------------------
ALERT_COLUMNS = ("key", "rule", "vendor", "what", "period", "raised_at", "state", "title", "words", "evidence")
OUTBOX_COLUMNS = ("id", "subscription", "recipient", "channel", "person", "vendors", "rules", "slot", "subject",
                  "body_text", "body_html", "payload", "state", "attempts", "created_at", "next_try", "lease_until",
                  "last_error", "sent_at")
#: The outbox as admins read it on the Alerts page (never the bodies).
OUTBOX_SHOWN = ("created_at", "subscription", "recipient", "channel", "subject", "state", "attempts", "next_try",
                "last_error", "sent_at")


def event_days(store: Store, table: str, vendor: str, since: dt.date) -> list[dt.date]:
    """The distinct days on or after `since` with an event of the vendor in a data table (its first event
    column, e.g. a claim's received date), oldest first: the rhythm its exports arrive in."""
    col = qi(catalog.EVENT_TIMES[table][0])
    w = Where().rows(catalog.in_window(table)).equals("vendor", vendor).on_or_after(
        catalog.EVENT_TIMES[table][0], since)
    return [r[0] for r in store.fetchall(f"SELECT DISTINCT CAST({col} AS DATE) FROM {qi(table)} "
                                         f"WHERE {w.sql} ORDER BY 1", w.params)]


def load_days(store: Store, table: str, vendor: str, since: dt.date) -> list[dt.date]:
    """The distinct days on or after `since` on which a load brought rows of the vendor into a data table, oldest
    first: when its exports actually arrive."""
    rows = store.fetchall(
        f"SELECT DISTINCT CAST(l.finished_at AS DATE) FROM {qi(table)} t JOIN loads l ON t._load_id = l.load_id "
        f"WHERE t.vendor = ? AND CAST(l.finished_at AS DATE) >= ? AND {catalog.timestamp_within('l.finished_at')} "
        "ORDER BY 1", [vendor, since])
    return [r[0] for r in rows]


def alerts_version(store: Store) -> tuple[Any, ...]:
    """What changes when an alert is raised, sent or acknowledged, or a message's state moves: the Alerts page's
    cache key. Empty for a store from before alerts (opened only for reading so far)."""
    try:
        return tuple(store.fetchone(
            "SELECT (SELECT count(*) FROM alerts), (SELECT max(raised_at) FROM alerts), "
            "(SELECT count(*) FILTER (WHERE state = 'sent') FROM alerts), (SELECT count(*) FROM alert_acks), "
            "(SELECT max(acked_at) FROM alert_acks), (SELECT count(*) FROM outbox), "
            "(SELECT sum(attempts) FROM outbox), (SELECT max(sent_at) FROM outbox), "
            "(SELECT max(next_try) FROM outbox), "
            + ", ".join(f"(SELECT count(*) FILTER (WHERE state = '{state}') FROM outbox)"
                        for state in ("pending", "sending", "sent", "failed", "withheld", "dead"))) or ())
    except QueryError:
        return ()


def alerts(store: Store, limit: int = 500) -> pd.DataFrame:
    """The newest alerts first (this reader's vendors only), each with its latest acknowledgement."""
    cols = [*ALERT_COLUMNS, "acked_at", "acked_by", "ack_note"]
    try:
        return store.query(
            f"SELECT {', '.join('a.' + c for c in ALERT_COLUMNS)}, k.acked_at, k.user_name AS acked_by, "
            "k.note AS ack_note FROM alerts a LEFT JOIN (SELECT key, acked_at, user_name, note FROM alert_acks "
            "QUALIFY row_number() OVER (PARTITION BY key ORDER BY acked_at DESC) = 1) k USING (key) "
            "ORDER BY a.raised_at DESC, a.key LIMIT ?", [limit])[cols]
    except QueryError:
        return pd.DataFrame(columns=cols)


def alert_keys(store: Store) -> set[str]:
    try:
        return {r[0] for r in store.fetchall("SELECT key FROM alerts")}
    except QueryError:
        return set()


def sent_items(store: Store) -> set[tuple[str, str]]:
    """Every (subscription, alert key) already written to a message: an alert goes to a subscription once."""
    try:
        return {(r[0], r[1]) for r in store.fetchall("SELECT subscription, key FROM outbox_items")}
    except QueryError:
        return set()


def outbox_ids(store: Store) -> set[str]:
    try:
        return {r[0] for r in store.fetchall("SELECT id FROM outbox")}
    except QueryError:
        return set()


def outbox(store: Store, limit: int = 500) -> pd.DataFrame:
    """The newest messages first, for admins (a scoped reader sees none: the table has no vendor column)."""
    try:
        return store.query(f"SELECT {', '.join(OUTBOX_SHOWN)} FROM outbox ORDER BY created_at DESC, id LIMIT ?",
                           [limit])
    except QueryError:
        return pd.DataFrame(columns=list(OUTBOX_SHOWN))


def enqueue(store: Store, alert_rows: Sequence[Mapping[str, Any]], messages: Sequence[Mapping[str, Any]],
            items: Sequence[tuple[str, str, str]], files: Sequence[tuple[str, str, str, bytes]]) -> int:
    """Write new alerts, and messages with their items (subscription, key, message) and attachments (message,
    name, mime, bytes), in one transaction; a key or id already there is left as it is. The messages written."""
    with store.transaction() as tx:
        for a in alert_rows:
            tx.execute(f"INSERT OR IGNORE INTO alerts ({', '.join(ALERT_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(ALERT_COLUMNS))})", [a[c] for c in ALERT_COLUMNS])
        known = {r[0] for r in tx.fetchall("SELECT id FROM outbox")}
        fresh = [m for m in messages if m["id"] not in known]
        for m in fresh:
            tx.execute(f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(OUTBOX_COLUMNS))})", [m[c] for c in OUTBOX_COLUMNS])
        ids = {m["id"] for m in fresh}
        for subscription, key, message in items:
            if message in ids:
                tx.execute("INSERT OR IGNORE INTO outbox_items VALUES (?, ?, ?)", [subscription, key, message])
        for message, name, mime, content in files:
            if message in ids:
                tx.execute("INSERT INTO outbox_files VALUES (?, ?, ?, ?)", [message, name, mime, content])
    return len(fresh)


def claim_due(store: Store, now: dt.datetime, lease_until: dt.datetime, only: str | None = None) -> pd.DataFrame:
    """Take the messages due (pending or failed with their next try come, or sending with a lapsed lease: a run
    that stopped mid-send) for one sending: state 'sending', one attempt more, leased until `lease_until`."""
    sql = ("((state IN ('pending', 'failed') AND next_try <= ?) OR (state = 'sending' AND lease_until <= ?))"
           + (" AND id = ?" if only is not None else ""))
    params: list[Any] = [now, now] + ([only] if only is not None else [])
    with store.transaction() as tx:
        due = tx.query(f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM outbox WHERE {sql} ORDER BY created_at, id", params)
        if len(due):
            tx.execute("UPDATE outbox SET state = 'sending', attempts = attempts + 1, lease_until = ? "
                       "WHERE list_contains(?, id)", [lease_until, list(due["id"])])
    due["attempts"] = due["attempts"] + 1
    return due


def message_files(store: Store, message: str) -> list[tuple[str, str, bytes]]:
    return [(r[0], r[1], bytes(r[2])) for r in
            store.fetchall("SELECT name, mime, content FROM outbox_files WHERE message = ? ORDER BY name", [message])]


def record_outcomes(store: Store, outcomes: Sequence[Mapping[str, Any]]) -> None:
    """Each message's outcome (id, state, next_try, last_error, sent_at), and its alerts 'sent' once a message
    carrying them went (an acknowledged alert stays acknowledged), in one transaction."""
    with store.transaction() as tx:
        for o in outcomes:
            tx.execute("UPDATE outbox SET state = ?, next_try = ?, last_error = ?, sent_at = ?, lease_until = NULL "
                       "WHERE id = ?", [o["state"], o["next_try"], o["last_error"], o["sent_at"], o["id"]])
        # a withheld message's alerts are free again for its subscription (a later message, within what its
        # person may now see, may carry them)
        withheld = [o["id"] for o in outcomes if o["state"] == "withheld"]
        if withheld:
            tx.execute("DELETE FROM outbox_items WHERE list_contains(?, message)", [withheld])
        sent = [o["id"] for o in outcomes if o["state"] == "sent"]
        if sent:
            tx.execute("UPDATE alerts SET state = 'sent' WHERE state = 'new' AND key IN "
                       "(SELECT key FROM outbox_items WHERE list_contains(?, message))", [sent])


def acknowledge_alert(store: Store, key: str, user: str, note: str, at: dt.datetime) -> int:
    """Record an acknowledgement (with its note) and mark the alert acknowledged; the alerts acknowledged (0 for
    an unknown key)."""
    with store.transaction() as tx:
        row = tx.fetchone("SELECT vendor FROM alerts WHERE key = ?", [key])
        if row is None:
            return 0
        tx.execute("INSERT INTO alert_acks VALUES (?, ?, ?, ?, ?)", [key, row[0], at, user, note])
        tx.execute("UPDATE alerts SET state = 'acknowledged' WHERE key = ?", [key])
    return 1


# -- the lake (opsdash.lake): Parquet copies of the store's tables ----------------------------------------------
def lake_month(table: str) -> str:
    """SQL: the month (YYYY-MM) that files a row of a contract table in the lake, from its arrival event; rows
    without one are filed under 'none'."""
    arrival = contract.EVENT_COLUMNS[table][0]
    return f"coalesce(strftime({qi(arrival)}, '%Y-%m'), 'none')"


def lake_columns(table: str) -> list[str]:
    """The columns a contract table's lake files hold: the contract's (vendor is the partition) and lineage."""
    return [c for c in (*contract.TABLES[table].column_names, *(n for n, _ in contract.LINEAGE_COLUMNS))
            if c != "vendor"]


def lake_fingerprints(store: Store, table: str) -> pd.DataFrame:
    """Per vendor and month of a contract table: its rows and a checksum of their values (the sum of each row's
    hash, so the same rows in any order give the same checksum and a changed, added or removed row another)."""
    cols = ", ".join(qi(c) for c in ("vendor", *lake_columns(table)))
    return store.query(f"SELECT vendor, {lake_month(table)} AS month, count(*) AS rows, "
                       f"CAST(sum(hash({cols})) AS VARCHAR) AS checksum FROM {qi(table)} GROUP BY ALL")


def copy_lake_partitions(store: Store, table: str, keys: Sequence[tuple[str, str]], dest: str) -> None:
    """Write the rows of `keys` (vendor, month) of a contract table under `dest` as Parquet, one directory per
    vendor and month (DuckDB's Hive layout, which opsdash.lake moves into the lake's own)."""
    cols = ", ".join(qi(c) for c in lake_columns(table))
    store.fetchall(f"COPY (SELECT vendor, {lake_month(table)} AS month, {cols} FROM {qi(table)} "
                   f"WHERE list_contains($keys, vendor || chr(0) || {lake_month(table)})) "
                   f"TO $dest (FORMAT parquet, PARTITION_BY (vendor, month), FILENAME_PATTERN 'part-{{i}}', "
                   f"COMPRESSION zstd)", {"keys": [f"{v}\x00{m}" for v, m in keys], "dest": dest})


def copy_loads(store: Store, dest: str) -> int:
    """Write the store's load records as one Parquet file at `dest`; the number of loads."""
    store.fetchall("COPY (SELECT * FROM loads ORDER BY load_id) TO $dest (FORMAT parquet)", {"dest": dest})
    row = store.fetchone("SELECT count(*) FROM loads")
    return int(row[0]) if row else 0


def lake_views(store: Store, root: str, tenant: str | None) -> None:
    """Turn a scratch store's contract tables and loads into views over a lake's Parquet files: one tenant's, or
    with no tenant every tenant's rows pooled, each with its `tenant` (their load ids then repeat). DuckDB then reads the very files
    Spark reads (the scale benchmark's reference, and tests of the generated lake); the store's own rows are
    dropped, so never on a real store."""
    who = f"tenant={tenant}" if tenant else "tenant=*"
    with store.transaction() as tx:
        tables = {r[0] for r in tx.fetchall("SELECT table_name FROM duckdb_tables() WHERE NOT temporary")}
        for table in (*contract.EVENT_COLUMNS, "loads"):
            if table in tables:
                tx.execute(f"DROP TABLE {qi(table)}")
            if table == "loads":
                src = f"{root}/loads/{who}/*.parquet"
                cols = "*" if tenant is None else "* EXCLUDE (tenant)"
            else:
                src = f"{root}/{table}/{who}/*/*/*.parquet"
                cols = ", ".join(qi(c) for c in ("vendor", *lake_columns(table), *(() if tenant else ("tenant",))))
            tx.execute(f"CREATE OR REPLACE VIEW {qi(table)} AS SELECT {cols} FROM read_parquet({ql(src)}, "
                       "hive_partitioning = true, hive_types_autocast = false)")


# -- the portfolio benchmark (opsdash.spark.portfolio), loaded from a lake's job ---------------------------------
#: The columns a tenant's benchmark file holds (opsdash.spark.portfolio.COLUMNS) and their types in the store.
BENCHMARK_COLUMNS = {"kpi": "VARCHAR", "vendor": "VARCHAR", "period_start": "DATE", "value": "DOUBLE",
                     "basis": "BIGINT", "others": "BIGINT", "others_p25": "DOUBLE", "others_median": "DOUBLE",
                     "others_p75": "DOUBLE", "share_below": "DOUBLE", "min_others": "BIGINT",
                     "computed_at": "TIMESTAMP", "tenant_sha256": "VARCHAR"}
#: The fewest other clients a benchmark may compare a vendor-month with (opsdash.spark.portfolio.MIN_OTHERS).
BENCHMARK_MIN_OTHERS = 5


def load_benchmarks(store: Store, path: str, tenant: str, loaded_at: dt.datetime) -> int:
    """Replace the store's benchmarks with `tenant`'s file from the portfolio job, all or nothing; the rows
    loaded. Refuses a file without the job's columns or with others (a tenant column would name tenants), rows
    of another tenant, a KPI the catalogue does not know, a row without vendor or month, or a vendor-month
    compared with fewer other clients than the job's minimum."""
    # A file under tenant=<name>/ is read as it is: no partition column is made from its path.
    found = dict(store.fetchall("SELECT column_name, column_type FROM "
                                "(DESCRIBE SELECT * FROM read_parquet($p, hive_partitioning = false))", {"p": path}))
    missing = [c for c in BENCHMARK_COLUMNS if c not in found]
    extra = [c for c in found if c not in BENCHMARK_COLUMNS]
    if missing or extra:
        raise QueryError(f"{path}: not a tenant's benchmark file from the portfolio job ("
                         + "; ".join(x for x in (f"missing {', '.join(missing)}" if missing else "",
                                                 f"unexpected {', '.join(extra)}" if extra else "") if x) + ")")
    cols = ", ".join(f"CAST({qi(c)} AS {t}) AS {qi(c)}" for c, t in BENCHMARK_COLUMNS.items())
    src = (f"(SELECT file_row_number + 1 AS _row, {cols} "
           "FROM read_parquet($p, hive_partitioning = false, file_row_number = true))")
    checks = (("tenant_sha256 IS DISTINCT FROM sha256($tenant)", "is another tenant's, not {tenant}'s"),
              ("kpi IS NULL OR NOT list_contains($kpis, kpi)", "KPI {kpi!r} is not in the catalogue"),
              ("vendor IS NULL OR period_start IS NULL", "has no vendor or no month"),
              ("others IS NULL OR others < greatest(coalesce(min_others, 0), $least)",
               "compares {kpi} with {others} other clients; at least {least} are needed"))
    given = {"p": path, "kpis": list(catalog.KPIS), "tenant": tenant, "least": BENCHMARK_MIN_OTHERS}
    for cond, words in checks:
        sql = f"SELECT _row, kpi, others FROM {src} WHERE {cond} ORDER BY _row LIMIT 1"
        bad = store.fetchone(sql, {k: v for k, v in given.items() if f"${k}" in sql})
        if bad:
            raise QueryError(f"{path}, row {bad[0]}: " + words.format(tenant=tenant, kpi=bad[1], others=bad[2],
                                                                      least=BENCHMARK_MIN_OTHERS))
    with store.transaction() as tx:
        tx.execute("DELETE FROM benchmarks")
        tx.execute(f"INSERT INTO benchmarks SELECT {', '.join(qi(c) for c in BENCHMARK_COLUMNS)}, $at, $p "
                   f"FROM {src}", {"p": path, "at": loaded_at})
        row = tx.fetchone("SELECT count(*) FROM benchmarks")
    return int(row[0]) if row else 0


def _has_benchmarks(store: Store) -> bool:
    row = store.fetchone("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'benchmarks' AND NOT temporary")
    return bool(row and row[0])


def benchmarks_version(store: Store) -> tuple[Any, ...]:
    """What changes when benchmarks are loaded (a store from before them has none)."""
    if not _has_benchmarks(store):
        return ()
    return tuple(store.fetchone("SELECT count(*), max(loaded_at) FROM benchmarks") or ())


def benchmarks(store: Store, vendor: str, through: dt.date) -> pd.DataFrame:
    """The vendor's benchmark rows of its latest benchmarked month starting on or before `through` (empty when
    none is loaded): kpi, period_start, value, basis, others, the others' quartiles, share_below, min_others,
    computed_at."""
    if not _has_benchmarks(store):
        return pd.DataFrame(columns=[c for c in BENCHMARK_COLUMNS if c != "vendor"])
    return store.query("SELECT * EXCLUDE (vendor, tenant_sha256, loaded_at, source) FROM benchmarks WHERE vendor = $v AND "
                       "period_start = (SELECT max(period_start) FROM benchmarks WHERE vendor = $v "
                       "AND period_start <= $t) ORDER BY kpi", {"v": vendor, "t": through})
