"""The named queries: one where-builder, values bound, identifiers only from declarations; figures against pandas."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from opsdash import catalog, contract, queries, views

HELIX = "Helix Health Services"
HOSTILE = ("x'); DROP TABLE claims; --", "Ana's \"Billing\" $f0 \\N", "\x00\n\t", "Zoë ⚕ 醫院", "' OR '1'='1")


def test_where_binds_every_value_and_numbers_its_parameters():
    w = (queries.Where("f").values_in("vendor", [HELIX, 7]).equals("payer", HOSTILE[0])
         .on_or_after("received_date", dt.date(2026, 1, 1)).on_or_before("received_date", None).rows("true"))
    assert w.sql == ('(list_contains($f0, CAST("vendor" AS VARCHAR))) AND ("payer" = $f1) AND '
                     '(CAST("received_date" AS DATE) >= $f2) AND (true)')
    assert w.params == {"f0": [HELIX, "7"], "f1": HOSTILE[0], "f2": dt.date(2026, 1, 1)}
    assert all(v not in w.sql for v in HOSTILE)
    assert queries.Where().sql == "true"


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_filter_values_are_data_not_sql(sample_store, text):
    """Any text a link or a picker can carry reaches DuckDB as a value: it matches nothing and changes nothing."""
    before = queries.row_count(sample_store, "claims")
    f = views.Filters(vendors=(text,), facilities=(text,))
    assert views.counts_by(sample_store, "denied_claims", "denial_reason", f).empty
    rows, total = views.raw_rows(sample_store, "claims", f, limit=10)
    assert rows.empty and total == 0
    assert queries.events(sample_store, [text], None, None).empty
    assert not queries.has_rows(sample_store, "claims", text)
    assert queries.row_count(sample_store, "claims") == before


def test_identifiers_come_only_from_declarations(sample_store):
    with pytest.raises(ValueError, match="not a column claims can be filtered by"):
        queries.reported_rows("claims", {"claim_id = claim_id OR vendor": ["x"]}, "received_date", None, None)
    with pytest.raises(ValueError, match="not a date or time column of claims"):
        queries.reported_rows("claims", {}, "received_date DESC; DROP TABLE claims", None, None)
    with pytest.raises(ValueError, match="not a dimension"):
        queries.counts_by(sample_store, "denied_claims", "payer; --", {}, None, None)
    with pytest.raises(KeyError):
        queries.counts_by(sample_store, "initial_outcome = 'denied'", "payer", {}, None, None)
    with pytest.raises(KeyError):
        queries.raw_rows(sample_store, "loads", {}, None, None, 10)
    with pytest.raises(ValueError, match="not a column of claims"):
        queries.distinct_values(sample_store.fetchall, [("claims", "payer) FROM loads --")])


def test_every_declared_row_set_and_listing_time_names_real_columns():
    for rs in catalog.ROW_SETS.values():
        assert rs.time_column in catalog.TIME_COLUMNS[rs.table], rs.id
        assert rs.label and rs.label[0].isupper()
    for table, column in contract.LISTED_BY.items():
        assert column in catalog.TIME_COLUMNS[table], table


def test_row_sets_count_what_pandas_counts(sample_store):
    c = sample_store.query("SELECT * FROM claims")
    q = sample_store.query("SELECT * FROM qa_audits")
    f = views.Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30))
    for row_set, frame, keep, when, column in (
            ("denied_claims", c, c["initial_outcome"] == "denied", "adjudicated_date", "payer"),
            ("audits_with_errors", q, q["errors"] > 0, "audit_date", "error_category")):
        d = pd.to_datetime(frame[when])
        sel = frame[keep & (d >= "2026-01-01") & (d <= "2026-06-30") & frame[column].notna()]
        got = views.counts_by(sample_store, row_set, column, f)
        assert dict(zip(got[column], got["rows"])) == sel[column].value_counts().to_dict() != {}
        assert list(got["rows"]) == sorted(got["rows"], reverse=True)


def test_vendors_and_has_rows_agree_with_the_tables(sample_store):
    every = set()
    for table in catalog.DIMENSIONS:
        every |= set(sample_store.query(f"SELECT DISTINCT vendor FROM {table}")["vendor"])
    assert queries.vendors(sample_store) == sorted(every)
    w = sample_store.query("SELECT * FROM work_items WHERE vendor = ?", [HELIX])
    first = w["opened_at"].min().date()
    assert queries.has_rows(sample_store, "work_items", HELIX, first, first)
    assert not queries.has_rows(sample_store, "work_items", HELIX, dt.date(2001, 1, 1), dt.date(2001, 12, 31))


def test_load_history_and_rejects_are_the_load_records(sample_store):
    loads = queries.load_history(sample_store)
    stored = sample_store.query("SELECT load_id, file_name, rows_loaded FROM loads ORDER BY load_id")
    assert loads[["load_id", "file_name", "rows_loaded"]].equals(stored)
    rejects = sample_store.query("SELECT load_id, count(*) AS n FROM rejects GROUP BY 1")
    for load_id, n in zip(rejects["load_id"], rejects["n"]):
        assert len(queries.rejects(sample_store, int(load_id))) == n
    assert len(queries.rejects(sample_store)) == int(rejects["n"].sum())
    assert queries.load_exists(sample_store, int(stored["load_id"].iloc[0]))
    assert not queries.load_exists(sample_store, 10**9)


def test_the_version_of_a_store_from_before_the_events_table_is_its_loads(store, tmp_path):
    from opsdash.store import Store

    with store.transaction() as tx:
        tx.execute("DROP TABLE events")
    store.close()
    with Store(store.path, read_only=True) as old:
        assert queries.version(old) == (None, 0, None)
    with Store(store.path) as fresh:  # opened for writing, the table is made again, and the version has its count
        assert queries.version(fresh) == (None, 0, None, 0, None)
