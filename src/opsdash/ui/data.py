"""Cached, read-only access to the store for pages.

One read-only connection per process (``st.cache_resource``; a cursor per query). Query results are cached
with ``st.cache_data`` keyed by every argument and by the store's load version, so a finished load (from the
Upload page or the CLI) changes the key and the next rerun reads fresh figures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pandas as pd
import streamlit as st

from opsdash import metrics, sla, views
from opsdash.settings import load as load_settings
from opsdash.ui import boot
from opsdash.store import Store, StoreBusy, StoreError, default_db_path


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    return Store(path, read_only=True)


def store() -> Store | None:
    """The shared read-only store, or None when there is none yet (quiet: see ``require``)."""
    try:
        return _store(str(default_db_path()))
    except StoreError:
        return None


def require() -> Store:
    """The store, or a message saying how to make one (or, while a load writes to it, to wait) and the end of
    the page. A failed open is not cached, so the next run tries again."""
    boot.in_app()
    try:
        return _store(str(default_db_path()))
    except StoreBusy:
        st.warning("A load is writing to the store right now (opsdash ingest runs in another process). The figures "
                   "come back when it finishes, usually within a minute.", icon=":material/hourglass_top:")
        st.button("Try again", key="retry_store", icon=":material/refresh:")
        st.stop()
        raise
    except StoreError as exc:
        st.info(f"{exc}. The Upload page loads files into a new store.")
        st.stop()
        raise  # st.stop() raises; this line is for type checkers


def path() -> str:
    return str(default_db_path())


def reset() -> None:
    """Forget the connection and every cached figure (after this process wrote to the store)."""
    _store.clear()
    st.cache_data.clear()


@contextlib.contextmanager
def writable() -> Iterator[Store]:
    """The store opened for writing: this process's read-only connection is closed first (DuckDB opens a file
    in one mode per process), and every cache is dropped afterwards so pages read what was written."""
    p = str(default_db_path())
    with contextlib.suppress(StoreError):
        _store(p).close()
    _store.clear()
    try:
        with Store(p) as s:
            yield s
    finally:
        reset()


def version() -> tuple[Any, ...]:
    """Changes whenever a load finishes: part of every cache key."""
    return tuple(_store(path()).fetchone("SELECT max(load_id), count(*), max(finished_at) FROM loads") or ())


@st.cache_data(show_spinner=False, max_entries=500)
def series(db: str, ver: tuple, kpi_id: str, f: views.Filters, by: tuple[str, ...] = (), grain: str | None = "",
           answer_threshold_s: float = 30.0, short_abandon_s: float = 5.0) -> pd.DataFrame:
    return views.series(_store(db), kpi_id, f, by, grain, answer_threshold_s=answer_threshold_s,
                        short_abandon_s=short_abandon_s)


@st.cache_data(show_spinner=False, max_entries=200)
def tile(db: str, ver: tuple, kpi_id: str, f: views.Filters) -> views.Tile:
    return views.tile(_store(db), kpi_id, f)


@st.cache_data(show_spinner=False, max_entries=200)
def target_for(db: str, ver: tuple, kpi_id: str, f: views.Filters) -> tuple[float | None, str]:
    return views.target_for(_store(db), kpi_id, f)


@st.cache_data(show_spinner="Looking for special-cause signals…", max_entries=50)
def what_changed(db: str, ver: tuple, f: views.Filters) -> pd.DataFrame:
    return views.what_changed(_store(db), f)


@st.cache_data(show_spinner=False, max_entries=20)
def freshness(db: str, ver: tuple) -> pd.DataFrame:
    return views.freshness(_store(db))


def latest_event(db: str, ver: tuple) -> Any:
    """The latest event in any table (None in an empty store)."""
    events = [d for d in freshness(db, ver)["latest event"] if pd.notna(d)]
    return max(events, default=None)


@st.cache_data(show_spinner="Scoring every contract level month by month…", max_entries=50)
def attainment(db: str, ver: tuple, start: dt.date, end: dt.date, vendors: tuple[str, ...]) -> pd.DataFrame:
    return sla.attainment(_store(db), start, end, vendors_=list(vendors) or None, settings=load_settings())


@st.cache_data(show_spinner=False, max_entries=50)
def dimension_values(db: str, ver: tuple, table: str, column: str) -> list[str]:
    return metrics.dimension_values(_store(db), table, column)


@st.cache_data(show_spinner=False, max_entries=50)
def distribution(db: str, ver: tuple, f: views.Filters) -> pd.DataFrame:
    return views.distribution(_store(db), f)


@st.cache_data(show_spinner=False, max_entries=100)
def counts_by(db: str, ver: tuple, table: str, column: str, f: views.Filters, time_col: str,
              condition: str = "true") -> pd.DataFrame:
    return views.counts_by(_store(db), table, column, f, time_col, condition)


@st.cache_data(show_spinner="Counting calls by hour…", max_entries=50)
def calls_by_hour(db: str, ver: tuple, f: views.Filters, answer: float, short: float) -> pd.DataFrame:
    return views.calls_by_hour(_store(db), f, answer, short)


@st.cache_data(show_spinner="Reading the records…", max_entries=50)
def raw_rows(db: str, ver: tuple, table: str, f: views.Filters, time_col: str) -> tuple[pd.DataFrame, int]:
    return views.raw_rows(_store(db), table, f, time_col)


def all_raw_rows(db: str, table: str, f: views.Filters, time_col: str, limit: int) -> pd.DataFrame:
    """Every filtered row, up to `limit`, for a download made on click (not cached: it can be large)."""
    return views.raw_rows(_store(db), table, f, time_col, limit)[0]


@st.cache_data(show_spinner="Scoring the contract levels…", max_entries=50)
def scorecard(db: str, ver: tuple, vendor: str, period: str, grain: str) -> sla.Scorecard:
    return sla.scorecard(_store(db), vendor, period, grain=grain, settings=load_settings())


@st.cache_data(show_spinner="Reconciling reported figures…", max_entries=50)
def reconcile(db: str, ver: tuple, vendor: str | None) -> pd.DataFrame:
    return sla.reconcile(_store(db), vendor)


@st.cache_data(show_spinner=False, max_entries=20)
def vendors(db: str, ver: tuple) -> list[str]:
    return sla.vendors(_store(db))


@st.cache_data(show_spinner=False, max_entries=20)
def load_history(db: str, ver: tuple) -> pd.DataFrame:
    return _store(db).query(
        "SELECT load_id AS \"Load\", file_name AS \"File\", table_name AS \"Table\", mapping_name AS \"Mapping\", "
        "rows_read AS \"Rows read\", rows_loaded AS \"Loaded\", rows_rejected AS \"Rejected\", "
        "rows_replaced AS \"Replaced\", array_to_string(phi_columns_dropped, ', ') AS \"PHI columns dropped\", "
        "sha256 AS \"SHA-256\", loaded_by AS \"Loaded by\", finished_at AS \"Loaded at\" FROM loads ORDER BY load_id DESC")


@st.cache_data(show_spinner=False, max_entries=20)
def rejected_rows(db: str, ver: tuple) -> pd.DataFrame:
    return _store(db).query(
        "SELECT load_id AS \"Load\", file_name AS \"File\", line AS \"Line\", column_name AS \"Column\", "
        "kind AS \"Kind\", reason AS \"Reason\", raw_values AS \"Raw values (SSNs masked)\" "
        "FROM rejects ORDER BY load_id, line")


@st.cache_data(show_spinner=False, max_entries=20)
def row_counts(db: str, ver: tuple) -> dict[str, int]:
    return _store(db).table_counts()


@st.cache_data(show_spinner=False, max_entries=20)
def review_pack(db: str, ver: tuple, vendor: str, period: str, grain: str) -> dict[str, bytes]:
    """The pack's files by format, with the numbers of the scorecard on screen (made on request)."""
    from opsdash import report

    pack = report.build(_store(db), vendor, period, grain=grain, settings=load_settings())
    out = {fmt: report.render(pack, fmt) for fmt in ("html", "xlsx")}
    try:
        out["pdf"] = report.render(pack, "pdf")
    except report.pdf.PdfError as exc:  # no Chromium on this machine: the other formats still come
        st.warning(str(exc))
    return {fmt: out[fmt] for fmt in ("pdf", "html", "xlsx") if fmt in out}


def review_pack_stem(vendor: str, period: str) -> str:
    from opsdash.report.pack import file_stem

    return file_stem(vendor, period)
