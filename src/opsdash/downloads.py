"""What an analyst downloads: exactly the rows shown, with the filters that made them, safe to open in Excel.

A cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) would run as a formula in a
spreadsheet; such text cells get a leading apostrophe (OWASP's advice). Numbers stay numbers: a negative
change is data, not a formula.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


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


def csv_bytes(df: pd.DataFrame, filters: Mapping[str, Any], title: str) -> bytes:
    """CSV (UTF-8 with BOM, for Excel) whose first line states what the data is and the filters that made it."""
    buf = io.StringIO()
    header = escape_cell(f"# {title} | {describe_filters(filters)} | exported {dt.datetime.now():%Y-%m-%d %H:%M}")
    buf.write('"' + header.replace('"', '""') + '"\n')
    safe_frame(df).to_csv(buf, index=False, lineterminator="\n", date_format="%Y-%m-%d %H:%M:%S")
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


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
