"""The pack as one self-contained HTML file: tables, interactive charts (plotly.js inlined, so it opens
offline), print styles for A4/Letter landscape (the PDF is this page printed by Chromium).

Every cell is the people's text of pack.py (labels.py formats), escaped: names from data are shown, never
rendered. Printing: a table's title and column headers sit in its header group, which Chromium repeats on
every page the table runs onto, so no row is left without its headers and no title without its table; rows
never split; nothing forces a page break, so no page is left half empty.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd
import plotly.offline

from opsdash import labels
from opsdash.report.pack import Pack, Table, table_label

#: Where the tables go; a table the pack gains later (and does not list here) goes after the signals.
ORDER = ("scorecard", "headline", "signals", "*", "charts", "errors", "denials", "at_risk", "vendor_models", "breaches",
         "reconciliation", "actions", "definitions")

STATUS_CLASS = {"Met": "met", "Missed": "missed", "Below minimum": "below", "No data": "nodata",
                "Concern": "missed", "Improvement": "met", "Discrepancy": "missed", "Open": "missed",
                "Projected to miss": "missed", "At risk in busy weeks": "below", "On target": "met",
                "Not judged": "nodata"}
STATUS_COLUMNS = ("Status", "Signal", "Variation", "Reconciliation", "Completed")
_NUMBER = re.compile(r"^(?:[A-Z]{3} )?[+\-−]?[\d,]+(?:\.\d+)?(?:%| pts| days| hours| s)?(?: \(open\))?$")

CSS = """
@page { size: A4 landscape; margin: 12mm 10mm 16mm 10mm; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1a1a1a; margin: 24px;
       font-size: 11.5px; line-height: 1.35; }
h1 { font-size: 24px; margin: 0 0 4px; }
.cover { border-left: 8px solid #0072B2; padding: 6px 16px; margin-bottom: 12px; }
.cover p { margin: 3px 0; }
.muted { color: #555; }
.figures { display: flex; gap: 10px; margin: 8px 0 6px; }
.figure { border: 1px solid #bbb; border-radius: 4px; padding: 6px 12px; min-width: 150px; }
.figure b { display: block; font-size: 18px; }
.summary { margin: 6px 0 10px; padding-left: 20px; font-size: 12.5px; }
.summary li { margin: 2px 0; }
section { margin: 14px 0 0; }
h2, .title th { font-size: 16px; font-weight: bold; text-align: left; color: #1a1a1a; background: none;
                border: none; border-bottom: 2px solid #0072B2; padding: 0 0 3px; }
h2 { margin: 0 0 6px; }
.title th { padding-top: 6px; }
.note th, p.note { font-weight: normal; font-size: 11px; color: #444; background: none; border: none;
                   padding: 3px 0 5px; }
table { border-collapse: collapse; width: 100%; margin: 0 0 6px; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
.cols th { background: #e8eef4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.met { background: #d9f2ea; } .missed { background: #fbe6c4; font-weight: bold; }
.below { background: #f6cdb5; font-weight: bold; text-decoration: underline; } .nodata { color: #666; }
.keep { break-inside: avoid; page-break-inside: avoid; }
.actions td { height: 1.3cm; }
.actions col.action { width: 60%; } .actions col.owner { width: 25%; } .actions col.due { width: 15%; }
.chart { break-inside: avoid; page-break-inside: avoid; margin: 0 0 8px; }
dl.about { display: grid; grid-template-columns: max-content auto; gap: 3px 14px; margin: 0; }
dl.about dt { font-weight: bold; } dl.about dd { margin: 0; }
@media print { body { margin: 0; } h2 { break-after: avoid; page-break-after: avoid; } }
"""


def _cell(text: Any, col: str) -> str:
    text = labels.EMPTY if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text)
    classes = []
    if col in STATUS_COLUMNS and text in STATUS_CLASS:
        classes.append(STATUS_CLASS[text])
    if _NUMBER.match(text):
        classes.append("num")
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attr}>{html.escape(text)}</td>"


def table_html(t: Table, key: str) -> str:
    """A table with its title and note in the header group (repeated on each printed page), or the title and a
    line saying there is nothing to show."""
    df = t.shown
    title = html.escape(t.title)
    note = html.escape(t.note)
    if df.empty:
        text = html.escape(t.empty or "Nothing to show for this period.")
        return (f'<section id="{key}" class="keep"><h2>{title}</h2>'
                + (f'<p class="note">{note}</p>' if note else "") + f'<p class="muted">{text}</p></section>')
    n = len(df.columns)
    head = (f'<tr class="title"><th colspan="{n}">{title}</th></tr>'
            + (f'<tr class="note"><th colspan="{n}">{note}</th></tr>' if note else "")
            + '<tr class="cols">' + "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns) + "</tr>")
    body = "".join("<tr>" + "".join(_cell(v, str(c)) for c, v in zip(df.columns, row)) + "</tr>"
                   for row in df.itertuples(index=False))
    cols = ""
    if key == "actions":
        cols = "<colgroup>" + "".join(f'<col class="{c.lower()}">' for c in df.columns) + "</colgroup>"
    return (f'<section id="{key}"><table class="{key}">{cols}<thead>{head}</thead><tbody>{body}</tbody>'
            "</table></section>")


def headline_frame(pack: Pack) -> pd.DataFrame:
    """The headline table as people read it: values in their units, changes signed."""
    return pack.tables["headline"].shown


def _when(t: Any) -> str:
    """A data table's latest event: its day, with the time where the table records times."""
    t = pd.Timestamp(t)
    return labels.date(t) if t == t.normalize() else labels.timestamp(t)


def _cover(pack: Pack) -> str:
    s = pack.summary
    kind = "Weekly" if pack.grain == "week" else "Monthly"
    latest = "; ".join(f"{table_label(r['table'])} {_when(r['latest event'])}"
                       + (" (stale)" if r["stale"] else "")
                       for _, r in pack.freshness.iterrows() if pd.notna(r["latest event"]))
    due = s.get("credits_due")
    credit = (labels.money(due, s["currency"]) if due is not None else "Monthly" if pack.grain != "month"
              else "None due" if not s["critical_missed"] else "Not set")
    figures = [("Levels met", f"{s['levels_met']} of {s['levels_scored']}"),
               ("Critical levels missed", f"{s['critical_missed']}"), ("Credits due", credit)]
    boxes = "".join(f'<div class="figure">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in figures)
    items = "".join(f'<li data-key="{html.escape(x.key)}">{html.escape(x.text)}</li>' for x in pack.sentences)
    return (f'<div class="cover" id="cover"><h1>{kind} review: {html.escape(pack.vendor)}</h1>'
            f'<p><b>{html.escape(pack.period_label)}</b> · {labels.date(pack.start)} to {labels.date(pack.end)}'
            f' · made {labels.timestamp(pack.generated)} by opsdash</p>'
            f'<p class="muted">Data as of: {html.escape(latest or "no data")}</p></div>'
            f'<section id="summary" class="keep"><h2>Summary</h2><div class="figures">{boxes}</div>'
            f'<ul class="summary">{items}</ul></section>')


def _charts(pack: Pack) -> str:
    if not pack.charts:
        return ""
    out = []
    for i, c in enumerate(pack.charts):
        fig = c.figure.update_layout(width=1000, height=300, template="plotly_white")
        div = f'<div class="chart">{fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart{i}")}</div>'
        # The section's title travels with its first chart.
        out.append(f'<div class="keep"><h2>Critical service levels over time</h2>{div}</div>' if i == 0 else div)
    return '<section id="charts">' + "".join(out) + "</section>"


def _about(pack: Pack) -> str:
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in pack.about)
    return f'<section id="about" class="keep"><h2>About this pack</h2><dl class="about">{rows}</dl></section>'


def render(pack: Pack) -> str:
    keys = list(pack.tables)
    known = [k for k in ORDER if k not in ("*", "charts")]
    parts = [_cover(pack)]
    for key in ORDER:
        if key == "charts":
            parts.append(_charts(pack))
        elif key == "*":
            parts += [table_html(pack.tables[k], k) for k in keys if k not in known]
        elif key in pack.tables:
            parts.append(table_html(pack.tables[key], key))
    parts.append(_about(pack))
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>opsdash review · {html.escape(pack.vendor)} · {html.escape(pack.period_label)}</title>"
            f"<style>{CSS}</style><script>{plotly.offline.get_plotlyjs()}</script></head><body>"
            + "".join(parts) + "</body></html>")
