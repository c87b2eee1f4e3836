"""The validate step on its own, over rows already staged: counts, the reject-rate refusal with the first
reasons by line, the warning above 5%, process names read as codes."""

from __future__ import annotations

import pytest

from opsdash.ingest import validate
from opsdash.ingest.errors import FileRefused
from opsdash.ingest.report import LoadReport
from opsdash.store import Store
from tests.helpers import csv_text, row
from tests.staging import staged


def _validate(tmp_path, text: str, max_reject_rate: float | None = None):
    p = tmp_path / "f.csv"
    p.write_text(text)
    report, warnings = LoadReport(file="f.csv", status="refused"), []
    with Store(tmp_path / "s.duckdb") as s, s.transaction() as tx:
        _info, plan, st = staged(tx, p, tmp_path)
        try:
            validate.validate(tx, "f.csv", plan, st, report, warnings, max_reject_rate)
        finally:
            left = tx.fetchall("SELECT count(*) FROM _stage")
    return report, warnings, left


def test_counts_and_the_warning_above_five_percent(tmp_path):
    rows = [row("claims", claim_id=f"C{i}") for i in range(8)] + [row("claims", claim_id="B", billed_amount="lots")]
    text = csv_text(rows) + "only,three,fields\n"
    report, warnings, left = _validate(tmp_path, text)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected, report.rows_skipped) == (10, 8, 2, 0)
    assert warnings == ["2 of 10 rows rejected (20.0%, more than 5%): check the export against the contract or "
                        "its mapping file"]
    assert left == [(9,)]  # the staged rows stay for the commit step (the malformed line was never staged)


def test_too_many_rejects_refuse_the_file_naming_the_first_reasons_by_line(tmp_path):
    rows = [row("claims", claim_id="C1"), row("claims", claim_id="C2", received_date="soon"),
            row("claims", claim_id="C3")]
    text = csv_text(rows) + "x,y\n" + csv_text([row("claims", claim_id="C4", billed_amount="-")]).split("\n", 1)[1]
    with pytest.raises(FileRefused) as err:
        _validate(tmp_path, text, max_reject_rate=0.2)
    msg = str(err.value)
    assert msg.startswith("f.csv: refused whole: 3 of 5 rows (60.0%) would be rejected, more than "
                          "--max-reject-rate 20.0% allows; nothing was stored. First reasons: line 3: received_date: "
                          'found "soon", expected a date')
    assert "; line 5: expected 8 columns (as in the header), found 2; line 6: billed_amount: found" in msg


def test_a_process_in_words_is_read_as_its_code(tmp_path):
    """An event's process typed in words becomes the code (the registry's, in a store with no records yet);
    a value that names no code is kept, with a warning naming the file, line and column."""
    rows = [row("events", kpi="error_rate", process="CODING"), row("events", kpi="error_rate", process="Team moved")]
    p = tmp_path / "e.csv"
    p.write_text(csv_text(rows))
    report, warnings = LoadReport(file="e.csv", status="refused"), []
    with Store(tmp_path / "s.duckdb") as s, s.transaction() as tx:
        _info, plan, st = staged(tx, p, tmp_path)
        validate.validate(tx, "e.csv", plan, st, report, warnings)
        assert tx.fetchall("SELECT process FROM _stage ORDER BY process") == [("Team moved",), ("coding",)]
    assert warnings[0] == 'e.csv line 2, column process: read "CODING" as the code coding (Coding)'
    assert warnings[1].startswith('e.csv line 3, column process: found "Team moved", which is neither a process')
