"""No stored value breaks a page (issue 11, item 1): the extreme dates and times DuckDB can hold, written
straight into every date and time column of every table (and into load and audit times), leave every page,
the CLI's figures, raw downloads and the review pack working, with the same figures as without those rows,
and a notice that names the load they came from."""

from __future__ import annotations

import datetime as dt
import io
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from opsdash import catalog, contract, downloads, labels, metrics, queries, views
from opsdash.cli import main
from opsdash.periods import READ_FROM, READ_TO
from opsdash.store import Store
from tests.conftest import ROOT
from tests.extremes import EXTREME_FILE, add_extremes
from tests.helpers import overview_tiles

PAGES = ["overview", "claims", "quality", "sla", "contact_centre", "scorecard", "data", "loads", "upload", "audit"]


@pytest.fixture(scope="session")
def extremes(tmp_path_factory, sample_store) -> Store:
    path = tmp_path_factory.mktemp("extremes") / "x.duckdb"
    shutil.copy(sample_store.path, path)  # the sample as loaded once per session, not loaded again
    add_extremes(path)
    s = Store(path, read_only=True)
    yield s
    s.close()


@pytest.fixture(scope="session")
def year_10000(tmp_path_factory, sample_store) -> Store:
    """The issue's reproduction: the sample plus one claim received on 10000-01-01."""
    path = tmp_path_factory.mktemp("y10000") / "y.duckdb"
    shutil.copy(sample_store.path, path)
    with Store(path) as s, s.transaction() as tx:
        tx.execute("INSERT INTO claims (claim_id, vendor, received_date, _load_id, _line) "
                   "VALUES ('Y9', 'Meridian Revenue Partners', DATE '10000-01-01', 1, 2)")
    s = Store(path, read_only=True)
    yield s
    s.close()


def _app(monkeypatch, db, page: str, params: dict | None = None) -> AppTest:
    import streamlit as st

    st.cache_data.clear()
    monkeypatch.setenv("OPSDASH_DB", str(db))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py")
        at.run()
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_survives_every_extreme(monkeypatch, extremes, page):
    at = _app(monkeypatch, extremes.path, page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title and at.title[0].value
    notice = [w.value for w in at.warning if "left out of every figure" in w.value]
    assert notice and EXTREME_FILE.replace(".", "\\.") in notice[0] and catalog.WINDOW_WORDS in notice[0]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_survives_a_year_10000_claim(monkeypatch, year_10000, page):
    at = _app(monkeypatch, year_10000.path, page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_the_figures_are_those_without_the_extreme_rows(monkeypatch, extremes, sample_store):
    """The left-out rows change nothing: the Overview's tiles and the date filter's bounds are the sample's."""
    got, want = _app(monkeypatch, extremes.path, "overview"), _app(monkeypatch, sample_store.path, "overview")
    assert overview_tiles(got) == overview_tiles(want) != {}
    assert got.date_input(key="dates").value == want.date_input(key="dates").value
    for kpi_id in catalog.KPIS:
        for grain in ("day", "month"):
            a = metrics.series(extremes, kpi_id, grain=grain, by=("vendor",))
            b = metrics.series(sample_store, kpi_id, grain=grain, by=("vendor",))
            pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_the_loads_page_lists_the_rows_left_out(monkeypatch, extremes):
    at = _app(monkeypatch, extremes.path, "loads")
    table = next(d.value for d in at.dataframe if "earliest" in d.value.columns)
    # As people read it: the tables' and columns' labels (the download keeps the machine names).
    want = {(spec.label, labels.column(c).label) for t, spec in contract.TABLES.items() for c in catalog.time_columns(t)}
    assert set(zip(table["table"], table["column"])) == want
    assert set(table["file"]) == {EXTREME_FILE}
    row = table[(table["table"] == "Claims") & (table["column"] == "Received date")].iloc[0]
    assert row["rows"] == 10 and row["earliest"] == "-infinity" and row["latest"] == "infinity"
    # one per time column and value, each counted once
    assert queries.outside_rows(extremes)["claims"] == 10 * len(catalog.time_columns("claims"))


def test_periods_never_start_after_as_of_nor_before_the_window(extremes):
    for kpi_id in catalog.KPIS:
        s = metrics.series(extremes, kpi_id, grain="day")
        as_of = metrics.default_as_of(extremes, catalog.KPIS[kpi_id].table)
        assert s.empty or (s["period_start"].max() <= as_of.date() and s["period_start"].min() >= catalog.READ_FROM)
    # An as-of or a range asked for beyond the window is cut to it, not stretched over centuries.
    s = metrics.series(extremes, "work_volume", grain="quarter", start=dt.date(1, 1, 1), end=dt.date(9999, 12, 31),
                       as_of=dt.datetime(9999, 12, 31))
    assert s["period_start"].min() == catalog.READ_FROM and s["period_start"].max() <= catalog.READ_TO


def test_raw_downloads_and_the_review_pack(extremes):
    from opsdash import report

    assert set(contract.LISTED_BY) == set(contract.TABLES)
    for table in contract.LISTED_BY:
        rows, total = views.raw_rows(extremes, table, views.Filters(), limit=10_000_000)
        assert len(rows) == total == extremes.fetchone(f"SELECT count(*) FROM {table}")[0] - queries.outside_rows(extremes)[table]
        # Why downloads are safe: no value outside the reported dates reaches the rows shown.
        for col in catalog.TIME_COLUMNS[table]:
            values = pd.to_datetime(rows[col].dropna())
            assert values.empty or (values.min() >= pd.Timestamp(READ_FROM)
                                    and values.max() < pd.Timestamp(READ_TO + dt.timedelta(days=1))), (table, col)
        back = downloads.read_csv(downloads.csv_bytes(rows, {}, table))
        assert len(back) == len(rows)
        # The workbook of the first rows (openpyxl takes about 12 s for all 47,000 claims; the rows are the ones
        # checked above either way).
        assert downloads.xlsx_bytes(rows.head(2000), {}, table)[:2] == b"PK"
    pack = report.build(extremes, "Meridian Revenue Partners", "2026-10")
    assert report.render(pack, "html") and report.render(pack, "xlsx")[:2] == b"PK"


@pytest.mark.parametrize("args", [
    ["kpi", "clean_claim_rate", "--grain", "day"], ["kpi", "overdue_backlog", "--by", "vendor"],
    ["kpi", "unbilled_backlog", "--format", "csv"], ["scorecard", "--vendor", "Meridian Revenue Partners", "--period", "2026-10"],
    ["reconcile"], ["loads"], ["loads", "--format", "csv"], ["rejects"]])
def test_the_cli_survives_every_extreme(extremes, args):
    r = CliRunner().invoke(main, [*args, "--db", str(extremes.path)])
    assert r.exit_code == 0, r.output
    assert "Error" not in r.output and "out of range" not in r.output


def test_the_cli_report_survives_every_extreme(extremes, tmp_path):
    r = CliRunner().invoke(main, ["report", "--vendor", "Meridian Revenue Partners", "--period", "2026-10",
                                  "--format", "html", "--format", "xlsx", "--out", str(tmp_path), "--db",
                                  str(extremes.path)])
    assert r.exit_code == 0, r.output
    assert len(list(tmp_path.glob("*.html"))) == 1


def test_time_columns_are_the_contracts():
    got = {t: {c.name: str(c.type) for c in spec.columns if str(c.type) in ("date", "timestamp")}
           for t, spec in contract.TABLES.items()}
    assert got == catalog.TIME_COLUMNS
