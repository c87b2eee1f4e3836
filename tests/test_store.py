"""The store's vendor scope and its shared read connection."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from opsdash import catalog, metrics, sla
from opsdash.store import ReadPool, Scope, Store, StoreError

HELIX = "Helix Health Services"
TABLES = ("claims", "qa_audits", "work_items", "calls", "sla_targets", "reported_kpis", "events")


@pytest.fixture(scope="module")
def helix(sample_store: Store) -> Store:
    return sample_store.scoped(Scope.of([HELIX]))


def test_a_scoped_store_reads_only_its_vendors_rows_in_every_table(sample_store, helix):
    for table in TABLES:
        everyone = sample_store.query(f"SELECT vendor, count(*) AS n FROM {table} GROUP BY ALL")
        mine = helix.query(f"SELECT vendor, count(*) AS n FROM {table} GROUP BY ALL")
        allowed = {HELIX, "*"} if table == "sla_targets" else {HELIX}
        assert set(everyone["vendor"]) - allowed, f"the sample's {table} has only {HELIX}: the test proves nothing"
        assert set(mine["vendor"]) <= allowed, table
        assert mine.set_index("vendor")["n"].to_dict() == \
            everyone[everyone["vendor"].isin(allowed)].set_index("vendor")["n"].to_dict()
        # Naming the schema does not reach past the scope either.
        assert {r[0] for r in helix.fetchall(f"SELECT DISTINCT vendor FROM main.{table}")} <= allowed


def test_a_scoped_store_reads_only_its_vendors_in_every_rollup(sample_store, helix):
    names = [r[0] for r in sample_store.fetchall(
        "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, '_rollup_')")]
    assert names, "the sample store has no roll-ups"
    for name in names:
        assert {r[0] for r in helix.fetchall(f'SELECT DISTINCT vendor FROM "{name}"')} <= {HELIX}, name
        assert len({r[0] for r in sample_store.fetchall(f'SELECT DISTINCT vendor FROM "{name}"')} - {HELIX}), name


def test_a_scoped_store_hides_rejected_rows_and_file_names(sample_store, helix):
    assert sample_store.fetchone("SELECT count(*) FROM rejects")[0] > 0
    assert helix.fetchone("SELECT count(*) FROM rejects")[0] == 0
    assert helix.fetchone("SELECT count(*) FROM loads")[0] == sample_store.fetchone("SELECT count(*) FROM loads")[0]
    with pytest.raises(StoreError, match="file_name"):
        helix.query("SELECT file_name FROM loads")


def test_no_vendors_sees_no_rows(sample_store):
    nobody = sample_store.scoped(Scope.of([]))
    for table in TABLES:
        assert nobody.fetchone(f"SELECT count(*) FROM {table} WHERE vendor <> '*'")[0] == 0
    assert sla.vendors(nobody) == []


@pytest.mark.parametrize("kpi_id", list(catalog.KPIS))
def test_every_kpi_of_a_scoped_store_equals_the_vendor_filter(sample_store, helix, kpi_id):
    """The engine's figures for a scoped reader are the vendor's own, whichever path (roll-up or rows) it takes."""
    table = catalog.KPIS[kpi_id].table
    as_of = metrics.default_as_of(sample_store, table)
    mine = metrics.series(helix, kpi_id, grain="month", as_of=as_of)
    filtered = metrics.series(sample_store, kpi_id, grain="month", as_of=as_of, where={"vendor": [HELIX]})
    pd.testing.assert_frame_equal(mine, filtered)
    everyone = metrics.series(sample_store, kpi_id, grain="month", as_of=as_of)
    assert not everyone["value"].equals(mine["value"]), "the scope changed nothing: the check is empty"


def test_scorecards_and_reconciliation_of_a_scoped_store(sample_store, helix):
    assert sla.vendors(helix) == [HELIX]
    period = "2026-10"
    mine, full = sla.scorecard(helix, HELIX, period), sla.scorecard(sample_store, HELIX, period)
    pd.testing.assert_frame_equal(mine.levels, full.levels)
    other = next(v for v in sla.vendors(sample_store) if v != HELIX)
    assert not sla.reconcile(sample_store, other).empty
    # To a scoped reader another vendor does not exist, and the message lists only its own.
    with pytest.raises(sla.SlaError, match=f"expected one of {HELIX}$"):
        sla.reconcile(helix, other)
    with pytest.raises(sla.SlaError, match="unknown vendor"):
        sla.scorecard(helix, other, period)
    assert set(sla.reconcile(helix)["vendor"]) == {HELIX}


def test_vendor_names_with_quotes_are_values_not_sql(sample_store):
    hostile = sample_store.scoped(Scope.of(["x' OR true OR vendor = '", HELIX + "'; DROP TABLE claims; --"]))
    assert hostile.fetchone("SELECT count(*) FROM claims")[0] == 0


def test_a_scope_is_for_reading_only(tmp_path):
    with pytest.raises(StoreError, match="reading only"):
        Store(tmp_path / "s.duckdb", scope=Scope.of([HELIX]))


def _writer(db, seconds: float = 0.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", f"from opsdash.store import Store; "
                           f"Store({str(db)!r}, wait={seconds}).close()"], capture_output=True, text=True)


def test_the_shared_connection_lets_go_of_the_file_when_idle(tmp_path):
    db = tmp_path / "s.duckdb"
    Store(db).close()
    pool = ReadPool(db, linger=4)  # longer than a Python start-up, for the first writer
    store = Store.shared(pool)
    assert store.fetchone("SELECT count(*) FROM claims")[0] == 0
    assert pool.is_open
    assert "another process has it open" in _writer(db).stderr, "the reader did not hold the file"
    deadline = time.monotonic() + 10
    while pool.is_open and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pool.is_open
    assert _writer(db).returncode == 0, "another process could not write once the reader let go"
    assert store.fetchone("SELECT count(*) FROM claims")[0] == 0  # it opens again on demand


def test_readers_wait_while_this_process_writes(tmp_path):
    db = tmp_path / "s.duckdb"
    Store(db).close()
    pool = ReadPool(db, linger=5)
    reader = Store.shared(pool)
    before = reader.fetchone("SELECT count(*) FROM meta")[0]
    seen: list[int] = []
    with pool.writer() as w:
        thread = threading.Thread(target=lambda: seen.append(reader.fetchone("SELECT count(*) FROM meta")[0]))
        thread.start()
        time.sleep(0.3)
        assert not seen, "a reader ran while the writer held the store"
        with w.transaction() as tx:
            tx.execute("INSERT INTO meta VALUES ('note', 'written')")
    thread.join(10)
    assert seen == [before + 1], "the reader did not see what the writer committed"


def test_many_threads_share_the_connection(sample_store):
    pool = ReadPool(sample_store.path, linger=0.2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def read(i: int) -> None:
        try:
            scope = Scope.of([HELIX]) if i % 2 else Scope()
            counts.append(Store.shared(pool, scope).fetchone("SELECT count(DISTINCT vendor) FROM claims")[0])
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    everyone = sample_store.fetchone("SELECT count(DISTINCT vendor) FROM claims")[0]
    assert sorted(set(counts)) == [1, everyone] and len(counts) == 40


def test_while_handed_over_readers_fail_at_once_and_another_process_writes(tmp_path):
    from opsdash.store import StoreBusy

    db = tmp_path / "s.duckdb"
    Store(db).close()
    pool = ReadPool(db, linger=30)
    reader = Store.shared(pool)
    assert reader.fetchone("SELECT count(*) FROM claims")[0] == 0 and pool.is_open
    with pool.hand_over():
        assert not pool.is_open, "the connection was kept while another process should write"
        started = time.monotonic()
        with pytest.raises(StoreBusy, match="load started from this dashboard"):
            reader.fetchone("SELECT 1")
        with pytest.raises(StoreBusy):
            with pool.writer():
                pass
        assert time.monotonic() - started < 1, "a reader waited instead of failing"
        assert _writer(db).returncode == 0
    assert reader.fetchone("SELECT count(*) FROM claims")[0] == 0


def test_a_table_written_after_a_scoped_read_is_scoped_too(tmp_path):
    """Scoped readers keep the table list of their connection; a write in between must not leave a new table
    unshadowed."""
    db = tmp_path / "s.duckdb"
    Store(db).close()
    pool = ReadPool(db, linger=30)
    helix = Store.shared(pool, Scope.of([HELIX]))
    assert helix.fetchone("SELECT count(*) FROM claims")[0] == 0  # the table list is now kept
    with pool.writer() as w, w.transaction() as tx:
        tx.execute("CREATE TABLE extra AS SELECT * FROM (VALUES ('Helix Health Services'), ('Other')) v(vendor)")
    assert [r[0] for r in helix.fetchall("SELECT vendor FROM extra")] == [HELIX]


ADDED = {"procedure_group": "DRG 470", "prior_auth_required": True, "vendor_risk_score": 0.25}


def _old_store(db) -> None:
    """A store as an earlier version made it: the claims table without the columns the contract added since."""
    with Store(db) as s, s.transaction() as tx:
        for column in ("procedure_group", "prior_auth_required", "prior_auth_obtained", "eligibility_verified_date",
                       "vendor_risk_score", "vendor_risk_model"):
            tx.execute(f"ALTER TABLE claims DROP COLUMN {column}")
        tx.execute("INSERT INTO claims (claim_id, vendor, received_date) VALUES "
                   "('C1', 'Helix Health Services', DATE '2026-01-05'), ('C2', 'Other', DATE '2026-01-06')")


@pytest.mark.parametrize("scope", [Scope(), Scope.of([HELIX])], ids=["everything", "one vendor"])
def test_an_older_store_reads_the_contracts_new_columns_as_empty(tmp_path, scope):
    """Read before any write, an older store's claims lack the new columns: a reader (the dashboard, scoped or
    not) sees them empty instead of failing, and its scope still holds."""
    db = tmp_path / "old.duckdb"
    _old_store(db)
    with Store(db, read_only=True) as raw:
        stored = raw.query("SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
                           "AND table_name = 'claims'")["column_name"]
        assert "vendor_risk_score" not in set(stored) and "received_date" in set(stored)  # really an older store
    pool = ReadPool(db, linger=30)
    try:
        for reader in (Store(db, read_only=True, scope=scope), Store.shared(pool, scope)):
            got = reader.query("SELECT claim_id, " + ", ".join(ADDED) + " FROM claims ORDER BY claim_id")
            assert list(got["claim_id"]) == (["C1", "C2"] if scope.everything else ["C1"])
            assert got[list(ADDED)].isna().all().all()
            reader.close()
    finally:
        pool.close()


def test_an_older_store_gains_the_new_columns_at_its_first_write(tmp_path):
    """Opened for writing, the older store's claims table gains the columns (empty for its rows), and a claim
    carrying them loads."""
    db = tmp_path / "old.duckdb"
    _old_store(db)
    with Store(db) as s:
        with s.transaction() as tx:
            tx.execute("INSERT INTO claims (claim_id, vendor, received_date, procedure_group, prior_auth_required, "
                       "vendor_risk_score) VALUES ('C3', 'Other', DATE '2026-01-07', 'DRG 470', true, 0.25)")
        got = s.query("SELECT claim_id, " + ", ".join(ADDED) + " FROM main.claims ORDER BY claim_id")
    assert got[list(ADDED)].iloc[:2].isna().all().all()
    assert got.iloc[2][list(ADDED)].to_dict() == ADDED
