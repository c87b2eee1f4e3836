"""Reading files as hospitals' systems write them, within bounded resources (issue 11: items 5, 6, 7, 12, 15, 17).

Small limits (set through the environment, as an operator would) prove each refusal quickly; the bombs at full
size are measured by benchmarks/bench_bombs.py, not here.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opsdash import phi
from opsdash.ingest import loader, readers, stage
from opsdash.ingest.loader import load_file
from opsdash.store import Store

HEAD = "claim_id,vendor,received_date,payer\n"


def rows(prefix: str, n: int) -> str:
    return "".join(f"{prefix}{i},Acme,2026-01-05,Aetna\n" for i in range(1, n + 1))


def untouched(store: Store) -> bool:
    return (store.table_counts() == dict.fromkeys(store.table_counts(), 0)
            and store.fetchone("SELECT count(*) FROM loads")[0] == 0
            and store.fetchone("SELECT count(*) FROM rejects")[0] == 0)


# -- item 7: a file name is a name, never a pattern ---------------------------------------------

@pytest.mark.parametrize(("name", "decoy"), [("[a]b.csv", "ab.csv"), ("?.csv", "x.csv"), ("{a,b}.csv", "a.csv"),
                                           ("p*.csv", "p1.csv"), ("a[!x].csv", "ab.csv"),
                                           ("it's \"quoted\".csv", "its.csv")])
def test_a_csv_name_with_pattern_characters_reads_that_file_only(tmp_path, store, name, decoy):
    # The decoy has as many lines as the file, so nothing but the name tells them apart.
    (tmp_path / decoy).write_text(HEAD + rows("D", 1))
    target = tmp_path / name
    target.write_text(HEAD + rows("T", 1))
    rep = load_file(store, target)
    assert (rep.status, rep.rows_read, rep.rows_loaded) == ("loaded", 1, 1), rep.message
    assert store.fetchall("SELECT claim_id FROM claims") == [("T1",)]
    assert store.fetchall("SELECT file_name FROM loads") == [(name,)]


@pytest.mark.parametrize("name", ["p*.parquet", "[p]1.parquet", "?1.parquet"])
def test_a_parquet_name_with_pattern_characters_reads_that_file_only(tmp_path, store, name):
    table = pa.table({"claim_id": ["P0"], "vendor": ["Acme"], "received_date": ["2026-01-05"]})
    for decoy in ("p1.parquet", "pp.parquet", "x1.parquet"):
        pq.write_table(table.set_column(0, "claim_id", pa.array([f"D-{decoy}"])), tmp_path / decoy)
    pq.write_table(table, tmp_path / name)
    rep = load_file(store, tmp_path / name)
    assert (rep.status, rep.rows_read) == ("loaded", 1), rep.message
    assert store.fetchall("SELECT claim_id FROM claims") == [("P0",)]


def test_a_gzip_name_with_pattern_characters_reads_that_file_only(tmp_path, store):
    (tmp_path / "ab.csv.gz").write_bytes(gzip.compress((HEAD + rows("D", 1)).encode()))
    (tmp_path / "[a]b.csv.gz").write_bytes(gzip.compress((HEAD + rows("T", 1)).encode()))
    rep = load_file(store, tmp_path / "[a]b.csv.gz")
    assert (rep.status, rep.rows_read) == ("loaded", 1), rep.message
    assert store.fetchall("SELECT claim_id FROM claims") == [("T1",)]


# -- item 5: encodings -------------------------------------------------------------------------------

def test_windows_1252_is_read_and_recorded(tmp_path, store):
    p = tmp_path / "w.csv"
    p.write_bytes(b"claim_id,vendor,received_date,payer\nE1,V,2026-01-05,O\x92Brien\n")
    rep = load_file(store, p)
    assert (rep.status, rep.encoding) == ("loaded", "windows-1252"), rep.message
    assert store.fetchall("SELECT payer FROM claims") == [("O\u2019Brien",)]


def test_windows_1252_after_the_first_chunk_is_read_as_such(tmp_path, store):
    p = tmp_path / "late.csv"
    p.write_bytes((HEAD + rows("C", readers.CHUNK // 25 + 1000)).encode() + b"Z1,Acme,2026-01-05,O\x92Brien \x80\n")
    rep = load_file(store, p)
    assert (rep.status, rep.encoding, rep.rows_rejected) == ("loaded", "windows-1252", 0), rep.message
    assert "not valid UTF-8: read as Windows-1252" in rep.warnings
    assert store.fetchone("SELECT payer FROM claims WHERE claim_id = 'Z1'")[0] == "O\u2019Brien \u20ac"


def test_gzip_of_windows_1252_is_read(tmp_path, store):
    p = tmp_path / "w.csv.gz"
    p.write_bytes(gzip.compress(HEAD.encode() + b"E1,Acme,2026-01-05,\x93Sant\xe9\x94\nE2,Acme,2026-02-30,x\n"))
    rep = load_file(store, p)
    assert (rep.status, rep.encoding, rep.rows_loaded) == ("loaded", "windows-1252", 1), rep.message
    assert store.fetchall("SELECT payer FROM claims") == [("\u201cSant\u00e9\u201d",)]
    assert store.fetchall("SELECT line FROM rejects") == [(3,)]


def test_utf16_cut_in_the_middle_of_a_character_is_refused_naming_the_encoding(tmp_path, store):
    p = tmp_path / "u.csv"
    p.write_bytes(b"\xff\xfe" + (HEAD + rows("U", 2)).encode("utf-16-le") + b"\x41")
    rep = load_file(store, p)
    assert rep.status == "refused" and "not valid UTF-16 (little-endian)" in rep.message, rep.message
    assert untouched(store)


def test_a_mapping_that_says_utf8_names_the_line_that_is_not(tmp_path, store):
    p = tmp_path / "m.csv"
    p.write_bytes((HEAD + rows("C", 3)).encode() + b"C9,Acme,2026-01-05,O\x92Brien\n")
    m = tmp_path / "m.toml"
    m.write_text('table = "claims"\nencoding = "utf-8"\n')
    rep = load_file(store, p, mapping=m)
    assert rep.status == "refused", rep.message
    assert "line 5 is not valid UTF-8 (byte 0x92)" in rep.message
    assert untouched(store)


# -- item 6: line endings beyond the first chunk (DuckDB's reader fails; the Python reader takes over) --------

def test_a_lone_cr_after_the_first_chunk_is_read_with_exact_lines(tmp_path, store):
    n = readers.CHUNK // 25 + 1000
    p = tmp_path / "late_cr.csv"
    p.write_bytes((HEAD + rows("C", n)).replace("\n", "\r\n").encode() + b"Z1,Acme,2026-01-05,A\rZ2,Acme,2026-02-30,B\r\n")
    rep = load_file(store, p)
    assert (rep.status, rep.rows_read, rep.rows_rejected) == ("loaded", n + 2, 1), rep.message
    # header 1, C1..Cn on 2..n+1, Z1 on n+2 (ends with a lone CR), Z2 on n+3
    assert store.fetchall("SELECT line, column_name FROM rejects") == [(n + 3, "received_date")]
    assert store.fetchone("SELECT _line FROM claims WHERE claim_id = 'Z1'")[0] == n + 2


# -- item 17: DuckDB's reading errors become messages with a line ---------------------------------------

def test_a_line_longer_than_the_maximum_is_rejected_naming_it(tmp_path, store):
    """DuckDB's bulk read keeps the other rows and rejects the long line, in words a person can use."""
    p = tmp_path / "long.csv"
    p.write_bytes((HEAD + rows("C", 1)).encode() + b"C2,Acme,2026-01-05," + b"x" * (readers.MAX_LINE_BYTES + 10) + b"\n"
                  + b"C3,Acme,2026-01-05,A\n")
    rep = load_file(store, p)
    assert (rep.status, rep.rows_loaded, rep.rows_rejected) == ("loaded", 2, 1), rep.message
    got = store.fetchall("SELECT line, kind, reason, length(raw_values) FROM rejects")
    assert [g[:3] for g in got] == [(3, "malformed", "the line is longer than 16 MB; expected lines of at most 16 MB")]
    assert got[0][3] < phi.MAX_RAW_CHARS + 100


def test_a_line_longer_than_the_maximum_is_named_by_the_python_reader(tmp_path, store):
    """A file that needs the line-by-line reader (here: a lone CR) is refused at the long line, naming it."""
    p = tmp_path / "long.csv"
    p.write_bytes((HEAD + rows("C", 1)).encode() + b"C2,Acme,2026-01-05,A\rC3,Acme,2026-01-05,"
                  + b"x" * (readers.MAX_LINE_BYTES + 10) + b"\n")
    rep = load_file(store, p)
    assert rep.status == "refused"
    assert rep.message.startswith("long.csv: line 4 is longer than 16 MB; expected lines of delimited text"), rep.message
    assert "Error" not in rep.message and untouched(store)


def test_an_unclosed_quote_that_runs_on_is_named(tmp_path, store):
    p = tmp_path / "q.csv"
    p.write_bytes((HEAD + rows("C", 1)).encode() + b'C2,Acme,2026-01-05,"open\n'
                  + (b"y" * 1000 + b"\n") * (readers.MAX_LINE_BYTES // 1000 + 10))
    rep = load_file(store, p)
    assert rep.status == "refused"
    assert "a field that starts on line 3 is longer than 16 MB" in rep.message, rep.message
    assert untouched(store)


def test_out_of_memory_is_said_in_words_with_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSDASH_MEMORY_LIMIT", "8MB")
    p = tmp_path / "wide.csv"
    p.write_text(HEAD + "".join(f"C{i},Acme,2026-01-05,{'p' * 200}\n" for i in range(200_000)))
    with Store(tmp_path / "s.duckdb") as store:
        rep = load_file(store, p)
        assert rep.status == "refused"
        assert rep.message.startswith("wide.csv: loading it needs more memory than DuckDB may use (7.6 MiB, "
                                      "OPSDASH_MEMORY_LIMIT); nothing was stored"), rep.message
        assert "Error" not in rep.message and untouched(store)


# -- item 12: bounded resources ------------------------------------------------------------------------------

def test_a_gzip_over_the_uncompressed_limit_is_refused_stating_it(tmp_path, store, monkeypatch):
    monkeypatch.setenv("OPSDASH_MAX_UNCOMPRESSED_MB", "1")
    p = tmp_path / "bomb.csv.gz"
    p.write_bytes(gzip.compress((HEAD + rows("C", 60_000)).encode(), 9))  # about 2 MB of text
    assert p.stat().st_size < (1 << 20)
    rep = load_file(store, p)
    assert rep.status == "refused"
    assert "uncompressed, this gzip file is more than 1 MB (the limit, OPSDASH_MAX_UNCOMPRESSED_MB" in rep.message
    assert untouched(store)
    monkeypatch.setenv("OPSDASH_MAX_UNCOMPRESSED_MB", "3")
    assert load_file(store, p).rows_loaded == 60_000


def test_a_limit_that_is_not_a_number_is_refused_naming_it(tmp_path, store, monkeypatch):
    monkeypatch.setenv("OPSDASH_MAX_CELL_MB", "lots")
    p = tmp_path / "c.csv"
    p.write_text(HEAD + rows("C", 1))
    rep = load_file(store, p)
    assert rep.status == "refused" and "OPSDASH_MAX_CELL_MB='lots' is not a number" in rep.message


def _workbook(path, cell: str = "Aetna", n: int = 2) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["claim_id", "vendor", "received_date", "payer"])
    for i in range(n):
        ws.append([f"X{i}", "Acme", "2026-01-05", cell if i == 0 else "Aetna"])
    wb.save(path)


def test_an_xlsx_cell_over_the_cell_limit_is_refused_naming_the_cell(tmp_path, store, monkeypatch):
    monkeypatch.setenv("OPSDASH_MAX_CELL_MB", "0.01")
    _workbook(tmp_path / "big.xlsx", "z" * 20_000)
    rep = load_file(store, tmp_path / "big.xlsx")
    assert rep.status == "refused", rep.message
    assert "holds a text longer than 0.01 MB (the limit, OPSDASH_MAX_CELL_MB)" in rep.message
    assert "D2" in rep.message or "sharedStrings" in rep.message
    assert untouched(store)
    monkeypatch.setenv("OPSDASH_MAX_CELL_MB", "1")
    assert load_file(store, tmp_path / "big.xlsx").rows_read == 2


def test_a_shared_string_over_the_cell_limit_is_refused(tmp_path, store, monkeypatch):
    """Shared strings are read whole by openpyxl on opening, so they are measured before it opens anything."""
    import zipfile

    monkeypatch.setenv("OPSDASH_MAX_CELL_MB", "0.01")
    _workbook(tmp_path / "plain.xlsx")
    src = zipfile.ZipFile(tmp_path / "plain.xlsx")
    with zipfile.ZipFile(tmp_path / "ss.xlsx", "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            out.writestr(item.filename, src.read(item.filename))
        out.writestr("xl/sharedStrings.xml", '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
                     'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>' + "s" * 20_000 + "</t></si></sst>")
    rep = load_file(store, tmp_path / "ss.xlsx")
    assert rep.status == "refused" and "part xl/sharedStrings.xml holds a text longer than 0.01 MB" in rep.message, \
        rep.message


def test_an_xlsx_over_the_uncompressed_limit_is_refused(tmp_path, store, monkeypatch):
    monkeypatch.setenv("OPSDASH_MAX_UNCOMPRESSED_MB", "0.5")
    _workbook(tmp_path / "many.xlsx", n=10_000)
    rep = load_file(store, tmp_path / "many.xlsx")
    assert rep.status == "refused", rep.message
    assert "more than the limit of 0.5 MB (OPSDASH_MAX_UNCOMPRESSED_MB" in rep.message
    assert untouched(store)


def test_an_xlsx_member_that_expands_too_much_is_refused_as_a_zip_bomb(tmp_path, store, monkeypatch):
    monkeypatch.setenv("OPSDASH_MAX_ZIP_RATIO", "5")
    _workbook(tmp_path / "ratio.xlsx", n=60_000)  # repetitive rows compress about 14 times
    rep = load_file(store, tmp_path / "ratio.xlsx")
    assert rep.status == "refused", rep.message
    assert "xl/worksheets/sheet1.xml expands" in rep.message and "(OPSDASH_MAX_ZIP_RATIO)" in rep.message
    assert untouched(store)


def test_too_many_malformed_lines_refuse_the_file(tmp_path, store, monkeypatch):
    monkeypatch.setattr(stage, "MAX_MALFORMED", 3)
    p = tmp_path / "junk.csv"
    p.write_text(HEAD + rows("C", 2) + "a,b\n" * 5)
    rep = load_file(store, p)
    assert rep.status == "refused", rep.message
    assert "more than 3 lines cannot be split into the header's 4 columns (the first is line 4" in rep.message
    assert untouched(store)
    q = tmp_path / "junk_blank.csv"  # blank lines send it to the Python reader: the same bound holds
    q.write_text(HEAD + rows("C", 2) + "\n" + "a,b\n" * 5)
    rep = load_file(store, q)
    assert rep.status == "refused" and "more than 3 lines cannot be split" in rep.message, rep.message


def test_a_long_malformed_line_is_kept_cut(tmp_path, store):
    p = tmp_path / "wide.csv"
    p.write_text(HEAD + rows("C", 1) + "C2,Acme," + "w" * 10_000 + "\n")
    rep = load_file(store, p)
    assert (rep.status, rep.rows_rejected) == ("loaded", 1), rep.message
    raw = json.loads(store.fetchone("SELECT raw_values FROM rejects")[0])["line"]
    assert raw.startswith("C2,Acme,www") and raw[:phi.MAX_RAW_CHARS].strip("C2,Acme,w") == ""
    # DuckDB's rejects keep at most 10,000 characters of a line: the note says at least that many.
    note = raw[phi.MAX_RAW_CHARS:]
    assert note in ("… [cut: 10,000 characters in all]", "… [cut: 10,008 characters in all]"), note


def test_python_batches_end_by_size_as_well_as_by_rows():
    recs = iter([(i, ["x" * 1000]) for i in range(100)])
    old = readers.BATCH_CHARS
    try:
        readers.BATCH_CHARS = 10_000
        sizes = [b.num_rows for b in readers.arrow_batches(recs, 1, lambda *_: None)]
    finally:
        readers.BATCH_CHARS = old
    assert sizes == [10] * 10 + [0]


# -- item 15: silent surprises -------------------------------------------------------------------------

def test_only_hidden_sheets_are_refused(tmp_path, store):
    p = tmp_path / "h.xlsx"
    _workbook(p)
    wb = openpyxl.load_workbook(p)
    wb.active.sheet_state = "hidden"
    wb.create_sheet("Chart data")  # openpyxl refuses to save with no visible sheet; an empty one is "no data"
    wb.save(p)
    rep = load_file(store, p)
    assert rep.status == "refused", rep.message


def test_a_mapping_may_name_a_hidden_sheet_and_it_is_said(tmp_path, store):
    p = tmp_path / "h.xlsx"
    _workbook(p)
    wb = openpyxl.load_workbook(p)
    wb.active.title = "Data"
    wb.active.sheet_state = "hidden"
    wb.create_sheet("Cover").append(["nothing here"])
    wb.move_sheet("Cover", offset=-1)
    wb.active = 0
    wb.save(p)
    m = tmp_path / "m.toml"
    m.write_text('table = "claims"\nsheet = "Data"\n')
    rep = load_file(store, p, mapping=m)
    assert (rep.status, rep.rows_loaded) == ("loaded", 2), rep.message
    assert any("'Data', which is hidden in Excel" in w for w in rep.warnings)


def test_formula_cells_with_saved_values_load(tmp_path, store):
    """A workbook Excel calculated keeps each formula's value in <v>: it loads, with that value."""
    import zipfile

    _workbook(tmp_path / "plain.xlsx")
    src = zipfile.ZipFile(tmp_path / "plain.xlsx")
    plain = b'<c r="D3" t="inlineStr"><is><t>Aetna</t></is></c>'
    assert plain in src.read("xl/worksheets/sheet1.xml")

    def with_cell(name: str, cell: bytes) -> None:
        with zipfile.ZipFile(tmp_path / name, "w", zipfile.ZIP_DEFLATED) as out:
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = data.replace(plain, cell)
                out.writestr(item.filename, data)

    with_cell("calc.xlsx", b'<c r="D3" t="str"><f>"Ae"&amp;"tna"</f><v>Aetna</v></c>')
    rep = load_file(store, tmp_path / "calc.xlsx")
    assert (rep.status, rep.rows_loaded) == ("loaded", 2), rep.message
    assert store.fetchall("SELECT payer FROM claims WHERE claim_id = 'X1'") == [("Aetna",)]
    # the same cell with its value taken away is refused, naming it
    with_cell("nocalc.xlsx", b'<c r="D3"><f>UPPER(B3)</f><v></v></c>')
    rep = load_file(store, tmp_path / "nocalc.xlsx")
    assert rep.status == "refused" and "has 1 formula cell(s) with no saved value (D3)" in rep.message, rep.message


def test_line_counter_agrees_with_a_byte_by_byte_count_whatever_the_chunks():
    """The digest's line count and lone-CR test (fed 8 MB chunks, here a few bytes) against a count made byte by
    byte: every mix of LF, CRLF and lone CR, split anywhere, including a CR at a chunk's end."""
    import random

    rnd = random.Random(13)
    for _ in range(2000):
        data = bytes(rnd.choice(b"ab\r\n\n") for _ in range(rnd.randint(0, 30)))
        cuts = sorted(rnd.sample(range(len(data) + 1), rnd.randint(0, min(5, len(data) + 1))))
        counter = readers.LineCounter()
        for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
            counter.feed(data[a:b])
        info = readers.FileInfo(path=Path("x.csv"), sha256="", size=len(data), format="csv")
        counter.finish(info)
        lone = any(data[i] == 13 and (i + 1 == len(data) or data[i + 1] != 10) for i in range(len(data)))
        newlines = sum(1 for byte in data if byte == 10)
        assert info.lone_cr is lone, data
        assert info.lines == newlines + (1 if data and not data.endswith(b"\n") else 0), data
