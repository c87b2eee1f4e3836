"""The pack as a workbook: a cover sheet with the summary in words, then one sheet per table, frozen header
rows, headers in words with their units, and numbers as numbers with a format per cell (percentages for
rates, one decimal for days and hours, money with two): a reader can sum, sort and chart them. Every text cell,
on every sheet, is escaped against formula injection as the CSV downloads are (downloads.escape_cell): a vendor
named ``=HYPERLINK(...)`` is shown, never run."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from opsdash import catalog, downloads, labels
from opsdash.report.pack import Pack, Table, table_label

#: Number formats by KPI unit or column kind.
FORMATS = {"fraction": "0.0%", "percent": "0.0%", "days": '0.0 "days"', "hours": '0.0 "hours"',
           "seconds": '0 "s"', "count": "#,##0", "money": "#,##0.00", "number": "#,##0.0", "score": "0.000",
           "date": "d mmm yyyy", "timestamp": "d mmm yyyy hh:mm", "month": "mmm yyyy"}
CHANGE_FORMATS = {"fraction": '+0.0%;-0.0%;0.0%', "days": '+0.0 "days";-0.0 "days";0.0 "days"',
                  "hours": '+0.0 "hours";-0.0 "hours";0.0 "hours"', "seconds": '+0 "s";-0 "s";0 "s"',
                  "count": "+#,##0;-#,##0;0"}
HEADER = PatternFill("solid", fgColor="E8EEF4")


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _header(col: str, kind: str | None, currency: str) -> str:
    if col == "kpi":
        return "KPI"
    label = labels.column(col).label
    if kind == "kpi":
        return f"{label} (in the KPI's unit)"
    if kind == "kpi_change":
        return f"{label} (in the KPI's unit; rates in points)"
    if kind == "money":
        return f"{label} ({currency})"
    if kind == "hours" and "hours" not in label.lower():
        return f"{label} (hours)"
    return label


def _value(value: Any, col: str, kind: str | None, grain: str) -> tuple[Any, str | None]:
    """A cell's value for Excel (numbers stay numbers, codes become words) and its number format."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if kind == "bool" or isinstance(value, bool):
        return ("Yes" if value else "No"), None
    if kind == "period" or labels.column(col).kind == "period":
        value = pd.Timestamp(value).to_pydatetime()
        return value, FORMATS["month"] if grain == "month" else FORMATS["date"]
    if kind in ("date", "timestamp") and isinstance(value, (dt.date, dt.datetime)):
        return value, FORMATS[kind]
    if isinstance(value, dt.datetime):
        return value, FORMATS["timestamp"]
    if isinstance(value, dt.date):
        return value, FORMATS["date"]
    if isinstance(value, str):
        if col == "kpi" or labels.column(col).kind in ("code", "kpi") or kind == "code":
            return labels.value_word(value), None
        return value, None
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) else int(value), FORMATS.get(kind or "")
    return str(value), None


def _sheet(wb: Workbook, name: str, t: Table | pd.DataFrame, currency: str, grain: str,
           kinds: dict[str, str] | None = None) -> None:
    df = t.frame if isinstance(t, Table) else t
    kinds = {**(t.kinds if isinstance(t, Table) else {}), **(kinds or {})}
    df = df.drop(columns=[c for c in ("label",) if c in df and "kpi" in df]).reset_index(drop=True)
    ws = wb.create_sheet(name[:31])
    headers = t.headers if isinstance(t, Table) else {}
    ws.append([headers.get(str(c)) or _header(str(c), kinds.get(str(c)), currency) for c in df.columns])
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), HEADER
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    kpis = list(df["kpi"]) if "kpi" in df else [None] * len(df)
    for r, row in enumerate(df.itertuples(index=False), start=2):
        for c, value in enumerate(row, start=1):
            if _missing(value):
                continue
            col = str(df.columns[c - 1])
            kind = kinds.get(col) or labels.column(col).kind
            unit = catalog.KPIS[kpis[r - 2]].unit if kpis[r - 2] in catalog.KPIS else None
            fmt_kind = unit if kind == "kpi" else kind
            out, fmt = _value(value, col, fmt_kind, grain)
            if kind == "kpi_change" and unit and isinstance(out, (int, float)):
                fmt = CHANGE_FORMATS.get(unit)
            cell = ws.cell(row=r, column=c, value=out)
            if fmt:
                cell.number_format = fmt
    ws.freeze_panes = "A2"
    for col in ws.columns:
        width = max((len(str(c.value)) for c in col[1:] if c.value is not None), default=8)
        ws.column_dimensions[col[0].column_letter].width = min(60, max(12, len(str(col[0].value)) // 2, width + 2))


def _defuse(wb: Workbook) -> None:
    """Every text cell of every sheet made inert: one gate at the end, so no cell written above can slip past it.
    A text starting with =, +, -, @, tab or CR is stored as text (openpyxl would store one starting with = as a
    formula) with Excel's quote prefix, so it stays text when someone edits the cell, and reads exactly as
    written: no apostrophe shows, as it would if one were put into the text (the CSV downloads' way). Numbers,
    dates and empty cells are left as they are."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(downloads.FORMULA_START):
                    cell.data_type = "s"  # openpyxl typed a text starting with = as a formula when it was set
                    cell.quotePrefix = True


def render(pack: Pack) -> bytes:
    wb = Workbook()
    cover = wb.active
    cover.title = "Summary"
    s = pack.summary
    currency = s["currency"]
    cover.append([f"{'Weekly' if pack.grain == 'week' else 'Monthly'} review: {pack.vendor}"])
    cover["A1"].font = Font(bold=True, size=14)
    rows: list[list[Any]] = [
        ["Period", pack.period_label], ["From", pack.start], ["To", pack.end], ["Made", pack.generated],
        ["Levels met", f"{s['levels_met']} of {s['levels_scored']}"],
        ["Critical levels missed", s["critical_missed"]],
        [f"Credits due ({currency})", s["credits_due"] if s["credits_due"] is not None else labels.EMPTY]]
    rows += [[f"Latest {table_label(r['table']).lower()}", r["latest event"].to_pydatetime()]
             for _, r in pack.freshness.iterrows() if pd.notna(r["latest event"])]
    for row in rows:
        cover.append(row)
        v = cover.cell(row=cover.max_row, column=2)
        if isinstance(row[1], dt.datetime):
            v.number_format = FORMATS["timestamp"]
        elif isinstance(row[1], dt.date):
            v.number_format = FORMATS["date"]
        elif isinstance(row[1], float):
            v.number_format = FORMATS["money"]
    cover.append([])
    cover.append(["Summary"])
    cover.cell(row=cover.max_row, column=1).font = Font(bold=True)
    for x in pack.sentences:
        cover.append([x.text])
    cover.append([])
    for k, v in pack.about:
        cover.append([k, v])
    cover.column_dimensions["A"].width, cover.column_dimensions["B"].width = 30, 60

    names = {"scorecard": "Service levels", "headline": "Headline KPIs", "signals": "Signals",
             "errors": "Error categories", "denials": "Denial reasons", "breaches": "Breaches", "events": "Events",
             "reconciliation": "Reconciliation", "actions": "Actions", "definitions": "Definitions",
             "at_risk": "Claims at risk", "vendor_models": "Vendor risk model"}
    for key, t in pack.tables.items():
        _sheet(wb, names.get(key, labels.humanise(key)), t, currency, pack.grain)
    for i, c in enumerate(pack.charts, start=1):
        kpi = next((k for k in catalog.KPIS.values() if c.title.startswith(k.label)), None)
        unit = {"value": kpi.unit, "spc_mean": kpi.unit, "spc_lpl": kpi.unit, "spc_upl": kpi.unit} if kpi else {}
        _sheet(wb, f"Chart {i} data", c.frame, currency, pack.grain, {**unit, "spc_point_type": "code"})
    _defuse(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
