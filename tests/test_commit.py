"""The commit step on its own, over rows already staged and validated: rejects with their lines, upsert by key
(the later row in a file wins, stored rows are replaced), lineage, and the load's record declared once."""

from __future__ import annotations

import dataclasses
import time

from opsdash.ingest import commit, validate
from opsdash.ingest.report import LoadReport
from opsdash.store import LOADS_DDL, LoadRecord, Store
from tests.helpers import csv_text, row
from tests.staging import staged


def _commit(s: Store, tmp_path, name: str, text: str) -> LoadReport:
    p = tmp_path / name
    p.write_text(text)
    report = LoadReport(file=name, status="refused")
    with s.transaction() as tx:
        load_id = tx.fetchone("SELECT nextval('load_id_seq')")[0]
        info, plan, st = staged(tx, p, tmp_path)
        validate.validate(tx, name, plan, st, report, info.warnings)
        commit.commit(tx, load_id, info, plan, None, st, report, time.time())
        report.load_id = load_id
    return report


def test_upsert_keeps_the_later_row_replaces_stored_ones_and_records_lineage(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        first = _commit(s, tmp_path, "a.csv", csv_text([row("claims", claim_id="C1"), row("claims", claim_id="C2")]))
        assert (first.rows_loaded, first.rows_replaced, first.rows_superseded) == (2, 0, 0)
        text = csv_text([row("claims", claim_id="C2", billed_amount="5"), row("claims", claim_id="C2", billed_amount="7"),
                         row("claims", claim_id="C3", billed_amount="x")])
        second = _commit(s, tmp_path, "b.csv", text)
        assert (second.rows_read, second.rows_loaded, second.rows_rejected) == (3, 2, 1)
        assert (second.rows_replaced, second.rows_superseded) == (1, 1)
        assert s.fetchall("SELECT claim_id, billed_amount, _load_id, _line FROM claims ORDER BY claim_id") == [
            ("C1", 100.0, first.load_id, 2), ("C2", 7.0, second.load_id, 3)]
        assert s.fetchall("SELECT line, column_name, kind FROM rejects") == [(4, "billed_amount", "invalid")]
        assert s.fetchall("SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('_stage', '_shift')") == [(0,)]


def test_malformed_lines_are_kept_as_rejects_with_their_text(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        rep = _commit(s, tmp_path, "a.csv", csv_text([row("claims")]) + "C9,Acme\n")
        assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (2, 1, 1)
        assert s.fetchall("SELECT line, kind, raw_values FROM rejects") == [(3, "malformed", '{"line":"C9,Acme"}')]
    assert commit.mask_malformed("C9,123-45-6789", has_phi=True) == commit.WITHHELD_LINE


def test_the_load_record_is_declared_once(tmp_path):
    """The loads table's columns and the INSERT both come from store.LoadRecord's fields, in order."""
    names = [f.name for f in dataclasses.fields(LoadRecord)]
    with Store(tmp_path / "s.duckdb") as s:
        assert [r[0] for r in s.fetchall("DESCRIBE loads")] == names
        rep = _commit(s, tmp_path, "a.csv", csv_text([row("claims")]))
        stored = s.query("SELECT * FROM loads").iloc[0]
    assert LOADS_DDL.startswith("CREATE TABLE IF NOT EXISTS loads (load_id BIGINT PRIMARY KEY, file_name VARCHAR")
    assert LoadRecord.insert_sql().count("?") == len(names)
    assert (stored["load_id"], stored["file_name"], stored["table_name"], stored["rows_loaded"]) == (
        rep.load_id, "a.csv", "claims", 1)
    assert list(stored["columns_present"]) == sorted(row("claims"))
    assert stored["started_at"] <= stored["finished_at"]
