"""Cached, read-only access to the store for pages, always through the signed-in user's vendor scope.

Pages name the store by ``source()``: the file and the user's scope, so every cached result is keyed by the
scope and every query runs on a store that shows only the scope's rows (see ``store.Scope``). One read-only
connection per process is lent to queries and let go when idle (``store.ReadPool``), so ``opsdash ingest``
can take the file between page loads. Results are cached with ``st.cache_data`` keyed by every argument and
by the store's load version, so a finished load changes the key and the next rerun reads fresh figures.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from opsdash import audit, catalog, metrics, periods, queries, sla, views
from opsdash.settings import load as load_settings
from opsdash.store import Store, StoreBusy, StoreError
from opsdash.ui import auth, boot
from opsdash.ui.connection import Source, _pool, _store, path, record  # noqa: F401  (pages read them here)
from opsdash.ui.text import md


def source() -> Source:
    """The store as the signed-in user may read it."""
    return Source(path(), auth.grant().scope)


def store() -> Store | None:
    """The store as the signed-in user may read it, or None when there is none yet or another process holds it
    before this one has read it (quiet: pages say why through ``require``)."""
    if not Path(path()).exists():
        return None
    try:
        version()
    except StoreError:
        return None
    return _store(source())


_LAST_VERSION: dict[str, tuple[Any, ...]] = {}


def require() -> Store:
    """The store, or a message saying how to make one (or, while a load writes to it, to wait) and the end of
    the page. While a load holds the file, pages already seen keep their cached figures and say so."""
    boot.in_app()
    if not Path(path()).exists():
        st.info(f"no opsdash store at {md(path())}: run `opsdash demo` or `opsdash ingest` first. "
                "The Upload page loads files into a new store.")
        st.stop()
    try:
        version()
    except StoreBusy:
        st.warning("A load is writing to the store right now (opsdash ingest runs in another process). The figures "
                   "come back when it finishes, usually within a minute.", icon=":material/hourglass_top:")
        st.button("Try again", key="retry_store", icon=":material/refresh:")
        st.stop()
        raise
    except StoreError as exc:
        st.error(md(exc))
        st.stop()
        raise  # st.stop() raises; this line is for type checkers
    return _store(source())


def version() -> tuple[Any, ...]:
    """Changes whenever a load finishes: part of every cache key. While another process writes, the version
    last seen (figures cached before the load still show; others wait for it)."""
    p = path()
    try:
        ver = queries.version(_store(Source(p)))
    except StoreBusy:
        if p not in _LAST_VERSION:
            raise
        return _LAST_VERSION[p]
    _LAST_VERSION[p] = ver
    return ver


def load_in_worker(files: list[Path], mapping: Path | None, user: str) -> list[Any]:
    """Load files exactly as `opsdash ingest` does, in a separate process: parsing never holds this process
    (other sessions go on), the contract's rules and PHI dropping are the CLI's own, and the worker dies with
    the dashboard, so a killed dashboard leaves no half-load behind. Other sessions meanwhile show what they
    have cached, or say a load is writing."""
    import json
    import os
    import subprocess
    import sys

    from opsdash.ingest.loader import LoadReport

    args = [sys.executable, "-m", "opsdash.ingest.worker", str(os.getpid()), "--db", path(), "--format", "json",
            "--wait", "60", "--loaded-by", user, *(["--mapping", str(mapping)] if mapping else []), *map(str, files)]
    with _pool(path()).hand_over():
        done = subprocess.run(args, capture_output=True, text=True)
    # Exit 1 with reports is a refused file; with none (an unopenable store) its "Error: ..." is the answer.
    if done.returncode not in (0, 1) or not done.stdout.strip():
        said = done.stderr.strip().splitlines()[-1].removeprefix("Error: ") if done.stderr.strip() else ""
        raise StoreError(said or f"the load stopped (exit {done.returncode})")
    return [LoadReport(**r) for r in json.loads(done.stdout)]


def remove_event(key: Any) -> int:
    """Remove the event with this key (annotations.EventKey) through this process's writer (the next rerun
    reads the changed version)."""
    from opsdash import annotations

    with _pool(path()).writer(wait=5.0) as s:
        return annotations.remove(s, key)


def pending_events() -> int:
    """Audit events kept beside the store, not yet in its table."""
    return audit.pending(Path(path()))


def audit_version() -> tuple[Any, ...]:
    """The audit table's own version (events in it), read afresh on every run: the trail's cache key."""
    return audit.version(_store(Source(path())))


@st.cache_data(show_spinner=False, max_entries=20)
def audit_trail(src: Source, audit_ver: tuple) -> pd.DataFrame:
    """The trail, keyed by the audit table's version: the load version does not change when events join it."""
    return audit.trail(_store(src))


@st.cache_data(show_spinner=False, max_entries=500)
def series(db: Source, ver: tuple, kpi_id: str, f: views.Filters, by: tuple[str, ...] = (), grain: str | None = "",
           answer_threshold_s: float = catalog.ANSWER_THRESHOLD_S,
           short_abandon_s: float = catalog.SHORT_ABANDON_S) -> pd.DataFrame:
    return views.series(_store(db), kpi_id, f, by, grain, answer_threshold_s=answer_threshold_s,
                        short_abandon_s=short_abandon_s)


@st.cache_data(show_spinner=False, max_entries=200)
def tile(db: Source, ver: tuple, kpi_id: str, f: views.Filters) -> views.Tile:
    return views.tile(_store(db), kpi_id, f)


@st.cache_data(show_spinner=False, max_entries=200)
def spc_view(db: Source, ver: tuple, kpi_id: str, f: views.Filters, target: float | None | str = "contract",
             answer_threshold_s: float = catalog.ANSWER_THRESHOLD_S,
             short_abandon_s: float = catalog.SHORT_ABANDON_S) -> views.SpcView:
    return views.spc_view(_store(db), kpi_id, f, target, answer_threshold_s=answer_threshold_s,
                          short_abandon_s=short_abandon_s)


@st.cache_data(show_spinner=False, max_entries=100)
def events(db: Source, ver: tuple, f: views.Filters) -> pd.DataFrame:
    return views.events(_store(db), f)


@st.cache_data(show_spinner=False, max_entries=200)
def target_for(db: Source, ver: tuple, kpi_id: str, f: views.Filters) -> tuple[float | None, str]:
    return views.target_for(_store(db), kpi_id, f)


@st.cache_data(show_spinner="Looking for special-cause signals…", max_entries=50)
def what_changed(db: Source, ver: tuple, f: views.Filters) -> pd.DataFrame:
    return views.what_changed(_store(db), f)


@st.cache_data(show_spinner=False, max_entries=50)
def too_coarse(db: Source, ver: tuple, f: views.Filters) -> pd.DataFrame:
    return views.too_coarse(_store(db), f)


@st.cache_data(show_spinner=False, max_entries=20)
def freshness(db: Source, ver: tuple) -> pd.DataFrame:
    return views.freshness(_store(db))


@st.cache_data(show_spinner=False, max_entries=50)
def has_rows(db: Source, ver: tuple, table: str, vendor: str) -> bool:
    """Whether the vendor sent any row of the table (its claims, say)."""
    return queries.has_rows(_store(db), table, vendor)


def latest_event(db: Source, ver: tuple, vendor: str | None = None) -> Any:
    """The latest event in any table, of one vendor when named (None when there is none): the data cut-off."""
    if vendor is None:
        events = [d for d in freshness(db, ver)["latest event"] if pd.notna(d)]
        return max(events, default=None)
    cut = vendor_cuts(db, ver).get(vendor)
    return None if cut is None else pd.Timestamp(cut)


#: Outlooks are kept on disk (Streamlit's cache in ~/.streamlit/cache) unless OPSDASH_OUTLOOK_CACHE=memory.
OUTLOOK_PERSIST = None if os.environ.get("OPSDASH_OUTLOOK_CACHE", "disk") == "memory" else "disk"


@st.cache_data(show_spinner="Forecasting the next 13 weeks and setting the plans against them…", max_entries=50,
               persist=OUTLOOK_PERSIST)
def outlook(db: Source, ver: tuple, vendor: str, code: str = "") -> Any:
    """A vendor's outlook (capacity.outlook), made once per load and vendor and kept on disk, so a restarted
    dashboard does not forecast again; `code` (the capacity code's fingerprint) keeps a changed model from
    being served an old outlook."""
    from opsdash.capacity import outlook as capacity

    return capacity.outlook(_store(db), vendor)


def kept_version(db: Source) -> tuple[Any, ...]:
    """Changes whenever outlooks are kept, also with no load (`opsdash outlook`): read afresh on every run, the
    key of what is read of them. While another process writes, the one last seen."""
    return _last_seen(db, "outlooks", queries.kept_version)


def _last_seen(db: Source, what: str, read: Callable[[Store], tuple[Any, ...]]) -> tuple[Any, ...]:
    """`read` of the store, remembered per store and `what`: while another process writes, the one last seen."""
    try:
        got = read(_store(db))
    except StoreBusy:
        return _LAST_SEEN.get((db, what), ())
    _LAST_SEEN[(db, what)] = got
    return got


_LAST_SEEN: dict[tuple[Source, str], tuple[Any, ...]] = {}


@st.cache_data(show_spinner=False, max_entries=20)
def kept_headlines(db: Source, ver: tuple, kept: tuple, code: str = "") -> tuple[pd.DataFrame, list[str]]:
    """The headlines of the outlooks kept after the last load, of the vendors the reader may see, and those of
    them with none kept (capacity.outlook.kept_headlines); `kept`: kept_version; `code` as for outlook."""
    from opsdash.capacity import outlook as capacity

    return capacity.kept_headlines(_store(db))


def denials_kept_version(db: Source) -> tuple[Any, ...]:
    """Changes whenever a denial model is kept (after a load, or by `opsdash denials train`): read afresh on
    every run, the key of what is read of it. While another process writes, the one last seen."""
    return _last_seen(db, "denials", queries.denials_kept_version)


@st.cache_data(show_spinner=False, max_entries=20)
def denial_views(db: Source, ver: tuple, kept: tuple) -> list[Any]:
    """The denial model's cards the reader may see, kept for the store as it stands (denials.kept.views)."""
    from opsdash.denials import kept as denials

    return denials.views(_store(db))


@st.cache_data(show_spinner=False, max_entries=20)
def denial_scores(db: Source, ver: tuple, kept: tuple) -> pd.DataFrame:
    """The open claims' kept scores the reader may see, highest dollars at risk first."""
    from opsdash.denials import kept as denials

    return denials.scores(_store(db))


@st.cache_data(show_spinner=False, max_entries=20)
def vendor_cuts(db: Source, ver: tuple) -> dict[str, dt.date]:
    """Each vendor's data cut-off over every table (metrics.data_cut), for the vendors this reader may see."""
    store = _store(db)
    cuts = {v: metrics.data_cut(store, tuple(catalog.EVENT_TIMES), (v,)) for v in sla.vendors(store)}
    return {v: c for v, c in cuts.items() if c is not None}


@st.cache_data(show_spinner="Scoring every contract level month by month…", max_entries=50)
def attainment(db: Source, ver: tuple, start: dt.date, end: dt.date, vendors: tuple[str, ...]) -> pd.DataFrame:
    return sla.attainment(_store(db), start, end, vendors_=list(vendors) or None, settings=load_settings())


@st.cache_data(show_spinner=False, max_entries=50)
def dimension_values(db: Source, ver: tuple, table: str, column: str) -> list[str]:
    return metrics.dimension_values(_store(db), table, column)


@st.cache_data(show_spinner=False, max_entries=50)
def process_codes(db: Source, ver: tuple, kpi: str | None) -> list[str] | None:
    """The process and queue codes in the records of `kpi` (of every table with them when None); None when the
    KPI's records have none."""
    from opsdash import annotations

    return annotations.process_codes(_store(db).fetchall, kpi)


@st.cache_data(show_spinner=False, max_entries=50)
def distribution(db: Source, ver: tuple, f: views.Filters) -> pd.DataFrame:
    return views.distribution(_store(db), f)


@st.cache_data(show_spinner=False, max_entries=100)
def counts_by(db: Source, ver: tuple, row_set: str, column: str, f: views.Filters) -> pd.DataFrame:
    return views.counts_by(_store(db), row_set, column, f)


@st.cache_data(show_spinner="Counting calls by hour…", max_entries=50)
def calls_by_hour(db: Source, ver: tuple, f: views.Filters, answer: float, short: float) -> pd.DataFrame:
    return views.calls_by_hour(_store(db), f, answer, short)


@st.cache_data(show_spinner="Reading the records…", max_entries=50)
def raw_rows(db: Source, ver: tuple, table: str, f: views.Filters) -> tuple[pd.DataFrame, int]:
    return views.raw_rows(_store(db), table, f)


def all_raw_rows(db: Source, table: str, f: views.Filters, limit: int) -> pd.DataFrame:
    """Every filtered row, up to `limit`, for a download made on click (not cached: it can be large)."""
    return views.raw_rows(_store(db), table, f, limit)[0]


@st.cache_data(show_spinner="Scoring the contract levels…", max_entries=50)
def scorecard(db: Source, ver: tuple, vendor: str, period: str, grain: str) -> sla.Scorecard:
    return sla.scorecard(_store(db), vendor, period, grain=grain, settings=load_settings())


@st.cache_data(show_spinner="Scoring the previous period like for like…", max_entries=50)
def scorecard_levels(db: Source, ver: tuple, vendor: str, period: str,
                     grain: str) -> tuple[pd.DataFrame, periods.Window, periods.Window]:
    """The scorecard's levels with the previous period's values (like for like when the period runs to date),
    the period as the data covers it, and the period it is compared with."""
    store, settings = _store(db), load_settings()
    card = sla.scorecard(store, vendor, period, grain=grain, settings=settings)
    window = sla.data_window(store, vendor, card.start, grain)
    return sla.with_previous(store, card, vendor, grain, settings), window, periods.like_for_like(window)


@st.cache_data(show_spinner="Reconciling reported figures…", max_entries=50)
def reconcile(db: Source, ver: tuple, vendor: str | None) -> pd.DataFrame:
    return sla.reconcile(_store(db), vendor)


def benchmarks_version(db: Source) -> tuple:
    """What changes when a portfolio benchmark is loaded (no load changes it)."""
    return queries.benchmarks_version(_store(db))


@st.cache_data(show_spinner=False, max_entries=50)
def benchmark_table(db: Source, bench_ver: tuple, vendor: str, through: Any) -> tuple[pd.DataFrame, str]:
    return views.benchmark_table(_store(db), vendor, through)


@st.cache_data(show_spinner=False, max_entries=20)
def vendors(db: Source, ver: tuple) -> list[str]:
    return sla.vendors(_store(db))


def require_vendors(db: Source, ver: tuple) -> list[str]:
    """The vendors this reader may see, or a message and the end of the page when there are none."""
    known = vendors(db, ver)
    if not known:
        st.info("No vendor data loaded yet.")
        st.stop()
    return known


#: The Loads page's columns, as people read them.
LOAD_HEADINGS = {"load_id": "Load", "file_name": "File", "table_name": "Table", "mapping_name": "Mapping",
                 "rows_read": "Rows read", "rows_loaded": "Loaded", "rows_rejected": "Rejected",
                 "rows_replaced": "Replaced", "phi_columns_dropped": "PHI columns dropped", "sha256": "SHA-256",
                 "loaded_by": "Loaded by", "finished_at": "Loaded at"}
REJECT_HEADINGS = {"load_id": "Load", "file_name": "File", "line": "Line", "column_name": "Column", "kind": "Kind",
                   "reason": "Reason", "raw_values": "Raw values (SSNs masked)"}


@st.cache_data(show_spinner=False, max_entries=20)
def load_history(db: Source, ver: tuple) -> pd.DataFrame:
    df = queries.load_history(_store(db)).iloc[::-1].reset_index(drop=True)  # newest first
    return df[list(LOAD_HEADINGS)].rename(columns=LOAD_HEADINGS)


@st.cache_data(show_spinner=False, max_entries=20)
def rejected_rows(db: Source, ver: tuple) -> pd.DataFrame:
    return queries.rejects(_store(db)).rename(columns=REJECT_HEADINGS)


@st.cache_data(show_spinner=False, max_entries=20)
def outside_window(db: Source, ver: tuple) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rows left out because a date of theirs lies outside the reported dates: by column and load, and per table."""
    store = _store(db)
    return views.outside_window(store), queries.outside_rows(store)


@st.cache_data(show_spinner=False, max_entries=20)
def row_counts(db: Source, ver: tuple) -> dict[str, int]:
    return _store(db).table_counts()


@st.cache_data(show_spinner=False, max_entries=20)
def review_pack(db: Source, ver: tuple, vendor: str, period: str, grain: str) -> dict[str, bytes]:
    """The pack's files by format, with the numbers of the scorecard on screen (made on request)."""
    from opsdash import report

    pack = report.build(_store(db), vendor, period, grain=grain, settings=load_settings())
    out = {fmt: report.render(pack, fmt) for fmt in ("html", "xlsx")}
    try:
        out["pdf"] = report.render(pack, "pdf")
    except report.pdf.PdfError as exc:  # no Chromium on this machine: the other formats still come
        st.warning(md(exc))
    return {fmt: out[fmt] for fmt in ("pdf", "html", "xlsx") if fmt in out}


def review_pack_stem(vendor: str, period: str) -> str:
    from opsdash.report.pack import file_stem

    return file_stem(vendor, period)


def alerts_version() -> tuple[Any, ...]:
    """The alerts' own version (raised, sent, acknowledged), read afresh on every run: the Alerts page's key."""
    return queries.alerts_version(_store(source()))


@st.cache_data(show_spinner=False, max_entries=20)
def alerts(src: Source, alerts_ver: tuple) -> pd.DataFrame:
    """The newest alerts of the reader's vendors (an alert about loads only for admins)."""
    return queries.alerts(_store(src))


@st.cache_data(show_spinner=False, max_entries=20)
def outbox(src: Source, alerts_ver: tuple) -> pd.DataFrame:
    return queries.outbox(_store(src))


def acknowledge_alert(key: str, user: str, note: str) -> int:
    """Record an acknowledgement through this process's writer (the next rerun reads the changed version)."""
    import datetime as dt

    with _pool(path()).writer(wait=5.0) as s:
        return queries.acknowledge_alert(s, key, user, note, dt.datetime.now(dt.UTC).replace(tzinfo=None))
