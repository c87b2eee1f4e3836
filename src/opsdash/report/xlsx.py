"""The pack as a workbook: a cover sheet, then one sheet per table, frozen header rows, units in the
headers, and number formats per cell (percentages for rates, one decimal for days and hours)."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from opsdash import catalog, downloads
from opsdash.report.pack import Pack

FORMATS = {"fraction": "0.0%", "days": '0.0 "days"', "hours": '0.0 "hours"', "seconds": '0 "s"', "count": "#,##0"}
HEADER = PatternFill("solid", fgColor="E8EEF4")


def _sheet(wb: Workbook, name: str, df: pd.DataFrame, units: dict[str, Any] | None = None) -> None:
    ws = wb.create_sheet(name[:31])
    safe = downloads.safe_frame(df)
    ws.append(list(safe.columns))
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), HEADER
    for r, row in enumerate(safe.itertuples(index=False), start=2):
        for c, value in enumerate(row, start=1):
            if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
                continue
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            cell = ws.cell(row=r, column=c, value=value)
            unit = (units or {}).get((r - 2, safe.columns[c - 1]))
            if unit in FORMATS and isinstance(value, (int, float)):
                cell.number_format = FORMATS[unit]
    ws.freeze_panes = "A2"
    for col in ws.columns:
        width = max((len(str(c.value)) for c in col if c.value is not None), default=8)
        ws.column_dimensions[col[0].column_letter].width = min(60, max(10, width + 2))


def render(pack: Pack) -> bytes:
    wb = Workbook()
    cover = wb.active
    cover.title = "cover"
    s = pack.summary
    for k, v in [("review of", pack.vendor), (pack.grain, pack.period), ("from", pack.start), ("to", pack.end),
                 ("generated", pack.generated), ("levels met", f"{s['levels_met']} of {s['levels_scored']}"),
                 ("critical levels missed", s["critical_missed"]),
                 (f"credits due ({s['currency']})", s["credits_due"] if s["credits_due"] is not None else "–")]:
        cover.append([k, v])
    for _, r in pack.freshness.iterrows():
        cover.append([f"latest {r['table']}", r["latest event"].to_pydatetime() if pd.notna(r["latest event"]) else "–"])
    cover.column_dimensions["A"].width, cover.column_dimensions["B"].width = 28, 40

    cols = ["label", "process", "priority", "level", "target", "minimum", "value", "status", "consecutive_missed",
            "credit_pct", "credit"]
    raw = pack.raw_levels.reset_index(drop=True)
    levels = raw[cols].astype(object).rename(columns={
        "target": "target (KPI's unit)", "minimum": "minimum (KPI's unit)", "value": "value (KPI's unit)",
        "credit_pct": "credit (% of at risk)", "credit": f"credit ({s['currency']})"})
    units = {}
    for i, kpi_id in enumerate(raw["kpi"]):
        unit = catalog.KPIS[kpi_id].unit if kpi_id in catalog.KPIS else None
        for col in ("target (KPI's unit)", "minimum (KPI's unit)", "value (KPI's unit)"):
            units[(i, col)] = unit
        units[(i, "credit (% of at risk)")] = "fraction"
    _sheet(wb, "scorecard", levels, units)

    head = pack.tables["headline"].frame
    hunits = {(i, col): catalog.KPIS[k].unit for i, k in enumerate(head["kpi"]) for col in ("value", "previous",
                                                                                              "change", "target")}
    _sheet(wb, "headline", head, hunits)
    for key in ("signals", "errors", "denials", "breaches", "events", "reconciliation", "actions", "definitions"):
        df = pack.tables[key].frame
        units = {}
        if key == "reconciliation" and len(df):
            units = {(i, col): catalog.KPIS[k].unit for i, k in enumerate(df["kpi"]) if k in catalog.KPIS
                     for col in ("reported", "measured", "difference")}
        if key == "breaches":
            df = df.rename(columns={"hours_late": "hours late (hours)"})
        _sheet(wb, key, df, units)
    for i, c in enumerate(pack.charts, start=1):
        _sheet(wb, f"chart{i} data", c.frame)
    _sheet(wb, "settings", pd.DataFrame({"setting": list(pack.settings), "value": [str(v) for v in pack.settings.values()]}))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
