"""What an analyst downloads: exactly the rows shown, with the filters that made them, safe to open in Excel.

A cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) would run as a formula in a
spreadsheet; such text cells get a leading apostrophe (OWASP's advice). Spreadsheets and naive readers also
break rows on a bare carriage return and trim leading blanks, so every line inside a cell whose first
non-blank character is one of those gets the apostrophe too, and the CSV quotes every cell holding a CR, LF,
comma or quote (rows end in CRLF, RFC 4180). Numbers stay numbers: a negative change is data, not a formula.
The command line's CSV output goes through the same functions.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A line of a cell (after the start or a line break), its leading blanks, then a formula character.
_LINE_FORMULA = re.compile(r"(^|\r\n|\r|\n)([^\S\r\n]*)(?=[=+\-@])")


def escape_cell(value: Any) -> Any:
    """Text a spreadsheet could run as a formula, made inert with an apostrophe: at the start of the cell and of
    every line in it (after blanks), as a reader splitting on CR or trimming blanks would see it."""
    if not isinstance(value, str):
        return value
    out = _LINE_FORMULA.sub(lambda m: f"{m[1]}{m[2]}'", value)
    if out.startswith(FORMULA_START):
        out = "'" + out  # a cell starting with a tab or CR (OWASP's list): the apostrophe comes first too
    return out


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell (and column name) escaped against formula injection."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(escape_cell)
    out.columns = [escape_cell(str(c)) for c in out.columns]
    return out


def describe_filters(filters: Mapping[str, Any]) -> str:
    """One line naming every filter, e.g. 'from=2026-01-01; to=2026-10-31; vendor=A|B'."""
    parts = []
    for k, v in filters.items():
        if v is None or v == [] or v == ():
            continue
        text = "|".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
        parts.append(f"{k}={text}")
    return "; ".join(parts) or "no filters"


def csv_text(df: pd.DataFrame) -> str:
    """The frame as CSV text, formula-escaped, with every cell holding a CR, LF, comma or quote quoted (the
    csv module quotes a cell holding any character of the line terminator, hence CRLF)."""
    buf = io.StringIO()
    safe_frame(df).to_csv(buf, index=False, lineterminator="\r\n", date_format="%Y-%m-%d %H:%M:%S")
    return buf.getvalue()


def csv_bytes(df: pd.DataFrame, filters: Mapping[str, Any], title: str) -> bytes:
    """CSV (UTF-8 with BOM, for Excel) whose first line states what the data is and the filters that made it."""
    header = escape_cell(f"# {title} | {describe_filters(filters)} | exported {dt.datetime.now():%Y-%m-%d %H:%M}")
    return ("\ufeff" + '"' + header.replace('"', '""') + '"\r\n' + csv_text(df)).encode("utf-8")


def read_csv(data: bytes) -> pd.DataFrame:
    """Read back a download (skipping its header line): for tests and for analysts' scripts."""
    return pd.read_csv(io.BytesIO(data), skiprows=1, encoding="utf-8-sig")


def xlsx_bytes(df: pd.DataFrame, filters: Mapping[str, Any], title: str) -> bytes:
    """A workbook: the data on one sheet, what it is and the filters on another."""
    buf = io.BytesIO()
    info = pd.DataFrame({"item": ["data", "exported", *filters.keys()],
                         "value": [title, f"{dt.datetime.now():%Y-%m-%d %H:%M}",
                                   *(describe_filters({k: v}).split("=", 1)[-1] for k, v in filters.items())]})
    data = safe_frame(df)
    for col in data.columns:  # Excel has no time zones; dates stay dates
        if isinstance(data[col].dtype, pd.DatetimeTZDtype):
            data[col] = data[col].dt.tz_localize(None)
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        data.to_excel(xl, sheet_name="data", index=False)
        safe_frame(info).to_excel(xl, sheet_name="filters", index=False)
    return buf.getvalue()


def file_name(name: str, filters: Mapping[str, Any], ext: str) -> str:
    """e.g. clean_claim_rate_2026-01-01_to_2026-10-31_vendor-Meridian.csv (only safe characters)."""
    parts = [name]
    if filters.get("from") or filters.get("to"):
        parts.append(f"{filters.get('from') or 'start'}_to_{filters.get('to') or 'latest'}")
    for k, v in filters.items():
        if k in ("from", "to") or v in (None, [], ()):
            continue
        vals = v if isinstance(v, (list, tuple)) else [v]
        parts.append(f"{k}-" + "+".join(str(x) for x in vals[:3]) + ("+more" if len(vals) > 3 else ""))
    stem = re.sub(r"[^A-Za-z0-9_.+-]+", "-", "_".join(parts)).strip("-")[:150]
    return f"{stem}.{ext}"
