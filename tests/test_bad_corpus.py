"""The bad-input corpus (tests/data/bad/, written by make_corpus.py): each file's exact outcome.

A refused file must leave an empty store untouched; a loaded one must account for every row.
"""

from __future__ import annotations

import json

import pytest

from opsdash.ingest.loader import load_file
from opsdash.store import Store
from tests.conftest import DATA

BAD = DATA / "bad"

# file: (status, table, read, loaded, rejected, superseded, [(line, column, kind, words in reason)], words in message)
EXPECTED = {
    "wrong_delimiter.csv": ("refused", None, 0, 0, 0, 0, [],
                            "Only one column was found: the delimiter must be a comma, semicolon, pipe or tab"),
    "bom_utf8.csv": ("loaded", "claims", 2, 2, 0, 0, [], ""),
    "latin1.csv": ("loaded", "claims", 2, 2, 0, 0, [], ""),
    "missing_required_column.csv": ("refused", None, 0, 0, 0, 0, [],
                                    "looks like claims; missing required column(s) received_date (add it, or map"),
    "unknown_table.csv": ("refused", None, 0, 0, 0, 0, [],
                          "cannot tell which table this file holds: its headers (ticket, owner, state)"),
    "empty.csv": ("refused", None, 0, 0, 0, 0, [], "the file is empty; expected a header row and data rows"),
    "header_only.csv": ("loaded", "claims", 0, 0, 0, 0, [], ""),
    "ragged_rows.csv": ("loaded", "claims", 5, 3, 2, 0, [
        (3, None, "malformed", "expected 9 columns (as in the header), found 10"),
        (5, "payer", "malformed", "expected 9 columns (as in the header), found 2")], ""),
    "bad_dates.csv": ("loaded", "claims", 4, 1, 3, 0, [
        (3, "received_date", "invalid", 'received_date: found "2026-02-30", expected a date YYYY-MM-DD'),
        (4, "received_date", "invalid", 'received_date: found "31/01/2026", expected a date YYYY-MM-DD'),
        (5, "submitted_date", "invalid", 'submitted_date: found "yesterday", expected a date YYYY-MM-DD')], ""),
    "impossible_date_order.csv": ("loaded", "claims", 3, 1, 2, 0, [
        (2, "submitted_date", "invalid", "found 2026-01-04, expected on or after received_date (2026-01-05)"),
        (3, "adjudicated_date", "invalid", "found 2026-01-06, expected on or after submitted_date (2026-01-07)")], ""),
    "negative_amounts.csv": ("loaded", "claims", 3, 1, 2, 0, [
        (2, "billed_amount", "invalid", "billed_amount: found -100.0, expected >= 0"),
        (3, "paid_amount", "invalid", "paid_amount: found -0.01, expected >= 0")], ""),
    "errors_gt_opportunities.csv": ("loaded", "qa_audits", 3, 1, 2, 0, [
        (2, "errors", "invalid", "errors: found 11, expected at most opportunities (10)"),
        (3, "critical_errors", "invalid", "critical_errors: found 3, expected at most errors (2)")], ""),
    "answered_and_abandoned.csv": ("loaded", "calls", 2, 1, 1, 0, [
        (2, "answered_at", "invalid", "both answered_at and abandoned_at have values")], ""),
    "ssn_in_text.csv": ("loaded", "claims", 2, 1, 1, 0, [
        (2, "denial_reason", "invalid", "looks like a US Social Security number (***-**-****)")], ""),
    "phi_columns.csv": ("loaded", "claims", 1, 1, 0, 0, [], ""),
    "duplicate_keys.csv": ("loaded", "claims", 4, 4, 0, 2, [], ""),
    "long_field.csv": ("loaded", "claims", 2, 1, 1, 0, [
        (2, "denial_reason", "invalid", "found a value of 100000 characters, expected at most 2000")], ""),
    "formula_values.csv": ("loaded", "claims", 2, 2, 0, 0, [], ""),
    "truncated.parquet": ("refused", None, 0, 0, 0, 0, [], "not a readable Parquet file"),
    "chart_sheet_first.xlsx": ("loaded", "calls", 2, 2, 0, 0, [], ""),
    "not_a_workbook.xlsx": ("refused", None, 0, 0, 0, 0, [], "not an Excel workbook (an .xlsx file is a zip archive"),
    "bad_booleans.csv": ("loaded", "claims", 3, 2, 1, 0, [
        (2, "clean_submission", "invalid", 'found "maybe", expected true/false, yes/no, y/n or 1/0')], ""),
    "bad_integers.csv": ("loaded", "qa_audits", 4, 1, 3, 0, [
        (2, "opportunities", "invalid", 'found "3.5", expected a whole number'),
        (3, "opportunities", "invalid", 'found "ten", expected a whole number'),
        (4, "opportunities", "invalid", "opportunities: required value is missing")], ""),
    "unknown_outcome.csv": ("loaded", "claims", 2, 1, 1, 0, [
        (2, "initial_outcome", "invalid", 'found "approved", expected one of paid, partially_paid, denied')], ""),
    "adjudicated_without_submission.csv": ("loaded", "claims", 2, 1, 1, 0, [
        (2, "adjudicated_date", "invalid", "has a value but submitted_date is empty")], ""),
    "unterminated_quote.csv": ("loaded", "claims", 2, 1, 1, 0, [
        (3, "received_date", "malformed", "a quoted field opened on line 3 runs to line 4 (a quote is not closed)")], ""),
    "binary_garbage.csv": ("refused", None, 0, 0, 0, 0, [], "so it is a binary file, not delimited text"),
    "duplicate_header.csv": ("refused", None, 0, 0, 0, 0, [], "column 'claim_id' appears 2 times (columns 1, 4)"),
    "crlf_tab.tsv": ("loaded", "claims", 2, 2, 0, 0, [], ""),
    "timestamps_with_offsets.csv": ("loaded", "work_items", 2, 2, 0, 0, [], ""),
    "due_before_opened.csv": ("loaded", "work_items", 2, 1, 1, 0, [
        (2, "due_at", "invalid", "due_at: found 2026-01-05 07:00:00, expected on or after opened_at")], ""),
    "nan_and_inf.csv": ("loaded", "claims", 3, 1, 2, 0, [
        (2, "billed_amount", "invalid", 'found "NaN", expected a decimal number'),
        (3, "billed_amount", "invalid", 'found "inf", expected a decimal number')], ""),
    "blank_lines.csv": ("loaded", "claims", 3, 2, 1, 0, [(5, "billed_amount", "invalid", "found -1.0, expected >= 0")], ""),
    "padded_headers.csv": ("loaded", "claims", 1, 1, 0, 0, [], ""),
    "truncated.csv.gz": ("refused", None, 0, 0, 0, 0, [], "the gzip file is cut short"),
}

_RANGE = "expected a date from 1900-01-01 to 2100-12-31 (the contract's date range)"
EXPECTED_LEAD = {
    "dates_out_of_range.csv": ("loaded", "claims", 9, 2, 7, 0, [
        (2, "received_date", "invalid", f'found "10000-01-01", {_RANGE}'),
        (3, "received_date", "invalid", f'found "5881580-07-10", {_RANGE}'),
        (4, "received_date", "invalid", f'found "-0044-03-15", {_RANGE}'),
        (5, "received_date", "invalid", f'found "0045-03-15 (BC)", {_RANGE}'),
        (6, "received_date", "invalid", f'found "9999-12-31", {_RANGE}'),
        (7, "received_date", "invalid", f'found "0001-01-01", {_RANGE}'),
        (8, "received_date", "invalid", f'found "1899-12-31", {_RANGE}')], ""),
    "zone_names_and_offsets.csv": ("loaded", "work_items", 7, 3, 4, 0, [
        (2, "opened_at", "invalid", 'found "2026-01-05 10:00:00 PST", expected a UTC offset (-08:00) or a zone name'),
        (3, "opened_at", "invalid", 'found "2026-01-05 10:00:00+25:00", expected a UTC offset from -12:00 to +14:00'),
        (7, "opened_at", "invalid", 'found "2026-01-05 10:00:00-12:30", expected a UTC offset from -12:00 to +14:00'),
        (8, "opened_at", "invalid",
         'found "2101-01-01 00:00:00", expected a timestamp from 1900-01-01 to 2100-12-31')], ""),
    "invisible_characters.csv": ("loaded", "claims", 5, 5, 0, 0, [], ""),
}
EXPECTED.update(EXPECTED_LEAD)


# Encodings, line endings, Parquet and workbook surprises (issue 11: items 5, 6, 15, 17).
EXPECTED_READERS = {
    "windows1252.csv": ("loaded", "claims", 2, 2, 0, 0, [], ""),
    "windows1252_undefined_byte.csv": ("loaded", "claims", 1, 1, 0, 0, [], ""),
    "utf16le_bom.csv": ("loaded", "claims", 2, 1, 1, 0, [
        (3, "received_date", "invalid", 'found "2026-02-30", expected a date YYYY-MM-DD')], ""),
    "utf16be_bom.csv": ("loaded", "claims", 2, 1, 1, 0, [
        (3, "received_date", "invalid", 'found "2026-02-30", expected a date YYYY-MM-DD')], ""),
    "utf16_without_bom.csv": ("refused", None, 0, 0, 0, 0, [],
                              "looks like UTF-16 (little-endian) without a byte-order mark (every other byte is 0x00)"),
    "utf32_bom.csv": ("refused", None, 0, 0, 0, 0, [], "the file is UTF-32 text (it starts with a UTF-32 byte-order mark)"),
    # Lines end at LF, CRLF or a lone CR: header 1, M1 2, M2 3 (ends CR), M3 4.
    "mixed_line_endings.csv": ("loaded", "claims", 3, 2, 1, 0, [
        (4, "received_date", "invalid", 'found "2026-02-30"')], ""),
    # CR CR LF is a line ending CR, then an empty line: M2 is on line 4.
    "cr_cr_lf.csv": ("loaded", "claims", 2, 1, 1, 0, [(4, "received_date", "invalid", 'found "2026-02-30"')], ""),
    "old_mac_cr.csv": ("loaded", "claims", 3, 2, 1, 0, [(3, "received_date", "invalid", 'found "2026-02-30"')], ""),
    "parquet_duplicate_columns.parquet": ("refused", None, 0, 0, 0, 0, [],
                                          "column 'claim_id' appears 2 times (columns 1, 4); expected it once"),
    "xlsx_hidden_first_sheet.xlsx": ("loaded", "claims", 2, 2, 0, 0, [], ""),
    "xlsx_formula_without_value.xlsx": ("refused", None, 0, 0, 0, 0, [],
                                        "worksheet 'Claims' has 2 formula cell(s) with no saved value (E2, E3)"),
}
EXPECTED.update(EXPECTED_READERS)


# Issue 11 (read side): text that would be markup elsewhere is data, loaded verbatim.
EXPECTED_UI = {
    "markup_vendor_names.csv": ("loaded", "claims", 3, 3, 0, 0, [], ""),
}
EXPECTED.update(EXPECTED_UI)


# Defects found by review (issue 12 item 6; cases written by make_corpus._defect_cases).
EXPECTED_DEFECTS = {
    "misnamed_key_header.csv": ("refused", None, 0, 0, 0, 0, [],
                                "looks like claims; missing required column(s) claim_id — is `claim_number` it? "
                                "(use a mapping file that reads `claim_number` as claim_id, or rename the header)"),
}
EXPECTED.update(EXPECTED_DEFECTS)


# Patient identifiers by meaning (issue 11 items 3, 4 and 17; cases written by make_corpus._phi_cases).
_SSN = "looks like a US Social Security number (***-**-****)"
EXPECTED_PHI = {
    "phi_header_spellings.csv": ("loaded", "claims", 2, 1, 1, 0, [
        (3, "received_date", "invalid", 'received_date: found "2026-02-30", expected a date YYYY-MM-DD')], ""),
    "ssn_bypasses.csv": ("loaded", "claims", 19, 3, 16, 0,
                         [(line, "denial_reason", "invalid", _SSN) for line in range(2, 18)], ""),
    "identifier_shapes.csv": ("loaded", "claims", 7, 2, 5, 0, [
        (2, "denial_reason", "invalid", "denial_reason: found a value that looks like a phone number (***-***-****)"),
        (3, "denial_reason", "invalid", "looks like a phone number"),
        (4, "payer", "invalid", "payer: found a value that looks like an e-mail address (***@***.***)"),
        (5, "facility", "invalid", "facility: found a value that looks like a medical record number (MRN ****)"),
        (6, "denial_reason", "invalid", "looks like a medical record number (MRN ****); patient identifiers are "
                                         "never stored, expected no medical record number; denial_reason: found a "
                                         "value that looks like a phone number")], ""),
    "malformed_with_phi.csv": ("loaded", "claims", 2, 1, 1, 0, [
        (3, None, "malformed", "expected 4 columns (as in the header), found 5")], ""),
    "first_row_is_data.csv": ("loaded", "claims", 1, 1, 0, 0, [], ""),
}
EXPECTED.update(EXPECTED_PHI)


def test_the_corpus_is_complete():
    files = {p.name for p in BAD.iterdir() if p.name != "make_corpus.py"}
    assert files == set(EXPECTED)
    assert len(files) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_outcome(name, tmp_path):
    status, table, read, loaded, rejected, superseded, rejects, words = EXPECTED[name]
    with Store(tmp_path / "s.duckdb") as store:
        rep = load_file(store, BAD / name)
        assert (rep.status, rep.table if status == "loaded" else None) == (status, table), rep.message
        assert (rep.rows_read, rep.rows_loaded, rep.rows_rejected, rep.rows_superseded) == (read, loaded, rejected, superseded)
        assert words in rep.message
        if status == "refused":
            assert rep.message.startswith(name + ": ")
            assert store.table_counts() == dict.fromkeys(store.table_counts(), 0)
            assert store.fetchone("SELECT count(*) FROM loads")[0] == 0
            assert store.fetchone("SELECT count(*) FROM rejects")[0] == 0
            return
        got = store.fetchall("SELECT line, column_name, kind, reason FROM rejects ORDER BY line")
        assert [(l, c, k) for l, c, k, _ in got] == [(l, c, k) for l, c, k, _ in rejects]
        for (_l, _c, _k, reason), (_l2, _c2, _k2, want) in zip(got, rejects):
            assert want in reason
        stored = store.fetchone(f"SELECT count(*) FROM {table}")[0]
        assert stored == loaded - superseded
        assert rep.rows_read == rep.rows_loaded + rep.rows_rejected + rep.rows_skipped


def _store_of(tmp_path, name):
    store = Store(tmp_path / "s.duckdb")
    load_file(store, BAD / name)
    return store


def test_latin1_text_is_decoded(tmp_path):
    with _store_of(tmp_path, "latin1.csv") as s:
        assert s.fetchall("SELECT payer FROM claims ORDER BY claim_id") == [("Mutualité Générale",), ("Clínica",)]


def test_bom_does_not_end_up_in_the_first_header(tmp_path):
    with _store_of(tmp_path, "bom_utf8.csv") as s:
        assert s.fetchall("SELECT claim_id FROM claims ORDER BY 1") == [("C1",), ("C2",)]


def test_phi_values_are_nowhere_in_the_store(tmp_path):
    with _store_of(tmp_path, "phi_columns.csv") as s:
        everything = json.dumps([s.fetchall(f"SELECT * FROM {t}") for t in ("claims", "loads", "rejects")], default=str)
        for value in ("Jane Roe", "MRN0001", "1970-02-03", "555-0100", "jane@example.org", "M-77"):
            assert value not in everything


def test_ssn_is_masked_in_the_kept_raw_values(tmp_path):
    with _store_of(tmp_path, "ssn_in_text.csv") as s:
        raw = json.loads(s.fetchone("SELECT raw_values FROM rejects")[0])
        assert raw["denial_reason"] == "pt ***-**-**** appeal"


def test_duplicate_keys_keep_the_last_row(tmp_path):
    with _store_of(tmp_path, "duplicate_keys.csv") as s:
        assert s.fetchall("SELECT claim_id, billed_amount, _line FROM claims ORDER BY 1") == [("C1", 3.0, 5), ("C2", 100.0, 3)]


def test_formula_like_text_is_stored_verbatim(tmp_path):
    with _store_of(tmp_path, "formula_values.csv") as s:
        got = s.fetchall("SELECT payer, denial_reason FROM claims ORDER BY claim_id")
    assert got == [('=HYPERLINK("http://evil.example","click")', "+1"), ("@SUM(A1)", "-2+3")]


def test_chart_sheet_is_passed_over_and_said(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        rep = load_file(s, BAD / "chart_sheet_first.xlsx")
        assert rep.warnings == ["read worksheet 'Data'; skipped non-data sheet(s) Chart"]
        assert s.fetchall("SELECT call_id, queue FROM calls ORDER BY 1") == [("K1", "scheduling"), ("K2", "billing_inquiry")]


def test_offsets_are_converted(tmp_path):
    with _store_of(tmp_path, "timestamps_with_offsets.csv") as s:
        got = s.fetchall("SELECT item_id, CAST(opened_at AS VARCHAR), CAST(completed_at AS VARCHAR) FROM work_items ORDER BY 1")
    assert got == [("W1", "2026-01-05 07:00:00", "2026-01-05 10:00:00"), ("W2", "2026-01-05 08:00:00", "2026-01-05 11:00:00")]


def test_padded_headers_and_values_are_trimmed(tmp_path):
    with _store_of(tmp_path, "padded_headers.csv") as s:
        assert s.fetchall("SELECT claim_id, vendor FROM claims") == [("C1", "Acme")]


def test_zones_are_converted_only_when_unambiguous(tmp_path):
    with _store_of(tmp_path, "zone_names_and_offsets.csv") as s:
        got = s.fetchall("SELECT item_id, CAST(opened_at AS VARCHAR) FROM work_items ORDER BY 1")
    # New York is UTC-5 in January; +05:30 is India; UTC is itself. The store keeps UTC.
    assert got == [("W3", "2026-01-05 15:00:00"), ("W4", "2026-01-05 04:30:00"), ("W5", "2026-01-05 10:00:00")]


def test_invisible_characters_make_no_look_alike_vendors_or_keys(tmp_path):
    with _store_of(tmp_path, "invisible_characters.csv") as s:
        got = s.fetchall("SELECT claim_id, vendor, payer, CAST(received_date AS VARCHAR) FROM claims ORDER BY 1")
    assert got == [("C1", "Acme", "Aetna", "2026-01-05"), ("C2", "Acme", "Aetna", "2026-01-05"),
                   ("C3", "Acme", "Aetna", "2026-01-05"), ("C4", "Ib\u00e9rica", "Aetna", "2026-01-05"),
                   ("C5", "Ib\u00e9rica", "Aetna", "2026-01-05")]


@pytest.mark.parametrize(("name", "encoding", "payers"), [
    ("windows1252.csv", "windows-1252", ["O’Brien", "“Santé” – €"]),
    # U+0081 is a C1 control character: removed from every value, like every invisible character.
    ("windows1252_undefined_byte.csv", "windows-1252", ["O’Brien"]),
    ("utf16le_bom.csv", "utf-16-le", ["Clínica São José"]),
    ("utf16be_bom.csv", "utf-16-be", ["Clínica São José"]),
    ("latin1.csv", "latin-1", ["Clínica", "Mutualité Générale"]),
    ("bom_utf8.csv", "utf-8", ["Aetna", "Aetna"]),
])
def test_the_detected_encoding_is_recorded_and_text_decoded(tmp_path, name, encoding, payers):
    with Store(tmp_path / "s.duckdb") as store:
        rep = load_file(store, BAD / name)
        assert rep.encoding == encoding
        assert store.fetchall("SELECT encoding FROM loads") == [(encoding,)]
        assert sorted(r[0] for r in store.fetchall("SELECT payer FROM claims")) == sorted(payers)
        assert store.fetchone("SELECT claim_id FROM claims ORDER BY claim_id LIMIT 1")[0][:1] in "EUC"


def test_a_hidden_first_sheet_is_passed_over_and_said(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        rep = load_file(store, BAD / "xlsx_hidden_first_sheet.xlsx")
        assert sorted(r[0] for r in store.fetchall("SELECT claim_id FROM claims")) == ["V1", "V2"]
        assert any("'Old' (hidden), 'Lookup' (very hidden)" in w and "read worksheet 'Claims'" in w for w in rep.warnings)


def test_markup_in_names_is_stored_verbatim(tmp_path):
    from tests.data.bad.make_corpus import MARKUP_NAMES

    store = _store_of(tmp_path, "markup_vendor_names.csv")
    assert [r[0] for r in store.fetchall("SELECT vendor FROM claims ORDER BY claim_id")] == list(MARKUP_NAMES)
    assert [r[0] for r in store.fetchall("SELECT payer FROM claims ORDER BY claim_id")] == list(MARKUP_NAMES)


def _everything(store: Store) -> str:
    """Every value of every table of the store (roll-ups, rejects, loads and audit included) as one text."""
    tables = [r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables() WHERE NOT temporary")]
    return json.dumps({t: store.fetchall(f'SELECT * FROM "{t}"') for t in tables}, default=str, ensure_ascii=False)


def test_phi_headers_of_issue_11_are_dropped_and_their_values_are_nowhere(tmp_path):
    from tests.data.bad.make_corpus import PHI_HEADERS

    with Store(tmp_path / "s.duckdb") as s:
        rep = load_file(s, BAD / "phi_header_spellings.csv")
        assert rep.phi_columns_dropped == list(PHI_HEADERS) and rep.ignored_columns == ["Notes"]
        assert s.fetchone("SELECT ignored_columns FROM loads")[0] == ["Notes"]
        raw = json.loads(s.fetchone("SELECT raw_values FROM rejects")[0])
        assert raw == {"claim_id": "C2", "vendor": "Acme", "received_date": "2026-02-30", "denial_reason": "CO-16"}
        everything = _everything(s)
        for value in PHI_HEADERS.values():
            assert value not in everything
        assert "called back" not in everything  # an ignored column's value is not kept in rejects either


def test_ssn_bypasses_are_rejected_and_masked_before_the_value_is_cut(tmp_path):
    from tests.data.bad.make_corpus import SSN_BYPASSES

    with Store(tmp_path / "s.duckdb") as s:
        load_file(s, BAD / "ssn_bypasses.csv")
        assert sorted(r[0] for r in s.fetchall("SELECT claim_id FROM claims")) == ["123456789", "OK1", "OK3"]
        # "123456789" is also a claim number in this file (a work identifier, kept); nowhere else
        assert s.fetchall("SELECT claim_id FROM claims WHERE contains(claim_id, '6789')") == [("123456789",)]
        everything = _everything(s).replace('"123456789"', '"<the claim number>"')
        for value in (*SSN_BYPASSES, "987-65-4321", "987-65-4", "6789"):
            assert value not in everything
        reason, raw = s.fetchone("SELECT reason, raw_values FROM rejects WHERE line = 17")
        assert json.loads(raw)["denial_reason"] == "x" * 100 + "***-**-****"
        reasons = [r[0] for r in s.fetchall("SELECT reason FROM rejects")]
        assert all(_SSN in r for r in reasons) and all("123" not in r for r in reasons)


def test_other_identifier_shapes_are_masked_in_raw_values(tmp_path):
    with _store_of(tmp_path, "identifier_shapes.csv") as s:
        raws = {line: json.loads(raw) for line, raw in s.fetchall("SELECT line, raw_values FROM rejects")}
        assert raws[2]["denial_reason"] == "call pt ***-***-****"
        assert raws[3]["denial_reason"] == "***-***-**** rappeler"
        assert raws[4]["payer"] == "***@***.***"
        assert raws[5]["facility"] == "Ward 7 MRN ****"
        assert raws[6]["denial_reason"] == "MRN **** / ***-***-****"
        assert sorted(r[0] for r in s.fetchall("SELECT claim_id FROM claims")) == ["1234567890", "P7"]
        everything = _everything(s)
        for value in ("555-0147", "23 45 67 89", "jane.roe", "0047211", "４５６７８", "6175550147"):
            assert value not in everything


def test_a_malformed_line_of_a_file_with_phi_columns_is_not_kept(tmp_path):
    from opsdash.ingest.loader import WITHHELD_LINE

    with _store_of(tmp_path, "malformed_with_phi.csv") as s:
        assert json.loads(s.fetchone("SELECT raw_values FROM rejects")[0]) == {"line": WITHHELD_LINE}
        assert "Roe" not in _everything(s)


def test_a_header_that_is_an_identifier_value_is_dropped_and_listed_masked(tmp_path):
    with Store(tmp_path / "s.duckdb") as s:
        rep = load_file(s, BAD / "first_row_is_data.csv")
        assert rep.phi_columns_dropped == ["***-**-****"] and rep.ignored_columns == []
        everything = _everything(s)
        assert "212-55-0199" not in everything and "212-55-0198" not in everything


def test_a_long_raw_value_is_cut_after_masking_and_says_how_long_it_was(tmp_path):
    with _store_of(tmp_path, "long_field.csv") as s:
        raw = json.loads(s.fetchone("SELECT raw_values FROM rejects")[0])
        assert raw["denial_reason"] == "x" * 2000 + "… [cut: 100,000 characters in all]"
