"""Loading rules: re-delivery, duplicates, lineage, line numbers, formats, mappings and atomicity."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from opsdash.ingest.loader import load_file
from opsdash.ingest.mapping import load_mapping
from opsdash.ingest.errors import FileRefused
from tests.helpers import csv_text, rejects, row


def snapshot(store) -> dict[str, list]:
    """Everything in the store, to compare before and after."""
    out = {}
    for t in ("claims", "qa_audits", "work_items", "calls", "sla_targets", "reported_kpis", "loads", "rejects"):
        out[t] = sorted(map(repr, store.fetchall(f"SELECT * FROM {t}")))
    return out


def test_redelivery_replaces_the_stored_row_and_is_counted(write, load, store):
    first = load(write("m1.csv", csv_text([row("claims", submitted_date="", adjudicated_date="", initial_outcome="",
                                               paid_amount=""), row("claims", claim_id="C2")])))
    second = load(write("m2.csv", csv_text([row("claims", initial_outcome="denied", paid_amount="0")])))
    assert (first.rows_loaded, second.rows_loaded, second.rows_replaced) == (2, 1, 1)
    got = store.fetchall("SELECT claim_id, initial_outcome, _load_id FROM claims ORDER BY claim_id")
    assert got == [("C1", "denied", second.load_id), ("C2", "paid", first.load_id)]


def test_within_a_file_the_later_row_wins(write, load, store):
    rows = [row("claims", billed_amount="1"), row("claims", claim_id="C2"), row("claims", billed_amount="3")]
    rep = load(write("c.csv", csv_text(rows)))
    assert (rep.rows_read, rep.rows_loaded, rep.rows_superseded) == (3, 3, 1)
    assert store.fetchall("SELECT claim_id, billed_amount, _line FROM claims ORDER BY 1") == [("C1", 3.0, 4), ("C2", 100.0, 3)]


def test_the_same_vendor_key_in_two_vendors_is_two_rows(write, load, store):
    load(write("c.csv", csv_text([row("claims"), row("claims", vendor="Other")])))
    assert store.fetchone("SELECT count(*) FROM claims")[0] == 2


def test_the_same_file_twice_is_not_loaded_again(write, load, store):
    p = write("c.csv", csv_text([row("claims")]))
    first = load(p)
    before = snapshot(store)
    again = load(p)
    assert again.status == "duplicate" and again.load_id == first.load_id
    assert "already loaded as load 1 into claims" in again.message
    assert snapshot(store) == before


def test_sla_targets_replace_on_vendor_kpi_process_priority_and_effective_from(write, load, store):
    a = load(write("a.csv", csv_text([row("sla_targets"), row("sla_targets", process="coding")])))
    b = load(write("b.csv", csv_text([row("sla_targets", target="0.9")])))
    assert (a.rows_loaded, b.rows_replaced) == (2, 1)
    got = store.fetchall("SELECT process, target FROM sla_targets ORDER BY process NULLS FIRST")
    assert got == [(None, 0.9), ("coding", 0.95)]


def test_load_record_and_lineage(write, load, store):
    rep = load(write("c.csv", csv_text([row("claims"), row("claims", claim_id="C2", billed_amount="-1")])))
    rec = store.query("SELECT * FROM loads").iloc[0]
    assert rec["file_name"] == "c.csv" and rec["table_name"] == "claims" and len(rec["sha256"]) == 64
    assert (rec["rows_read"], rec["rows_loaded"], rec["rows_rejected"], rec["rows_replaced"]) == (2, 1, 1, 0)
    assert rec["started_at"] <= rec["finished_at"]
    assert (rec["file_format"], rec["encoding"], rec["delimiter"], rec["file_bytes"]) == (
        "csv", "utf-8", "comma", (store.path.parent / "c.csv").stat().st_size)
    assert store.fetchall("SELECT _load_id, _line FROM claims") == [(rep.load_id, 2)]
    assert sorted(rec["columns_present"]) == sorted(["claim_id", "vendor", "received_date", "submitted_date",
                                                    "adjudicated_date", "initial_outcome", "billed_amount", "paid_amount"])
    assert rejects(store, rep.load_id)[0][:3] == (3, "billed_amount", "invalid")


def test_phi_columns_are_never_stored_and_are_reported(write, load, store):
    text = csv_text([row("claims", **{"Patient Name": "Jane Roe", "MRN": "M123", "DOB": "1970-01-01",
                                      "Notes": "fine"})])
    rep = load(write("c.csv", text))
    assert rep.phi_columns_dropped == ["Patient Name", "MRN", "DOB"] and rep.ignored_columns == ["Notes"]
    dump = json.dumps(snapshot(store))
    assert "Jane Roe" not in dump and "M123" not in dump and "1970-01-01" not in dump


def test_raw_values_of_rejected_rows_leave_out_phi_columns(write, load, store):
    load(write("c.csv", csv_text([row("claims", billed_amount="-1", **{"Patient Name": "Jane Roe"})])))
    raw = json.loads(store.fetchone("SELECT raw_values FROM rejects")[0])
    assert raw["billed_amount"] == "-1" and "Patient Name" not in raw


def test_malformed_rows_get_their_physical_lines_and_the_rest_keep_theirs(write, load, store):
    text = csv_text([row("claims", claim_id=f"C{i}") for i in range(1, 7)])
    lines = text.splitlines()
    lines[2] += ",extra"          # line 3: too many fields
    lines[5] = "C5,Acme"          # line 6: too few
    rep = load(write("c.csv", "\n".join(lines) + "\n"))
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (6, 4, 2)
    assert [(r[0], r[2]) for r in rejects(store)] == [(3, "malformed"), (6, "malformed")]
    assert "expected 8 columns (as in the header), found 9" in rejects(store)[0][3]
    assert store.fetchall("SELECT claim_id, _line FROM claims ORDER BY _line") == [
        ("C1", 2), ("C3", 4), ("C4", 5), ("C6", 7)]


def test_quoted_line_breaks_and_blank_lines_keep_exact_line_numbers(write, load, store):
    text = ('claim_id,vendor,received_date,denial_reason\n'
            'C1,Acme,2026-01-05,"two\nlines"\n'
            '\n'
            'C2,Acme,2026-01-05,x\n'
            'C3,Acme,not-a-date,y\n')
    rep = load(write("c.csv", text))
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected) == (3, 2, 1)
    assert rejects(store)[0][:2] == (6, "received_date")
    assert store.fetchall("SELECT claim_id, denial_reason, _line FROM claims ORDER BY 1") == [
        ("C1", "two\nlines", 2), ("C2", "x", 5)]


@pytest.mark.parametrize("delim", [",", ";", "|", "\t"])
def test_delimiters_are_detected(delim, write, load, store):
    rep = load(write("c.csv", csv_text([row("claims", payer="Aetna, Inc.")], delimiter=delim)))
    assert rep.rows_loaded == 1
    assert store.fetchone("SELECT payer FROM claims")[0] == "Aetna, Inc."


def test_latin1_and_bom_are_detected(write, load, store):
    load(write("l.csv", csv_text([row("claims", payer="Clínica São José")]), encoding="latin-1"))
    load(write("b.csv", "\ufeff" + csv_text([row("claims", claim_id="C2", payer="Ærø")])))
    assert store.fetchall("SELECT payer FROM claims ORDER BY claim_id") == [("Clínica São José",), ("Ærø",)]


def test_gzip_csv_is_read(tmp_path, load, store):
    p = tmp_path / "c.csv.gz"
    p.write_bytes(gzip.compress(csv_text([row("claims"), row("claims", claim_id="C2")]).encode()))
    assert load(p).rows_loaded == 2


def test_parquet_with_typed_columns(tmp_path, load, store):
    df = pd.DataFrame({"item_id": ["W1", "W2"], "vendor": ["Acme", "Acme"], "process": ["coding", "coding"],
                       "opened_at": pd.to_datetime(["2026-01-05 08:00", "2026-01-05 09:00"]),
                       "completed_at": pd.to_datetime(["2026-01-05 10:00", "2026-01-05 07:00"]),
                       "sla_met": [True, None]})
    df.to_parquet(tmp_path / "w.parquet")
    rep = load(tmp_path / "w.parquet")
    assert (rep.table, rep.rows_loaded, rep.rows_rejected) == ("work_items", 1, 1)
    assert rejects(store)[0][:2] == (2, "completed_at")
    assert store.fetchone("SELECT CAST(completed_at AS VARCHAR), sla_met FROM work_items") == ("2026-01-05 10:00:00", True)


def test_xlsx_first_worksheet_with_typed_cells(tmp_path, load, store):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Audit ID", "Vendor", "Process", "Audit Date", "Opportunities", "Errors", "Critical Errors"])
    ws.append(["A1", "Acme", "coding", dt.datetime(2026, 1, 5), 10, 1, None])
    ws.append([])
    ws.append(["A2", "Acme", "coding", dt.date(2026, 1, 6), 10.0, 11])
    wb.save(tmp_path / "qa.xlsx")
    rep = load(tmp_path / "qa.xlsx")
    assert (rep.table, rep.rows_read, rep.rows_loaded, rep.rows_rejected) == ("qa_audits", 2, 1, 1)
    assert rejects(store)[0][:2] == (4, "errors")
    assert store.fetchone("SELECT audit_date, opportunities FROM qa_audits") == (pd.Timestamp("2026-01-05").date(), 10)


MAPPING = '''
table = "calls"
null_tokens = ["?", "N/A"]
decimal_separator = ","
order_by = "updated"
order_format = "%d/%m/%Y %H:%M"

[formats]
timestamp = "%d/%m/%Y %H:%M"

[columns]
call_id = "Ref"
vendor = { const = "Voxa" }
queue = { template = "{Line}/{Team}" }
offered_at = { source = "Start", format = "%Y%m%d %H%M" }
answered_at = "Answered"
handle_seconds = "Talk"
first_contact_resolved = "Fixed"

[values.first_contact_resolved]
"OUI" = "true"
"NON" = "false"

[[skip]]
column = "Outcome"
equals = "PHANTOM"
'''


def test_mapping_features(tmp_path, write, load, store):
    m = write("voxa.toml", MAPPING)
    text = ("Ref;Line;Team;Start;Answered;Talk;Fixed;Outcome;updated\n"
            "1;sched;a;20260105 0900;05/01/2026 09:01;12,5;oui;OK;05/01/2026 10:00\n"
            "2;sched;b;20260105 0900;?;N/A;N/A;PHANTOM;05/01/2026 10:00\n"
            "1;sched;a;20260105 0900;05/01/2026 09:02;13,5;non;OK;05/01/2026 09:30\n")
    rep = load(write("voxa.csv", text), mapping=m)
    assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected, rep.rows_skipped, rep.rows_superseded) == (3, 2, 0, 1, 1)
    got = store.fetchall("SELECT call_id, vendor, queue, CAST(offered_at AS VARCHAR), CAST(answered_at AS VARCHAR), "
                         "handle_seconds, first_contact_resolved, _line FROM calls")
    # Row 1 (updated 10:00) beats row 3 (updated 09:30) although row 3 comes later in the file.
    assert got == [("1", "Voxa", "sched/a", "2026-01-05 09:00:00", "2026-01-05 09:01:00", 12.5, True, 2)]
    skipped = store.fetchall("SELECT line, kind, reason FROM rejects")
    assert skipped == [(3, "skipped", "skipped by a skip rule of the mapping: Outcome in (PHANTOM)")]


@pytest.mark.parametrize("text, words", [
    ('table = "nope"', "unknown table 'nope'"),
    ('tabel = "claims"', "unknown key(s) tabel"),
    ('table = "claims"\n[columns]\nclaim_no = "x"', "[columns] names 'claim_no', which is not a column of claims"),
    ('table = "claims"\n[columns]\nvendor = {const = "A", source = "b"}', "give exactly one of source, const or template"),
    ('table = "claims"\ndecimal_separator = ";"', "`decimal_separator` must be"),
    ('table = "claims"\n[[skip]]\ncolumn = "a"', "[[skip]] #1"),
    ('table = ', "is not valid TOML"),
])
def test_mapping_errors_are_file_level_and_name_the_key(text, words, write):
    with pytest.raises(FileRefused) as exc:
        load_mapping(write("m.toml", text))
    assert words in str(exc.value) and "mapping file m.toml" in str(exc.value)


def test_mapping_naming_a_missing_source_column_refuses_the_file(write, load, store):
    m = write("m.toml", 'table = "claims"\n[columns]\nclaim_id = "Claim No"\n')
    rep = load(write("c.csv", csv_text([row("claims")])), mapping=m)
    assert rep.status == "refused"
    assert "reads column 'Claim No' for claim_id, but the file has no such column" in rep.message
    assert snapshot(store)["claims"] == []


def test_mapping_may_not_read_a_phi_column(write, load):
    m = write("m.toml", 'table = "claims"\n[columns]\nclaim_id = "Patient ID"\n')
    rep = load(write("c.csv", csv_text([row("claims", **{"Patient ID": "P1"})])), mapping=m)
    assert rep.status == "refused" and "names a patient identifier" in rep.message


def test_a_refused_file_changes_nothing(write, load, store):
    load(write("ok.csv", csv_text([row("claims")])))
    before = snapshot(store)
    rep = load(write("bad.csv", "claim_id,vendor\nC9,Acme\n"))
    assert rep.status == "refused"
    assert snapshot(store) == before


def test_an_error_mid_load_rolls_the_whole_file_back(write, store, monkeypatch):
    from opsdash.ingest import commit

    load_file(store, write("ok.csv", csv_text([row("claims")])))
    before = snapshot(store)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(commit, "_user", boom)  # fails after the rows are inserted, before COMMIT
    with pytest.raises(RuntimeError):
        load_file(store, write("more.csv", csv_text([row("claims", claim_id="C2"), row("claims", billed_amount="1")])))
    assert snapshot(store) == before


def test_table_given_disagreeing_with_mapping_is_refused(write, load):
    m = write("m.toml", 'table = "claims"\n')
    rep = load(write("c.csv", csv_text([row("claims")])), mapping=m, table="calls")
    assert rep.status == "refused" and "disagrees with mapping" in rep.message


def test_mapping_default_fills_empty_source_values(write, load, store):
    m = write("m.toml", 'table = "work_items"\nnull_tokens = ["?"]\n[columns]\n'
                        'process = { source = "category", default = "uncategorised" }\n')
    text = "item_id,vendor,category,opened_at\nW1,A,?,2026-01-05 08:00\nW2,A,billing,2026-01-05 08:00\n"
    rep = load(write("w.csv", text), mapping=m)
    assert rep.rows_loaded == 2
    assert store.fetchall("SELECT item_id, process FROM work_items ORDER BY 1") == [("W1", "uncategorised"), ("W2", "billing")]


def test_latin1_appearing_only_after_the_first_megabytes_is_still_detected(tmp_path, load, store):
    from opsdash.ingest.readers import CHUNK

    head = "claim_id,vendor,received_date,payer\n"
    body = "".join(f"C{i},Acme,2026-01-05,Aetna\n" for i in range(CHUNK // 25 + 1000))
    p = tmp_path / "late.csv"
    p.write_bytes((head + body + "Z1,Acme,2026-01-05,Clínica São José\n").encode("latin-1"))
    rep = load(p)
    assert rep.status == "loaded" and rep.rows_rejected == 0
    assert "not valid UTF-8: read as Latin-1" in rep.warnings
    assert store.fetchone("SELECT payer FROM claims WHERE claim_id = 'Z1'")[0] == "Clínica São José"


def test_writing_stores_cap_duckdb_memory(tmp_path, monkeypatch):
    from opsdash.store import Store

    with Store(tmp_path / "a.duckdb") as s:
        assert s.fetchone("SELECT current_setting('memory_limit')")[0] in ("1.0 GiB", "953.6 MiB")
    monkeypatch.setenv("OPSDASH_MEMORY_LIMIT", "512MB")
    with Store(tmp_path / "b.duckdb") as s:
        assert s.fetchone("SELECT current_setting('memory_limit')")[0] in ("488.2 MiB", "512.0 MiB")


def test_progress_is_reported_through_the_stages_with_percentages(tmp_path, store):
    rows = "".join(f"C{i},Acme,2026-01-05,Aetna\n" for i in range(1_500_000))
    p = tmp_path / "big.csv"
    p.write_text("claim_id,vendor,received_date,payer\n" + rows)
    seen: list[str] = []
    rep = load_file(store, p, progress=seen.append)
    assert rep.rows_loaded == 1_500_000
    stages = [s for s in seen if not s.startswith("reading ")]
    assert stages == ["checking", "reading", "validating", "committing"]
    percents = [float(s.split()[1].rstrip("%")) for s in seen if s.startswith("reading ")]
    assert percents and all(0 <= x <= 100 for x in percents)
