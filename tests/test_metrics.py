"""Every KPI x grain x breakdown from the engine equals an independent pandas computation from the raw rows.

The fixture is small and made of edge cases: empty periods, zero denominators, claims crossing period ends,
ISO weeks spanning a year end, SLA items due exactly at completion, open items past due, items with only the
source system's verdict (with and without a completed_at column), short abandons exactly at the window,
answers exactly at the threshold, empty breakdown values.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from opsdash import catalog, metrics, rollups
from opsdash.ingest.loader import load_file
from opsdash.store import Store
from tests.helpers import csv_text, load_clean, table_csv
from tests.kpi_reference import reference

CLAIMS = [
    # id, vendor, facility, payer, received, submitted, clean, adjudicated, outcome
    ("C1", "A", "North", "Aetna", "2025-12-29", "2025-12-31", "true", "2026-01-09", "paid"),
    ("C2", "A", "North", "Aetna", "2025-12-31", "2026-01-02", "false", "2026-01-20", "denied"),   # crosses year end
    ("C3", "A", "", "Cigna", "2026-01-04", "2026-01-05", "true", "2026-02-02", "denied"),          # no facility
    ("C4", "A", "South", "Cigna", "2026-01-31", "2026-02-01", "true", "2026-02-27", "partially_paid"),  # crosses month end
    ("C5", "B", "South", "Aetna", "2026-02-10", "2026-02-20", "", "2026-03-15", "paid"),           # clean unknown
    ("C6", "B", "South", "Aetna", "2026-02-11", "", "", "", ""),                                    # never billed
    ("C7", "B", "North", "Cigna", "2026-04-02", "2026-04-03", "", "", ""),                          # April: zero denominator
    ("C8", "A", "North", "Aetna", "2026-04-28", "2026-05-06", "true", "", ""),                      # submitted after as-of
    ("C9", "B", "North", "Aetna", "2026-01-15", "2026-01-30", "true", "2026-02-10", "denied"),
    ("C10", "A", "South", "Cigna", "2026-02-27", "2026-03-31", "false", "", ""),
]
AUDITS = [
    ("Q1", "A", "coding", "2025-12-30", "North", 10, 0, 0, ""),
    ("Q2", "A", "coding", "2026-01-02", "South", 20, 3, 1, "wrong code"),
    ("Q3", "A", "billing", "2026-01-20", "North", 5, 1, "", "charge entry"),
    ("Q4", "B", "coding", "2026-02-02", "", 8, 0, "", ""),
    ("Q5", "B", "billing", "2026-04-01", "South", 12, 2, 0, "wrong payer"),
]
ITEMS = [
    # id, vendor, process, priority, facility, opened, due, completed, sla_met
    ("W1", "A", "coding", "stat", "North", "2026-01-05 08:00", "2026-01-05 09:00", "2026-01-05 09:00", ""),  # due exactly at completion
    ("W2", "A", "coding", "routine", "North", "2026-01-05 08:00", "2026-01-06 08:00", "2026-01-06 08:01", ""),
    ("W3", "A", "prior_auth", "routine", "South", "2026-01-30 22:00", "2026-02-02 22:00", "", ""),        # open, past due
    ("W4", "B", "prior_auth", "stat", "", "2026-03-30 10:00", "2026-04-30 10:00", "", ""),               # due after as-of
    ("W5", "B", "coding", "routine", "South", "2026-02-01 09:00", "", "2026-02-03 09:00", "true"),        # verdict only
    ("W6", "B", "coding", "routine", "South", "2026-02-01 09:00", "", "", "false"),                       # verdict, open
    ("W7", "A", "coding", "routine", "North", "2025-12-31 23:00", "2026-01-01 01:00", "2026-01-03 00:00", ""),
    ("W8", "A", "coding", "stat", "North", "2026-03-02 08:00", "2026-03-02 09:00", "2026-04-20 12:00", ""),  # completed after as-of
    ("W9", "B", "coding", "routine", "North", "2026-04-28 08:00", "2026-04-30 18:00", "2026-04-29 09:00", ""),  # due after as-of, done early
]
ITEMS_WITHOUT_COMPLETION_COLUMN = [("S1", "C", "scheduling", "routine", "2026-02-05 10:00", "true"),
                                   ("S2", "C", "scheduling", "routine", "2026-02-06 10:00", "false")]
CALLS = [
    # id, vendor, queue, offered, answered, abandoned, handle, fcr
    ("K1", "A", "scheduling", "2026-01-05 09:00:00", "2026-01-05 09:00:30", "", "200", "true"),   # answered at threshold
    ("K2", "A", "scheduling", "2026-01-05 09:01:00", "2026-01-05 09:01:31", "", "", "false"),     # just over, no handle
    ("K3", "A", "billing", "2026-01-05 09:02:00", "", "2026-01-05 09:02:05", "", ""),              # short abandon (5 s)
    ("K4", "A", "billing", "2026-01-06 09:03:00", "", "2026-01-06 09:03:05.5", "", ""),            # not short
    ("K5", "B", "scheduling", "2026-01-12 10:00:00", "2026-01-12 10:00:10", "", "300", ""),
    ("K6", "B", "scheduling", "2026-03-02 10:00:00", "", "2026-03-02 10:01:00", "", ""),
    ("K7", "B", "billing", "2026-03-31 23:59:00", "2026-04-01 00:00:20", "", "100", "true"),      # answered next month
]
AS_OF = dt.datetime(2026, 4, 30, 12, 0)


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    d = tmp_path_factory.mktemp("kpi")
    files = {
        "claims.csv": table_csv(("claim_id", "vendor", "facility", "payer", "received_date", "submitted_date",
                            "clean_submission", "adjudicated_date", "initial_outcome"), CLAIMS),
        "qa.csv": table_csv(("audit_id", "vendor", "process", "audit_date", "facility", "opportunities", "errors",
                        "critical_errors", "error_category"), AUDITS),
        "items.csv": table_csv(("item_id", "vendor", "process", "priority", "facility", "opened_at", "due_at",
                           "completed_at", "sla_met"), ITEMS),
        "verdicts.csv": table_csv(("item_id", "vendor", "process", "priority", "opened_at", "sla_met"),
                             ITEMS_WITHOUT_COMPLETION_COLUMN),
        "calls.csv": table_csv(("call_id", "vendor", "queue", "offered_at", "answered_at", "abandoned_at",
                           "handle_seconds", "first_contact_resolved"), CALLS),
    }
    store = Store(d / "kpi.duckdb")
    load_clean(store, d, files)
    yield store
    store.close()


def raw(store, table):
    return store.query(f"SELECT * FROM {table}"), store.query("SELECT load_id, columns_present FROM loads")


BREAKDOWNS = {
    "claims": [(), ("vendor",), ("payer", "facility")],
    "qa_audits": [(), ("vendor",), ("process", "facility")],
    "work_items": [(), ("vendor",), ("process", "priority")],
    "calls": [(), ("vendor",), ("vendor", "queue")],
}
CASES = [(k, g, by) for k, kpi in catalog.KPIS.items() for g in (*catalog.GRAINS, None)
         for by in BREAKDOWNS[kpi.table]]


def assert_same(got: pd.DataFrame, want: pd.DataFrame, by) -> None:
    key = ["period_start", *by]
    if want.empty:
        assert got.empty, got
        return
    got = got.copy()
    for c in by:
        got[c] = got[c].astype(object).where(got[c].notna(), None)
        want[c] = want[c].astype(object).where(want[c].notna(), None)
    g = got.set_index(key).sort_index()
    w = want.set_index(key).sort_index()
    assert list(g.index) == list(w.index)
    for col in w.columns:
        a = pd.to_numeric(g[col], errors="coerce").astype(float).to_numpy()
        b = pd.to_numeric(w[col], errors="coerce").astype(float).to_numpy()
        assert np.allclose(a, b, equal_nan=True, rtol=1e-9, atol=1e-12), (col, g[col].tolist(), w[col].tolist())


@pytest.mark.parametrize("kpi_id, grain, by", CASES, ids=[f"{k}-{g}-{'+'.join(b) or 'all'}" for k, g, b in CASES])
def test_engine_equals_pandas(fx, kpi_id, grain, by):
    kpi = catalog.KPIS[kpi_id]
    df, loads = raw(fx, kpi.table)
    got = metrics.series(fx, kpi_id, grain=grain, by=by, as_of=AS_OF)
    want = reference(kpi_id, kpi.kind, kpi.table, df, loads, grain, list(by), pd.Timestamp(AS_OF))
    assert list(got.columns) == metrics.columns(kpi, by)
    assert_same(got, want, list(by))


ROLLUP_CASES = [c for c in CASES if rollups.for_kpi(catalog.KPIS[c[0]]) or rollups.for_backlog(catalog.KPIS[c[0]])]


@pytest.mark.parametrize("kpi_id, grain, by", ROLLUP_CASES,
                         ids=[f"{k}-{g}-{'+'.join(b) or 'all'}" for k, g, b in ROLLUP_CASES])
def test_engine_equals_pandas_from_rollups(fx, kpi_id, grain, by):
    """At the default as-of (the latest event) KPIs with daily roll-ups are read from them: same figures."""
    kpi = catalog.KPIS[kpi_id]
    df, loads = raw(fx, kpi.table)
    as_of = metrics.default_as_of(fx, kpi.table)
    got = metrics.series(fx, kpi_id, grain=grain, by=by)
    want = reference(kpi_id, kpi.kind, kpi.table, df, loads, grain, list(by), pd.Timestamp(as_of))
    assert_same(got, want, list(by))


@pytest.mark.parametrize("kpi_id", list(catalog.KPIS))
def test_range_filters_and_default_as_of(fx, kpi_id):
    kpi = catalog.KPIS[kpi_id]
    dim = catalog.DIMENSIONS[kpi.table][0]
    df, loads = raw(fx, kpi.table)
    start, end = dt.date(2026, 1, 1), dt.date(2026, 2, 28)
    where = {dim: ["A", "C"]}
    as_of = metrics.default_as_of(fx, kpi.table)
    got = metrics.series(fx, kpi_id, grain="week", by=[dim], where=where, start=start, end=end)
    want = reference(kpi_id, kpi.kind, kpi.table, df, loads, "week", [dim], pd.Timestamp(as_of), start, end, where)
    assert_same(got, want, [dim])


def test_default_as_of_is_the_latest_event_never_a_due_time(fx):
    assert metrics.default_as_of(fx, "claims") == dt.datetime(2026, 5, 6)
    assert metrics.default_as_of(fx, "work_items") == dt.datetime(2026, 4, 29, 9, 0)  # W9 done; due times (04-30) never count
    assert metrics.default_as_of(fx, "calls") == dt.datetime(2026, 4, 1, 0, 0, 20)


@pytest.mark.parametrize("answer, short", [(30, 5), (20, 5), (31, 0), (30, 6)])
def test_call_thresholds(fx, answer, short):
    df, loads = raw(fx, "calls")
    for kpi_id in ("service_level", "abandonment_rate", "average_speed_of_answer_s"):
        kind = catalog.KPIS[kpi_id].kind
        got = metrics.series(fx, kpi_id, grain="month", as_of=AS_OF, answer_threshold_s=answer, short_abandon_s=short)
        want = reference(kpi_id, kind, "calls", df, loads, "month", [], pd.Timestamp(AS_OF), answer=answer, short=short)
        assert_same(got, want, [])


def test_edge_cases_by_hand(fx):
    """A few values worked out on paper, so the reference itself is checked too."""
    sl = metrics.series(fx, "service_level", grain="month", as_of=AS_OF).set_index("period_start")
    # January: K1 (30 s, within), K2 (31 s), K4 (abandoned after 5.5 s), K5 (10 s); K3 is a short abandon.
    assert sl.loc[dt.date(2026, 1, 1), ["numerator", "denominator"]].tolist() == [2, 4]
    assert pd.isna(sl.loc[dt.date(2026, 2, 1), "value"])  # no calls in February: a gap, not 0
    sla = metrics.series(fx, "sla_adherence", grain="month", by=["vendor"], as_of=AS_OF)
    jan_a = sla[(sla.vendor == "A") & (sla.period_start == dt.date(2026, 1, 1))].iloc[0]
    assert (jan_a.numerator, jan_a.denominator) == (1, 3)  # W1 met exactly at its due time; W2 (1 min) and W7 late
    feb_c = sla[(sla.vendor == "C") & (sla.period_start == dt.date(2026, 2, 1))].iloc[0]
    assert (feb_c.numerator, feb_c.denominator) == (1, 2)  # no completed_at column: both verdicts count
    clean = metrics.series(fx, "clean_claim_rate", grain="month", as_of=AS_OF).set_index("period_start")
    assert clean.loc[dt.date(2026, 4, 1), "denominator"] == 0 and pd.isna(clean.loc[dt.date(2026, 4, 1), "value"])
    weeks = metrics.series(fx, "claim_volume", grain="week", as_of=AS_OF)
    assert weeks.iloc[0]["period_start"] == dt.date(2025, 12, 29)  # ISO week 2026-W01 starts in 2025
    assert weeks.iloc[0]["value"] == 3  # C1, C2, C3 (received 12-29, 12-31, 01-04)
    apr_b = sla[(sla.vendor == "B") & (sla.period_start == dt.date(2026, 4, 1))].iloc[0]
    assert (apr_b.numerator, apr_b.denominator) == (1, 2)  # W9 due after as-of but done: judged; W4 open past due
    cut = metrics.series(fx, "sla_adherence", grain="month", by=["vendor"], as_of=AS_OF, end=dt.date(2026, 4, 29))
    assert pd.isna(cut[(cut.vendor == "B") & (cut.period_start == dt.date(2026, 4, 1))].iloc[0].value)  # exact cut
    backlog = metrics.series(fx, "overdue_backlog", grain="month", as_of=AS_OF).set_index("period_start")
    assert backlog.loc[dt.date(2026, 2, 1), "value"] == 1  # W3, past due since 02-02 and still open
    assert backlog.loc[dt.date(2026, 3, 1), "value"] == 2  # W3, and W8 (due 03-02, completed after as-of)


HOSTILE = ["x' OR '1'='1", "'); DROP TABLE claims; --", "A\" OR 1=1 --", "vendor; DELETE FROM loads", "<script>alert(1)</script>"]


@pytest.mark.parametrize("kpi_id", list(catalog.KPIS))
def test_hostile_text_in_every_argument_is_data_or_refused(fx, kpi_id):
    kpi = catalog.KPIS[kpi_id]
    before = fx.table_counts()
    dims = catalog.DIMENSIONS[kpi.table]
    df, loads = raw(fx, kpi.table)
    for bad in HOSTILE:
        for col in dims:  # values are bound parameters: no match, no effect
            got = metrics.series(fx, kpi_id, grain="month", by=[col], where={col: [bad]}, as_of=AS_OF)
            # No row matches, so no group ever enters a backlog either: nothing at all, as the reference says.
            assert got.empty
            assert_same(got, reference(kpi_id, kpi.kind, kpi.table, df, loads, "month", [col], pd.Timestamp(AS_OF),
                                       where={col: [bad]}), [col])
        with pytest.raises(metrics.MetricsError, match="cannot be broken down or filtered by"):
            metrics.series(fx, kpi_id, by=[bad])
        with pytest.raises(metrics.MetricsError, match="cannot be broken down or filtered by"):
            metrics.series(fx, kpi_id, where={bad: ["A"]})
        with pytest.raises(metrics.MetricsError, match="unknown grain"):
            metrics.series(fx, kpi_id, grain=bad)
        with pytest.raises(metrics.MetricsError, match="unknown KPI"):
            metrics.series(fx, bad)
    assert fx.table_counts() == before


def test_values_with_quotes_match_exactly(tmp_path):
    with Store(tmp_path / "q.duckdb") as s:
        rows = [{"claim_id": "1", "vendor": "O'Brien & Sons", "received_date": "2026-01-05"},
                {"claim_id": "2", "vendor": "x' OR '1'='1", "received_date": "2026-01-05"}]
        (tmp_path / "c.csv").write_text(csv_text(rows))
        load_file(s, tmp_path / "c.csv")
        got = metrics.series(s, "claim_volume", where={"vendor": ["O'Brien & Sons"]})
        assert got["value"].tolist() == [1]
