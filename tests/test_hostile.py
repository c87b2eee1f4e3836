"""Hostile input, property-based (hypothesis): random bytes, random CSV dialects and random values go into
ingestion and the engine. Nothing crashes, nothing is half-stored, every row read is loaded or rejected."""

from __future__ import annotations

import csv
import io
import itertools
import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from opsdash import catalog, metrics
from opsdash.ingest.loader import load_file
from opsdash.store import Store

# In CI the examples are fixed (derandomize), so a run is repeatable; elsewhere every run tries new ones.
# OPSDASH_HYPOTHESIS_EXAMPLES raises the count for a longer hunt.
SETTINGS = settings(max_examples=int(os.environ.get("OPSDASH_HYPOTHESIS_EXAMPLES", "40")), deadline=None,
                    derandomize=bool(os.environ.get("CI")), database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
_n = itertools.count()

CLAIM_COLUMNS = ["claim_id", "vendor", "received_date", "submitted_date", "payer", "billed_amount"]
NASTY = st.sampled_from(["", " ", "'; DROP TABLE claims; --", "=HYPERLINK(\"x\")", "<script>alert(1)</script>",
                         "123-45-6789", "\"quoted\"", "line\nbreak", "tab\tinside", "semi;colon", "é ü 中文", "NaN",
                         "inf", "-1", "1e309", "2026-02-30", "2026-01-05", "0", "NULL", "\\N"])


def _counts(store: Store) -> tuple:
    return (tuple(store.table_counts().values()), store.fetchone("SELECT count(*) FROM loads")[0],
            store.fetchone("SELECT count(*) FROM rejects")[0])


def _check(store: Store, rep, before: tuple) -> None:
    """A file either loads with every row accounted for, or leaves the store exactly as it was."""
    after = _counts(store)
    if rep.status == "loaded":
        assert rep.rows_read == rep.rows_loaded + rep.rows_rejected + rep.rows_skipped
        assert after[1] == before[1] + 1
        assert after[2] - before[2] == rep.rows_rejected + rep.rows_skipped
        assert sum(after[0]) - sum(before[0]) == rep.rows_loaded - rep.rows_replaced - rep.rows_superseded
    else:
        assert rep.status in ("refused", "duplicate") and rep.message
        assert after == before


@pytest.fixture(scope="module")
def hstore(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("hostile") / "h.duckdb")
    yield s
    s.close()


@SETTINGS
@given(data=st.binary(max_size=4000), ext=st.sampled_from([".csv", ".txt", ".xlsx", ".parquet"]))
def test_random_bytes_never_crash_or_half_load(hstore, tmp_path_factory, data, ext):
    path = tmp_path_factory.getbasetemp() / f"random_{next(_n)}{ext}"
    path.write_bytes(data)
    before = _counts(hstore)
    _check(hstore, load_file(hstore, path), before)


VALID_ROW = st.builds(
    lambda i, v, d, lag, payer, amount: [f"C{i}", v, f"2026-01-{d:02d}", f"2026-01-{min(28, d + lag):02d}", payer,
                                         f"{amount:.2f}"],
    st.integers(0, 999), st.sampled_from(["Acme", "Bmed", "Ibérica"]), st.integers(1, 28), st.integers(0, 5),
    NASTY | st.text(max_size=12), st.floats(0, 1e6))
RANDOM_ROW = st.lists(NASTY | st.text(max_size=12), min_size=len(CLAIM_COLUMNS), max_size=len(CLAIM_COLUMNS))


@SETTINGS
@given(rows=st.lists(VALID_ROW | RANDOM_ROW, max_size=25),
       delimiter=st.sampled_from([",", ";", "\t", "|"]),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
       newline=st.sampled_from(["\n", "\r\n"]), encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
def test_random_csv_dialects_and_values_are_loaded_or_rejected_row_by_row(hstore, tmp_path_factory, rows, delimiter,
                                                                         quoting, newline, encoding):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator=newline)
    w.writerow(CLAIM_COLUMNS)
    w.writerows(rows)
    path = tmp_path_factory.getbasetemp() / f"dialect_{next(_n)}.csv"
    path.write_bytes(buf.getvalue().encode(encoding, errors="replace"))
    before = _counts(hstore)
    rep = load_file(hstore, path)
    _check(hstore, rep, before)
    if rep.status == "loaded":  # no text that looks like an SSN is kept anywhere
        assert hstore.fetchone("SELECT count(*) FROM claims WHERE regexp_matches(concat_ws('|', COLUMNS(*)), "
                               "'\\b\\d{3}-\\d{2}-\\d{4}\\b')")[0] == 0
        assert hstore.fetchone("SELECT count(*) FROM rejects WHERE regexp_matches(raw_values, "
                               "'\\b\\d{3}-\\d{2}-\\d{4}\\b')")[0] == 0


@SETTINGS
@given(value=NASTY | st.text(max_size=40), kpi_id=st.sampled_from(list(catalog.KPIS)), grain=st.sampled_from(
    [*catalog.GRAINS, None]))
@example(value="urgent", kpi_id="overdue_backlog", grain=None)  # values the sample holds, so both branches run
@example(value="Helix Health Services", kpi_id="overdue_backlog", grain="month")
@example(value="Helix Health Services", kpi_id="turnaround_hours", grain="week")
def test_any_filter_value_is_data_never_sql(sample_store, value, kpi_id, grain):
    table = catalog.KPIS[kpi_id].table
    before = sample_store.table_counts()
    for col in catalog.DIMENSIONS[table]:
        got = metrics.series(sample_store, kpi_id, grain=grain, by=[col], where={col: [value]})
        if value in metrics.dimension_values(sample_store, table, col):  # a value the data holds: its own figures
            whole = metrics.series(sample_store, kpi_id, grain=grain, by=[col])
            mine = whole[whole[col].astype("string") == value].reset_index(drop=True)
            if grain is None:  # one value over the whole range, which starts at this value's first row
                got, mine = got.drop(columns="period_start"), mine.drop(columns="period_start")
            else:  # the filtered range starts at this value's first period; a backlog's group enters there too
                mine = mine[mine["period_start"] >= got["period_start"].min()].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, mine, check_dtype=False)
        else:  # no row matches: no period, no group, not even a backlog of nothing
            assert got.empty, (kpi_id, col, got)
    assert sample_store.table_counts() == before


@pytest.mark.parametrize("data, name", [(b"\xc2", "cut.csv"), (b"claim_id,vendor\xe2\x82", "cut.csv"),
                                        (b"\xff\xfe\x00", "cut.csv"), (b"PK\x03\x04", "zip.csv")])
def test_files_the_random_tests_found_crashing_are_refused_cleanly(hstore, tmp_path, data, name):
    """Found by the random-bytes test: one byte of a two-byte UTF-8 character crashed the header read, and
    a zip header in a file named .csv crashed the workbook reader (openpyxl judges by the name)."""
    path = tmp_path / name
    path.write_bytes(data)
    before = _counts(hstore)
    _check(hstore, load_file(hstore, path), before)
