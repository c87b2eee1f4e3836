"""Downloads: the data shown, the filters in a header, formula injection escaped."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd

from opsdash import downloads

FILTERS = {"from": dt.date(2026, 1, 1), "to": dt.date(2026, 3, 31), "grain": "month", "vendor": ["=evil", "Helix"],
           "facility": []}


def test_text_starting_like_a_formula_is_escaped_numbers_are_not():
    df = pd.DataFrame({"name": ["=SUM(A1)", "+1", "-2", "@cmd", "\tx", "plain", None], "change": [-0.5] * 7})
    out = downloads.safe_frame(df)
    assert out["name"].tolist()[:6] == ["'=SUM(A1)", "'+1", "'-2", "'@cmd", "'\tx", "plain"]
    assert out["change"].tolist() == [-0.5] * 7  # a negative number is data


def test_csv_has_the_filters_first_and_reads_back_as_shown():
    df = pd.DataFrame({"period_start": [dt.date(2026, 1, 1), dt.date(2026, 2, 1)], "vendor": ["Helix", "=HYPERLINK()"],
                       "value": [0.95, None]})
    data = downloads.csv_bytes(df, FILTERS, "Clean claim rate")
    first = data.decode("utf-8-sig").splitlines()[0]
    assert "Clean claim rate" in first and "from=2026-01-01" in first and "vendor==evil|Helix" in first and first.startswith("\"#")
    back = downloads.read_csv(data)
    assert list(back.columns) == ["period_start", "vendor", "value"]
    assert back["vendor"].tolist() == ["Helix", "'=HYPERLINK()"]
    assert back["value"].iloc[0] == 0.95 and pd.isna(back["value"].iloc[1])


def test_xlsx_holds_data_and_filters_sheets():
    df = pd.DataFrame({"vendor": ["A", "@B"], "value": [1, 2]})
    wb = openpyxl.load_workbook(io.BytesIO(downloads.xlsx_bytes(df, FILTERS, "Volume")))
    assert wb.sheetnames == ["data", "filters"]
    rows = list(wb["data"].values)
    assert rows == [("vendor", "value"), ("A", 1), ("'@B", 2)]
    info = dict(list(wb["filters"].values)[1:])
    assert info["data"] == "Volume" and info["vendor"] == "'=evil|Helix" and info["from"] == "2026-01-01"


def test_file_names_say_what_and_which_filters_with_safe_characters():
    name = downloads.file_name("clean_claim_rate", FILTERS, "csv")
    assert name == "clean_claim_rate_2026-01-01_to_2026-03-31_grain-month_vendor--evil+Helix.csv"
    assert downloads.file_name("x", {"vendor": ["a/../b"]}, "csv") == "x_vendor-a-..-b.csv"


# -- issue 11, item 8: a bare CR or LF inside a cell never starts a formula a reader could see -------------

HOSTILE_CELLS = ["\r=1+1", "\n=1+1", "\r\n@SUM(1)", "ok\r+cmd", "ok\n -2+3", "\t=x", " =1+1", "a,b", 'say "hi"',
                 "line one\nline two"]


def _formula_like(cell: str) -> bool:
    return cell.lstrip(" \t\"").startswith(("=", "+", "-", "@"))


def test_every_line_of_a_cell_is_escaped_and_cells_with_breaks_are_quoted():
    import csv

    data = downloads.csv_bytes(pd.DataFrame({"payer": HOSTILE_CELLS}), {"payer": ["x\r=1+1"]}, "t")
    text = data.decode("utf-8-sig")
    # Python's csv module: one row per cell, each read back whole, each line inert.
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1] == ["payer"] and len(rows) == 2 + len(HOSTILE_CELLS)
    back = [r[0] for r in rows[2:]]
    for original, cell in zip(HOSTILE_CELLS, back):
        assert cell.replace("'", "") == original.replace("'", "")  # only apostrophes were added
        for line in cell.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            assert not _formula_like(line), (original, cell)
    assert back[7] == "a,b" and back[8] == 'say "hi"' and back[9] == "line one\nline two"
    # A reader that breaks rows on any CR or LF, ignoring quotes, and cells on commas: no cell is a formula.
    import re

    for fragment in re.split(r"[\r\n]", text):
        for cell in fragment.split(","):
            assert not _formula_like(cell), fragment


def test_the_reported_case_is_quoted_and_escaped():
    data = downloads.csv_bytes(pd.DataFrame({"payer": ["\r=1+1"]}), {}, "t").decode("utf-8-sig")
    body = data.split("\r\n", 1)[1]
    assert body == "payer\r\n\"'\r'=1+1\"\r\n"
