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
