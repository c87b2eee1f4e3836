"""The pack as one self-contained HTML file: tables, interactive charts (plotly.js inlined, so it opens
offline), print styles for A4/Letter landscape (the PDF is this page printed by Chromium)."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pandas as pd
import plotly.offline

from opsdash import views
from opsdash.report.pack import Pack, Table

STATUS_CLASS = {"met": "met", "missed": "missed", "below_minimum": "below", "no_data": "nodata",
                "concern": "missed", "improvement": "met"}

CSS = """
@page { size: A4 landscape; margin: 14mm 12mm 16mm 12mm; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1a1a1a; margin: 24px; font-size: 12px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 26px 0 6px; border-bottom: 2px solid #0072B2; }
.cover { border-left: 8px solid #0072B2; padding: 8px 16px; margin-bottom: 18px; }
.muted { color: #555; } .note { color: #444; margin: 2px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; page-break-inside: auto; }
tr { page-break-inside: avoid; } thead { display: table-header-group; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #e8eef4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.met { background: #d9f2ea; } .missed { background: #fbe6c4; font-weight: bold; }
.below { background: #f6cdb5; font-weight: bold; text-decoration: underline; } .nodata { color: #777; }
.kpis { display: flex; flex-wrap: wrap; gap: 10px; }
.chart { page-break-inside: avoid; margin-bottom: 10px; }
@media print { body { margin: 0; } h2 { page-break-after: avoid; } .chart { break-inside: avoid; } }
"""


def _cell(value: Any, col: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "<td></td>"
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return f"<td>{value:%Y-%m-%d %H:%M}</td>"
    cls = STATUS_CLASS.get(str(value).replace(" ", "_")) if col in ("status", "variation", "signal", "flag") else None
    num = isinstance(value, (int, float)) and not isinstance(value, bool)
    text = f"{value:,.2f}" if isinstance(value, float) else (f"{value:,}" if num else str(value))
    classes = " ".join(c for c in (cls, "num" if num else None) if c)
    return f"<td{f' class={chr(34)}{classes}{chr(34)}' if classes else ''}>{html.escape(text)}</td>"


def table_html(t: Table, key: str) -> str:
    df = t.frame
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(_cell(v, c) for c, v in zip(df.columns, row)) + "</tr>"
                   for row in df.itertuples(index=False))
    note = f'<p class="note">{html.escape(t.note)}</p>' if t.note else ""
    empty = '<p class="muted">None in this period.</p>' if df.empty and key != "actions" else ""
    return (f'<section id="{key}"><h2>{html.escape(t.title)}</h2>{note}'
            + (empty or f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>") + "</section>")


def headline_frame(pack: Pack) -> pd.DataFrame:
    """The headline table as people read it: values in their units, changes signed."""
    h = pack.tables["headline"].frame
    return views.formatted(h, columns=("value", "previous", "target")).drop(columns=["kpi"])


def render(pack: Pack) -> str:
    s = pack.summary
    due = s.get("credits_due")
    credit = "–" if due is None else f"{s['currency']} {due:,.2f}"
    latest = "; ".join(f"{r['table']}: {r['latest event']:%Y-%m-%d %H:%M}" + (" (stale)" if r["stale"] else "")
                       for _, r in pack.freshness.iterrows() if pd.notna(r["latest event"]))
    cover = (f'<div class="cover"><h1>{"Weekly" if pack.grain == "week" else "Monthly"} review: '
             f'{html.escape(pack.vendor)}</h1>'
             f'<p><b>{pack.grain.capitalize()} {html.escape(pack.period)}</b> ({pack.start:%d %b %Y} to {pack.end:%d %b %Y})'
             f' · generated {pack.generated:%Y-%m-%d %H:%M} by opsdash</p>'
             f'<p>Levels met: <b>{s["levels_met"]} of {s["levels_scored"]}</b> · critical levels missed: '
             f'<b>{s["critical_missed"]}</b> · credits due: <b>{html.escape(credit)}</b>'
             + (f' · {html.escape(s["note"])}' if s.get("note") else "") + "</p>"
             f'<p class="muted">Data as of: {html.escape(latest)}</p></div>')
    levels = pack.tables["scorecard"]
    levels = Table(levels.title, levels.frame.rename(columns={"credit": f"credit ({s['currency']})",
                                                             "credit_pct": "credit (% at risk)"}), levels.note)
    parts = [cover, table_html(levels, "scorecard"),
             table_html(Table(pack.tables["headline"].title, headline_frame(pack), pack.tables["headline"].note),
                        "headline"),
             table_html(pack.tables["signals"], "signals")]
    if pack.charts:
        parts.append('<section id="charts"><h2>Critical service levels over time</h2>')
        for i, c in enumerate(pack.charts):
            fig = c.figure.update_layout(width=1000, height=380, template="plotly_white")
            parts.append(f'<div class="chart">{fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart{i}")}</div>')
        parts.append("</section>")
    for key in ("errors", "denials", "breaches", "events", "reconciliation", "actions", "definitions"):
        parts.append(table_html(pack.tables[key], key))
    settings = pd.DataFrame({"setting": list(pack.settings), "value": [str(v) for v in pack.settings.values()]})
    parts.append(table_html(Table("Filters and settings used", settings), "settings"))
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>opsdash review · {html.escape(pack.vendor)} · {html.escape(pack.period)}</title>"
            f"<style>{CSS}</style><script>{plotly.offline.get_plotlyjs()}</script></head><body>"
            + "".join(parts) + "</body></html>")
