"""Daily roll-ups: read when the table stands as loaded, kept equal to their tables by every load."""

from __future__ import annotations

import shutil

import pytest

from opsdash import catalog, lifecycle, metrics, rollups
from opsdash.ingest.loader import load_file
from opsdash.store import Store
from opsdash.store import quote_ident as qi
from tests.helpers import csv_text, row

ROLLUP_KPIS = [k for k, kpi in catalog.KPIS.items() if rollups.for_kpi(kpi)]
BACKLOGS = [k for k, kpi in catalog.KPIS.items() if rollups.for_backlog(kpi)]


def rebuilt(store: Store, r: rollups.Rollup) -> list[tuple]:
    return store.fetchall(f"SELECT * FROM ({r.select()}) ORDER BY ALL")


def stored(store: Store, r: rollups.Rollup) -> list[tuple]:
    return store.fetchall(f"SELECT * FROM {qi(r.name)} ORDER BY ALL")


def assert_rollups_match(store: Store) -> None:
    for r in rollups.all_rollups().values():
        assert stored(store, r) == rebuilt(store, r), r.name


def test_which_kpis_have_rollups():
    # Counts, ratios and whole-day quantiles; the other call KPIs depend on thresholds chosen at query time,
    # continuous medians need the rows. Backlogs have two roll-ups each (below).
    assert set(ROLLUP_KPIS) == {"call_volume",
        "claim_volume", "claim_turnaround_days", "claim_turnaround_p90_days", "clean_claim_rate",
        "initial_denial_rate", "error_rate", "accuracy_rate", "critical_error_rate", "work_volume", "sla_adherence"}
    # The median and the 90th percentile read one roll-up.
    names = {k: rollups.for_kpi(catalog.KPIS[k]).name for k in ROLLUP_KPIS}
    assert names["claim_turnaround_days"] == names["claim_turnaround_p90_days"]
    assert len(set(names.values())) == len(ROLLUP_KPIS) - 1
    for r in rollups.all_rollups().values():  # what a load computes cannot depend on as-of
        assert "$" not in r.select()
    # Backlogs: rows counted on the day they enter and on the day they leave; every roll-up is in the store.
    assert BACKLOGS == ["unbilled_backlog", "overdue_backlog"]
    for k in BACKLOGS:
        enter, leave = rollups.for_backlog(catalog.KPIS[k])
        assert enter.name != leave.name and {enter.name, leave.name} <= set(rollups.all_rollups())
    # Claims enter the unbilled backlog on the day they are received: the claim volume's roll-up serves both.
    assert rollups.for_backlog(catalog.KPIS["unbilled_backlog"])[0] == rollups.for_kpi(catalog.KPIS["claim_volume"])


def test_rollups_are_what_the_engine_reads(sample_store, tmp_path):
    """Doubling every roll-up row's count doubles the counts the engine returns at the latest as-of."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(sample_store.path, path)
    with Store(path) as s:
        before = {k: metrics.series(s, k, grain="month", by=["vendor"]) for k in ROLLUP_KPIS}
        before_backlogs = {k: metrics.series(s, k, grain="month", by=["vendor"]) for k in BACKLOGS}
        with s.transaction() as tx:
            for r in rollups.all_rollups().values():
                tx.execute(f"UPDATE {qi(r.name)} SET _c = 2 * _c" + "".join(f", {n} = 2 * {n}" for n, _ in r.sums))
        for k in ROLLUP_KPIS:
            after = metrics.series(s, k, grain="month", by=["vendor"])
            counts = {"count": ["value"], "ratio": ["numerator", "denominator"], "quantile": ["n"]}[catalog.KPIS[k].kind]
            for col in counts:
                assert before[k][col].notna().any(), (k, col)
                assert after[col].equals(2 * before[k][col]), (k, col)
        for k in BACKLOGS:  # every month ends before as-of's day, which is read from the rows, except the last
            as_of_month = metrics.default_as_of(s, catalog.KPIS[k].table).date().replace(day=1)
            was = before_backlogs[k][before_backlogs[k]["period_start"] < as_of_month]
            after = metrics.series(s, k, grain="month", by=["vendor"])
            assert was["value"].sum() > 0, k
            assert after[after["period_start"] < as_of_month]["value"].equals(2 * was["value"]), k


def test_every_load_keeps_rollups_equal_to_their_tables(store, write):
    """New rows, re-delivered rows that move to another day, rows now rejected and rows from a file without a
    completed_at column: after each load every roll-up equals one rebuilt from the table."""
    claims = [row("claims", claim_id=f"C{i}", received_date=f"2026-01-{i:02d}", submitted_date=f"2026-01-{i + 2:02d}",
                  clean_submission="true" if i % 3 else "false") for i in range(1, 20)]
    load_file(store, write("c1.csv", csv_text(claims)))
    assert_rollups_match(store)
    # Re-delivery: some claims move to February, one is now invalid (kept as a reject; the stored one stays).
    moved = [dict(c, received_date="2026-02-03", submitted_date="2026-02-10", adjudicated_date="2026-02-20")
             for c in claims[:5]]
    moved.append(dict(claims[6], received_date="not a date"))
    rep = load_file(store, write("c2.csv", csv_text(moved)))
    assert (rep.rows_loaded, rep.rows_rejected, rep.rows_replaced) == (5, 1, 5)
    assert_rollups_match(store)
    assert store.fetchone("SELECT count(*) FROM claims WHERE received_date = DATE '2026-02-03'")[0] == 5
    items = [row("work_items", item_id=f"W{i}", opened_at=f"2026-01-{i:02d} 08:00", due_at=f"2026-01-{i:02d} 12:00" if i % 2 else "",
                 completed_at=f"2026-01-{i:02d} 11:00" if i % 4 else "", sla_met="true" if i % 3 else "false")
             for i in range(1, 15)]
    assert load_file(store, write("w1.csv", csv_text(items))).rows_rejected == 0
    no_completion = [{k: v for k, v in it.items() if k != "completed_at"} for it in items[:6]]
    assert load_file(store, write("w2.csv", csv_text(no_completion))).rows_replaced == 6
    assert_rollups_match(store)
    audits = [row("qa_audits", audit_id=f"A{i}", errors=str(i % 3), critical_errors=str(min(i % 2, i % 3))) for i in range(6)]
    assert load_file(store, write("q1.csv", csv_text(audits))).rows_loaded == 6
    calls = [row("calls", call_id=f"K{i}", offered_at=f"2026-01-0{i} 09:00:00", answered_at="") for i in range(1, 4)]
    assert load_file(store, write("k1.csv", csv_text(calls))).rows_loaded == 3
    assert_rollups_match(store)
    assert all(stored(store, r) for r in rollups.all_rollups().values())  # each roll-up holds rows


def test_both_paths_give_the_same_figures(sample_store, monkeypatch):
    for k in ROLLUP_KPIS + BACKLOGS:
        dim = catalog.DIMENSIONS[catalog.KPIS[k].table][-1]
        fast = metrics.series(sample_store, k, grain="week", by=[dim])
        monkeypatch.setattr(metrics, "USE_ROLLUPS", False)
        slow = metrics.series(sample_store, k, grain="week", by=[dim])
        monkeypatch.setattr(metrics, "USE_ROLLUPS", True)
        assert fast.equals(slow), k


def test_a_store_without_a_rollup_is_read_from_rows_until_opened_for_writing(sample_store, tmp_path):
    path = tmp_path / "old.duckdb"
    shutil.copy(sample_store.path, path)
    want = metrics.series(sample_store, "clean_claim_rate", grain="month", by=["payer"])
    r = rollups.for_kpi(catalog.KPIS["clean_claim_rate"])
    with Store(path) as s, s.transaction() as tx:  # as an older opsdash, declaring other roll-ups, left it
        tx.execute("UPDATE meta SET value = 'older' WHERE key = ?", [rollups.META_KEY])
        tx.execute(f"DROP TABLE {qi(r.name)}")
    with Store(path, read_only=True) as s:
        assert not metrics.rollup_in_store(s, r)
        assert metrics.series(s, "clean_claim_rate", grain="month", by=["payer"]).equals(want)
    with Store(path) as s:  # the gateway alone makes tables, nothing that builds on them
        assert not metrics.rollup_in_store(s, r)
    with lifecycle.open_store(path) as s:  # opened for writing as every writer opens it: rebuilt
        assert metrics.rollup_in_store(s, r)
        assert_rollups_match(s)
        assert metrics.series(s, "clean_claim_rate", grain="month", by=["payer"]).equals(want)


@pytest.mark.parametrize("kpi_id", ["sla_adherence"])
def test_open_items_are_judged_by_as_of_from_the_rollup(store, write, kpi_id):
    """An open item due after the latest event counts once a later as-of passes its due time."""
    items = [row("work_items", item_id="W1", opened_at="2026-01-05 08:00", due_at="2026-01-05 12:00",
                 completed_at="2026-01-05 11:00"),
             row("work_items", item_id="W2", opened_at="2026-01-05 09:00", due_at="2026-01-06 09:00", completed_at="")]
    load_file(store, write("w.csv", csv_text(items)))
    at_latest = metrics.series(store, kpi_id, grain=None)
    assert (at_latest.numerator[0], at_latest.denominator[0]) == (1, 1)
    import datetime as dt
    later = metrics.series(store, kpi_id, grain=None, as_of=dt.datetime(2026, 1, 6, 9, 0))
    assert (later.numerator[0], later.denominator[0]) == (1, 2)  # due exactly at as-of: judged, missed


def test_a_backlog_on_as_of_day_is_read_from_the_rows(store, write, monkeypatch):
    """The roll-ups hold whole days; on as-of's own day only the due times passed and the completions made by
    as-of count. At every as-of from the latest event on, at every grain, the roll-ups and the rows agree, and
    agree with the reference."""
    import datetime as dt

    import pandas as pd

    from tests.kpi_reference import reference
    from tests.test_metrics import assert_same

    items = [row("work_items", item_id="W1", vendor="A", opened_at="2026-01-05 08:00", due_at="2026-01-06 09:00",
                 completed_at=""),  # open, due on the 6th at 09:00
             row("work_items", item_id="W2", vendor="A", opened_at="2026-01-05 09:00", due_at="2026-01-06 11:00",
                 completed_at="2026-01-06 10:00"),  # done before its due time, on the latest event's day
             row("work_items", item_id="W3", vendor="B", opened_at="2026-01-02 09:00", due_at="2026-01-03 09:00",
                 completed_at="2026-01-06 10:30"),  # late, leaves on the 6th
             row("work_items", item_id="W4", vendor="B", opened_at="2026-01-06 09:00", due_at="2026-01-06 23:59:59.999999",
                 completed_at=""),  # due in the day's last instant: past due only on the 7th
             row("work_items", item_id="W5", vendor="", opened_at="2026-01-01 09:00", due_at="2026-01-01 10:00",
                 completed_at="2026-01-02 10:00"),
             row("work_items", item_id="W6", vendor="B", opened_at="2026-01-05 09:00", due_at="2026-01-06 12:00",
                 completed_at="")]  # open, due on the 6th after the latest event
    claims = [row("claims", claim_id="C1", received_date="2026-01-04", submitted_date="2026-01-06"),
              row("claims", claim_id="C2", received_date="2026-01-06", submitted_date=""),
              row("claims", claim_id="C3", vendor="B", received_date="2026-01-05", submitted_date="2026-01-05")]
    load_file(store, write("w.csv", csv_text(items)))
    load_file(store, write("c.csv", csv_text(claims)))
    for k in BACKLOGS:
        kpi = catalog.KPIS[k]
        df, loads = store.query(f"SELECT * FROM {kpi.table}"), store.query("SELECT load_id, columns_present FROM loads")
        latest = metrics.default_as_of(store, kpi.table)
        for as_of in (latest, latest + dt.timedelta(minutes=45), dt.datetime(2026, 1, 6, 11, 0),
                      dt.datetime(2026, 1, 6, 23, 59, 59, 999999), dt.datetime(2026, 1, 7), dt.datetime(2026, 2, 3, 9)):
            if as_of < latest:
                continue
            for grain in ("day", "week", None):
                fast = metrics.series(store, k, grain=grain, by=["vendor"], as_of=as_of)
                monkeypatch.setattr(metrics, "USE_ROLLUPS", False)
                slow = metrics.series(store, k, grain=grain, by=["vendor"], as_of=as_of)
                monkeypatch.setattr(metrics, "USE_ROLLUPS", True)
                assert fast.equals(slow), (k, as_of, grain)
                assert_same(fast, reference(k, kpi.kind, kpi.table, df, loads, grain, ["vendor"], pd.Timestamp(as_of)),
                            ["vendor"])
    # What the rows say at the latest event (10:30 on the 6th): W1 past due and open; W4 and W6 not yet due.
    day = metrics.series(store, "overdue_backlog", grain="day", by=["vendor"]).set_index(["period_start", "vendor"])
    assert day.loc[(dt.date(2026, 1, 6), "A"), "value"] == 1 and day.loc[(dt.date(2026, 1, 6), "B"), "value"] == 0
