"""Shared page pieces: KPI tiles, charts and tables with their downloads, and a guard that turns a failure
into a readable message while the rest of the page goes on."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from html import escape as esc
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from opsdash import audit, catalog, downloads, icons, labels, periods, views
from opsdash.store import StoreBusy
from opsdash.ui import auth, boot
from opsdash.ui.text import md as text_md
from opsdash.views import Filters, Tile

VARIATION_ICONS = {"improvement": ":material/trending_up:", "concern": ":material/warning:",
                   "neutral": ":material/change_circle:", "common_cause": ":material/drag_handle:"}
#: Badge colours after Making Data Count (blue improvement, orange concern), safe for colour-blind readers.
VARIATION_BADGES = {"improvement": "blue", "concern": "orange", "neutral": "violet", "common_cause": "gray"}
BUSY = ("A load is writing to the store right now, so {what} cannot be read; it comes back when the load "
        "finishes, usually within a minute.")


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """Show a failure as a message naming what could not be shown; the rest of the page still renders. A load
    holding the store is not a failure: the section says so (a rerun, or any filter change, tries again)."""
    try:
        yield
    except StoreBusy:
        st.info(BUSY.format(what=text_md(what)), icon=":material/hourglass_top:")
    except Exception as exc:  # noqa: BLE001 - a page must never show a traceback
        # The message may quote data (an unknown vendor's name): shown as text.
        st.error(f"Could not show {text_md(what)}: "
                 f"{text_md(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)}")


def outside_notice(admin: bool) -> None:
    """Every page says when stored rows are left out of its figures because a date of theirs lies outside the
    dates opsdash reports on (a typo or placeholder in a vendor's export, or a store edited by hand), so a
    figure is never silently short; administrators are told which loads to look at."""
    from opsdash.ui import data

    with guard("the check of stored dates"):
        by_column, per_table = data.outside_window(data.source(), data.version())
        if not per_table:
            return
        total = sum(per_table.values())
        tables = ", ".join(f"{t} {n:,}" for t, n in per_table.items())
        text = (f"{total:,} stored row(s) are left out of every figure, chart and download: a date or time of "
                f"theirs lies outside {catalog.WINDOW_WORDS} ({tables}). ")
        if admin:
            loads = by_column.drop_duplicates("load")
            named = "; ".join(f"load {int(r.load)}" + (f" ({text_md(r.file)})" if isinstance(r.file, str) else "")
                              for r in loads.head(5).itertuples())
            more = f" and {len(loads) - 5} more" if len(loads) > 5 else ""
            text += f"They came from {named}{more}: the Loads and rejects page lists them by column."
        else:
            text += "An administrator can find them on the Loads and rejects page."
        st.warning(text, icon=":material/event_busy:")


def no_data(what: str, f: Filters) -> None:
    scope = downloads.describe_filters({k: v for k, v in f.as_dict().items() if k != "grain"})
    st.info(f"No data for {text_md(what)} with these filters ({text_md(scope)}).")


def _signed(kpi: catalog.Kpi, change: float | None) -> str | None:
    if change is None:
        return None
    if abs(change) < (0.0005 if kpi.unit == "fraction" else 0.05):
        return "no change"  # never "-0.0"
    return catalog.format_change(kpi, change)


# -- tiles ----------------------------------------------------------------------------------------
# Status against the target and direction of change are two readings and look different: the status is a
# filled pill with a shape (tick, cross, dash) and a word, in Okabe-Ito bluish green / reddish purple / grey
# with black text (contrast > 6:1 on each, in either theme); the change is coloured text with an arrow in the
# project's MDC-style blue (better) / orange (worse) / grey, never a pill. Both schemes are from Okabe-Ito's
# colour-blind-safe palette and share no colour.
STATUS_WORDS = {"on_target": "On target", "off_target": "Off target", "no_target": "No target"}
STATUS_COLOURS = {"on_target": "#009E73", "off_target": "#CC79A7", "no_target": "#BBBBBB"}
_STATUS_SHAPES = {  # 12x12 icons: a tick, a cross, a dash
    "on_target": '<path d="M2.5 6.5l2.5 2.5 4.5-5.5" fill="none" stroke="#000" stroke-width="1.8"/>',
    "off_target": '<path d="M3 3l6 6M9 3l-6 6" stroke="#000" stroke-width="1.8"/>',
    "no_target": '<path d="M3 6h6" stroke="#000" stroke-width="1.8"/>',
}
CHANGE_CLASSES = {"blue": "better", "orange": "worse", "gray": "same"}
TILE_CSS = """<style>
.opsdash-tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(12.5rem,1fr));grid-auto-rows:1fr;gap:.75rem;margin:.25rem 0 .5rem}
.opsdash-tile{display:flex;flex-direction:column;gap:.2rem;padding:.7rem .85rem;border:1px solid rgba(128,128,128,.35);border-left-width:6px;border-radius:.5rem;min-width:0}
.opsdash-tile-head{display:flex;justify-content:space-between;align-items:center;gap:.4rem}
.opsdash-tile-status{display:inline-flex;align-items:center;gap:.3rem;padding:.05rem .5rem;border-radius:999px;color:#000;font-weight:600;font-size:.8rem;white-space:nowrap}
.opsdash-tile-title{font-weight:600;font-size:.95rem;line-height:1.25;overflow-wrap:anywhere;white-space:normal}
.opsdash-tile-period,.opsdash-tile-spc,.opsdash-tile-todate{font-size:.8rem;opacity:.8;line-height:1.3}
.opsdash-tile-value{font-size:1.9rem;line-height:1.15;font-weight:500}
.opsdash-tile-target{font-size:.9rem;opacity:.85;font-weight:400;display:inline-block;white-space:nowrap}
.opsdash-tile-change{font-size:.85rem;font-weight:600}
.opsdash-tile-change.better{color:#0072B2}.opsdash-tile-change.worse{color:#A65E00}.opsdash-tile-change.same{opacity:.75;font-weight:400}
.opsdash-tile-spark{margin-top:auto;width:100%;height:28px}
.opsdash-tile-spark polyline{stroke:#8C8C8C}
@media (prefers-color-scheme: dark){.opsdash-tile-change.better{color:#56B4E9}.opsdash-tile-change.worse{color:#E69F00}}
</style>"""


def spc_icon(variation: str | None, assurance: str | None, side: str | None = None) -> str:
    """The SPC variation and assurance icons (Making Data Count, drawn by opsdash.icons) of a tile, as inline
    SVG; each names its reading in its title, and the tile gives the reading in words beside it."""
    return icons.icon_svg(variation, side, size=30) + icons.assurance_svg(assurance, size=30)


def _sparkline(values: list[float], target: float | None) -> str:
    """The complete periods as a small grey line (no better/worse colour: the status says that), with the
    target as a dashed line when it falls within the values' range."""
    pts = [v for v in values if v == v]
    if len(pts) < 2:
        return ""
    lo, hi = min(pts), max(pts)
    span = (hi - lo) or 1.0
    xy = " ".join(f"{i * 100 / (len(pts) - 1):.1f},{26 - (v - lo) * 24 / span:.1f}" for i, v in enumerate(pts))
    line = ""
    if target is not None and lo <= target <= hi:
        y = 26 - (target - lo) * 24 / span
        line = (f'<line x1="0" x2="100" y1="{y:.1f}" y2="{y:.1f}" stroke="#8C8C8C" stroke-dasharray="3 2" '
                f'stroke-width="1" vector-effect="non-scaling-stroke"/>')
    return (f'<svg class="opsdash-tile-spark" viewBox="0 0 100 28" preserveAspectRatio="none" role="img" '
            f'aria-label="trend of the complete periods">{line}<polyline points="{xy}" fill="none" '
            f'stroke-width="1.5" vector-effect="non-scaling-stroke"/></svg>')


def _change_line(k: catalog.Kpi, change: float | None, against: str) -> str:
    """'▲ +0.5 pts vs Sep 2026' coloured by better/worse, 'No change vs Sep 2026', or nothing to compare."""
    if change is None:
        return f'<div class="opsdash-tile-change same">{esc(f"Nothing to compare with in {against}")}</div>'
    words = _signed(k, change)
    cls = CHANGE_CLASSES[change_colour(k, change)]
    if words == "no change":
        return f'<div class="opsdash-tile-change same">{esc(f"No change vs {against}")}</div>'
    arrow = "▲" if change > 0 else "▼"
    return f'<div class="opsdash-tile-change {cls}">{arrow} {esc(f"{words} vs {against}")}</div>'


def _lower_first(words: str) -> str:
    """A reading's words inside a sentence: 'Will hit and miss' -> 'will hit and miss' ('SPC' stays)."""
    return words[:1].lower() + words[1:]


def tile_html(t: Tile, grain: str) -> str:
    """One headline KPI as markup: status first (pill with shape and word), the title (wrapping), the period,
    the value with its target, the change on the previous period, the SPC reading, the current period to
    date against the same days of the previous period, and a sparkline. Every text is HTML-escaped."""
    k, st_ = t.kpi, t.status
    help_lines = [labels.prose(k.description), f"SPC: {t.words}."]
    if t.target is not None:
        help_lines.append(f"Target from {t.target_source}." if t.target_source else "")
    if t.assurance:
        help_lines.append(f"Assurance: {_lower_first(labels.assurance_words(t.assurance))} "
                          f"({catalog.format_value(k, t.target)}).")
    if t.year_ago is not None:
        help_lines.append(f"Same {grain} last year: {catalog.format_value(k, t.year_ago)} "
                          f"({_signed(k, t.change_vs_year_ago)}).")
    shape = f'<svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">{_STATUS_SHAPES[st_]}</svg>'
    parts = [f'<div class="opsdash-tile-head"><span class="opsdash-tile-status" data-status="{st_}" '
             f'style="background:{STATUS_COLOURS[st_]}">{shape}{STATUS_WORDS[st_]}</span>'
             f'<span class="opsdash-tile-spc-icon">{spc_icon(t.variation, t.assurance, t.side)}</span></div>',
             f'<div class="opsdash-tile-title">{esc(k.label)}</div>']
    if t.window is not None and t.value is not None:
        prev = periods.label(t.previous_period, grain) if t.previous_period else f"the previous {grain}"
        parts += [f'<div class="opsdash-tile-period">{esc(t.window.label)}</div>',
                  f'<div class="opsdash-tile-value">{esc(catalog.format_value(k, t.value))}'
                  f'<span class="opsdash-tile-target"> · {esc(views.target_words(k, t.target))}</span></div>',
                  _change_line(k, t.change, prev)]
        reading = labels.variation_words(t.variation, t.side)
        # too coarse for limits is too coarse for assurance too: the reading says so once
        assurance = (f"; {_lower_first(labels.assurance_words(t.assurance))}"
                     if t.assurance and t.assurance != t.variation else "")
        parts.append(f'<div class="opsdash-tile-spc">{esc(f"SPC: {reading}{assurance}")}</div>')
    else:
        parts.append(f'<div class="opsdash-tile-period">{esc(f"No complete {grain} with data yet")}</div>')
    if t.current is not None:
        c = t.current
        now, lfl = c.window, c.previous_window
        change = _signed(k, c.change)
        vs = (f"no change vs {periods.span(lfl)}" if change == "no change" else
              f"{change} vs {periods.span(lfl)}" if change else f"nothing to compare in {periods.span(lfl)}")
        text = (f"{periods.label(now.start, grain)} to date ({periods.span(now)}): "
                f"{catalog.format_value(k, c.value)}, {vs}")
        parts.append(f'<div class="opsdash-tile-todate">{esc(text)}</div>')
    parts.append(_sparkline(t.spark, t.target))
    title = "\n".join(line for line in help_lines if line)
    return (f'<div class="opsdash-tile" data-kpi="{esc(k.id)}" role="group" aria-label="{esc(k.label)}" '
            f'title="{esc(title).replace(chr(10), "&#10;")}" style="border-left-color:{STATUS_COLOURS[st_]}">{"".join(parts)}</div>')


def tiles(ts: list[Tile], grain: str) -> None:
    """Headline tiles in one grid of equal heights (titles wrap, never cut); KPIs without data for the
    selection are left out and named in one line."""
    shown, missing = views.split_tiles(ts)
    if shown:
        # Markdown with raw HTML, not st.html: st.html sanitises with DOMPurify's HTML-only profile, which drops
        # every SVG (the status shapes, the MDC icons and the sparklines). The markup is opsdash's own, escaped.
        st.markdown(TILE_CSS + '<div class="opsdash-tiles">' + "".join(tile_html(t, grain) for t in shown) + "</div>",
                    unsafe_allow_html=True)
    if missing:
        st.caption(f"No data for the selection, so left out: {text_md(', '.join(missing))}.")


def tile(t: Tile, grain: str, container: Any = None) -> None:
    """One headline KPI alone (the grid of `tiles` for several)."""
    (container or st).markdown(TILE_CSS + '<div class="opsdash-tiles">' + tile_html(t, grain) + "</div>",
                               unsafe_allow_html=True)


def change_colour(kpi: catalog.Kpi, change: float | None) -> str:
    """Blue for a change for the better, orange for the worse, grey otherwise (never red against green)."""
    if change is None or _signed(kpi, change) == "no change" or kpi.direction == "neutral":
        return "gray"
    better = change > 0 if kpi.direction == "higher" else change < 0
    return "blue" if better else "orange"


#: st.metric cuts a title wider than its column with an ellipsis: at most this many metrics share a row (a
#: title of ~25 characters then fits beside the sidebar at 1400 px).
METRICS_PER_ROW = 4

#: Tables up to this many rows carry their CSV ready-made (instant, no extra thread); larger ones, and every
#: Excel file, are made when clicked.
READY_ROWS = 20_000


def download_buttons(df: pd.DataFrame | Callable[[], pd.DataFrame], name: str, f: Filters | dict[str, Any],
                     title: str, key: str, xlsx: bool = False) -> None:
    """CSV (and Excel) of the frame; `df` may be a function giving the frame (then made only when clicked).
    Every download is recorded in the audit trail: who, page, file, filters, rows (never the rows)."""
    from opsdash.ui import data

    filters = f.as_dict() if isinstance(f, Filters) else f
    who, page = auth.grant(), st.session_state.get(boot.PAGE, "")  # taken now: files made later run elsewhere
    csv_name, xlsx_name = downloads.file_name(name, filters, "csv"), downloads.file_name(name, filters, "xlsx")

    def event(file: str, rows: int) -> audit.Event:
        return audit.Event(user_name=who.user, role=who.role, action="download", page=page, what=file,
                           filters=filters, row_count=rows)

    def made(file: str, render: Callable[[pd.DataFrame], bytes]) -> Callable[[], bytes]:
        def make() -> bytes:
            frame = df() if callable(df) else df
            data.record(event(file, len(frame)))
            return render(frame)
        return make

    ready = not callable(df) and len(df) <= READY_ROWS
    if ready:
        assert isinstance(df, pd.DataFrame)
        csv_data: bytes | Callable[[], bytes] = downloads.csv_bytes(df, filters, title)
        on_click: Any = lambda: data.record(event(csv_name, len(df)))  # noqa: E731
    else:
        csv_data, on_click = made(csv_name, lambda frame: downloads.csv_bytes(frame, filters, title)), "ignore"
    cols = st.columns(2 if xlsx else 1)
    cols[0].download_button("Download CSV", csv_data, file_name=csv_name, mime="text/csv", key=f"{key}_csv",
                            icon=":material/download:", on_click=on_click)
    if xlsx:
        cols[1].download_button("Download Excel", made(xlsx_name, lambda frame: downloads.xlsx_bytes(frame, filters, title)),
                                file_name=xlsx_name, key=f"{key}_xlsx",
                                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                icon=":material/table:", on_click="ignore")


def chart(fig: go.Figure, df: pd.DataFrame, name: str, f: Filters, key: str,
          on_select: Callable[[], None] | None = None, selection_mode: Any = ("points",),
          unit: str | None = None) -> None:
    """A chart with the CSV of exactly the data it draws; given the KPI's `unit`, its value columns say it in
    their header (value_fraction: rates stay fractions)."""
    title = fig.layout.title.text or name
    if on_select:
        st.plotly_chart(fig, key=key, on_select=on_select, selection_mode=selection_mode, width="stretch")
    else:
        st.plotly_chart(fig, key=key, width="stretch")
    download_buttons(labels.download_frame(df, unit=unit) if unit else df, name, f, title, key)


#: Date formats (moment.js) of a period column, by grain: the dates stay dates, so the column sorts.
PERIOD_FORMATS = {g.name: g.moment for g in periods.GRAIN.values()}
#: printf formats of a KPI's values by unit (rates are shown multiplied by 100: still numbers, still sortable).
UNIT_FORMATS = {"fraction": "%.1f%%", "days": "%.1f days", "hours": "%.1f hours", "seconds": "%.0f s",
                "count": "%,d"}
KIND_FORMATS = {"count": "%,d", "percent": "%.1f%%", "number": "%,.1f", "score": "%.3f", "money": "%,.2f", "hours": "%.1f hours",
                "days": "%.1f days", "seconds": "%.0f s"}


def _words(values: Any, kind: str, grain: str, blank: str, kpis: Any = None) -> list[str]:
    """Each value written as people read it (labels.cell, in its row's KPI unit when `kpis` names them), an
    empty one as `blank`."""
    row_kpis = list(kpis) if kpis is not None else [None] * len(values)
    return [blank if labels._missing(v) else labels.cell(v, kind, grain, k) for v, k in zip(values, row_kpis)]


def labelled(df: pd.DataFrame, grain: str = "month", kinds: dict[str, str] | None = None,
             kpi_col: str = "kpi") -> tuple[pd.DataFrame, dict[str, Any]]:
    """A frame as st.dataframe should show it, with its column config, from the labels registry: headers in
    words, codes as words, numbers kept numeric (so they sort) with their unit in the format, dates and
    periods as dates in a format people read. No cell reads "None": st.dataframe draws a null as "None" and
    has no setting for it, so a column that holds an empty value is written as text, each cell in its format
    and an empty one as labels.empty_word (a dash, or "Every KPI" where that is what it means). Only such
    columns lose numeric sorting; a full column stays a number or date. Values of KPIs of several units in one
    column are written as text in each row's unit."""

    kinds = dict(kinds or {})
    out, cfg = df.copy(), {}
    kpis = df[kpi_col] if kpi_col in df else None
    units = ({catalog.KPIS[k].unit for k in kpis.dropna().unique() if k in catalog.KPIS} if kpis is not None
             else set())
    for name in df.columns:
        lab = labels.column(str(name))
        kind = kinds.get(name, lab.kind)
        col = out[name]
        blank = labels.empty_word(str(name))
        text = st.column_config.TextColumn(lab.label, help=lab.help or None)
        if name in ("change", "difference") and kpis is not None and units:  # signed, points for rates
            out[name] = [blank if labels._missing(v) else
                         catalog.format_change(catalog.KPIS[k], float(v)) if k in catalog.KPIS else f"{float(v):+,.1f}"
                         for v, k in zip(col, kpis)]
            cfg[name] = text
        elif kind == "number" and kpis is not None and units:
            num = pd.to_numeric(col, errors="coerce")
            if len(units) == 1 and not num.isna().any():
                unit = next(iter(units))
                out[name] = num * (100.0 if unit == "fraction" else 1.0)
                cfg[name] = st.column_config.NumberColumn(lab.label, format=UNIT_FORMATS.get(unit, "%,.1f"),
                                                          help=lab.help or None)
            else:
                out[name] = _words(num, kind, grain, blank, kpis)
                cfg[name] = text
        elif kind in KIND_FORMATS:
            num = pd.to_numeric(col, errors="coerce")
            if num.isna().any():
                out[name] = _words(num, kind, grain, blank)
                cfg[name] = text
            else:
                out[name] = num * 100.0 if kind == "percent" else num
                cfg[name] = st.column_config.NumberColumn(lab.label, format=KIND_FORMATS[kind], help=lab.help or None)
        elif kind in ("date", "period", "timestamp"):
            tz = kind == "timestamp" and isinstance(col.dtype, pd.DatetimeTZDtype)
            when = pd.to_datetime(col, errors="coerce", utc=tz)
            if when.isna().any():
                out[name] = _words(when, kind, grain, blank)
                cfg[name] = text
            elif kind == "timestamp":
                out[name] = when
                cfg[name] = st.column_config.DatetimeColumn(lab.label, format="D MMM YYYY, HH:mm", help=lab.help or None)
            else:
                out[name] = when
                fmt = PERIOD_FORMATS.get(grain, "D MMM YYYY") if kind == "period" else "D MMM YYYY"
                cfg[name] = st.column_config.DateColumn(lab.label, format=fmt, help=lab.help or None)
        elif kind == "bool":
            if col.isna().any():
                out[name] = _words(col, kind, grain, blank)
                cfg[name] = text
            else:
                cfg[name] = st.column_config.CheckboxColumn(lab.label, help=lab.help or None)
        elif kind in ("code", "kpi", "column", "prose"):
            out[name] = _words(col, kind, grain, blank)
            cfg[name] = text
        else:
            out[name] = [blank if labels._missing(v) else _text(v) for v in col]
            cfg[name] = text
    return out, cfg


def _text(value: Any) -> str:
    """A text cell: a list (the loads of an audit event) as its items with commas, anything else verbatim."""
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist") and not isinstance(value, str):
        items = value.tolist() if hasattr(value, "tolist") else value
        if isinstance(items, list):
            return ", ".join(str(i) for i in items) or labels.EMPTY
    return str(value)


def table(df: pd.DataFrame, name: str, f: Filters | dict[str, Any], title: str, key: str, xlsx: bool = True,
          full: Callable[[], pd.DataFrame] | None = None, downloadable: bool = True, labels: bool = False,
          grain: str = "month", kinds: dict[str, str] | None = None, headers: dict[str, str] | None = None,
          **kw: Any) -> None:
    """A table with CSV and Excel downloads of exactly its rows (or of `full()`, when the table shows a part).
    With `labels`, the table is shown for people (see `labelled`; `headers` renames a column's header and
    keeps its format) while the downloads keep machine names, numeric values and empty cells empty, with
    units in the headers (labels.download_frame of the frame as given, never the one shown)."""
    shown = df
    if labels:
        from opsdash import labels as lab

        shown, cfg = labelled(df, grain, kinds)
        for name, header in (headers or {}).items():
            if name in cfg:
                cfg[name] = {**cfg[name], "label": header}
        kw["column_config"] = {**cfg, **kw.get("column_config", {})}
        df = lab.download_frame(df)
        if full is not None:
            whole = full
            full = lambda: lab.download_frame(whole())  # noqa: E731
    st.dataframe(shown, hide_index=True, width="stretch", key=key, **kw)
    if downloadable:
        download_buttons(full or df, name, f, title, key, xlsx=xlsx)


def kpi_table(df: pd.DataFrame, kpi: catalog.Kpi) -> pd.DataFrame:
    """A KPI frame as people read it: formatted values with units, plain column names."""
    out = df.copy()
    out["value"] = [catalog.format_value(kpi, None if pd.isna(v) else float(v)) for v in out["value"]]
    return out.rename(columns={"period_start": "period", "value": kpi.label})


def vendor_trend(kpi_id: str, f: Filters, key: str, title: str | None = None, target: float | None = None,
                 drill: bool = False, **thresholds: float) -> None:
    """A KPI by period and vendor as a line chart with its download, or a 'no data' message."""
    from opsdash import charts
    from opsdash.ui import data, filters

    kpi = catalog.KPIS[kpi_id]
    db, ver = data.source(), data.version()
    with guard(kpi.label):
        df = data.series(db, ver, kpi_id, f, ("vendor",), **thresholds)
        if not df["value"].notna().any():
            no_data(kpi.label, f)
            return
        fig = charts.trend(df, kpi, by="vendor", target=target, universe=data.vendors(db, ver), grain=f.grain,
                           title=title)
        charts.add_events(fig, views.events_on(views.events_for(data.events(db, ver, f), kpi_id, f),
                                                df["period_start"], f.grain))
        if drill:
            st.caption("Select a point to narrow the page to its period.")
        chart(fig, df, f"{kpi_id}_by_vendor", f, key=key,
              on_select=(lambda: filters.drill_period(key, f.grain)) if drill else None, unit=kpi.unit)


def pareto(row_set: str, column: str, f: Filters, title: str, key: str) -> None:
    """Rows of a catalogue row set (catalog.ROW_SETS) per category, largest first with the cumulative share, or a
    'no data' message."""
    from opsdash import catalog
    from opsdash import charts
    from opsdash.ui import data

    rows = catalog.ROW_SETS[row_set]
    what = rows.label.lower()
    with guard(what):
        counts = data.counts_by(data.source(), data.version(), row_set, column, f)
        if counts.empty:
            no_data(what, f)
            return
        chart(charts.pareto(counts, column, "rows", title=title, count_title=f"{rows.label} (count)"), counts,
              column + "_pareto", f, key=key)


def vendor_models(cards: list[Any], shown: tuple[str, ...], f: Filters | dict[str, Any], key: str) -> None:
    """The own denial-risk models of the `shown` vendors, judged on the held-out claims (from the kept `cards`):
    each verdict in words, their measures beside opsdash's on exactly the claims each scored, and what could not
    be judged (a vendor that sent no score is said too)."""
    held_out = next((c.held_out for c in cards if c.held_out is not None), None)
    if held_out is None or not shown:
        return
    audits, unjudged = views.vendor_audits(cards, shown)
    st.markdown(f"**{text_md(labels.possessive(shown[0]))} own risk model, judged on the same claims and months**"
                if len(shown) == 1 else "**The vendors' own risk models, judged on the same claims and months**")
    for a in audits:
        st.markdown(text_md(a.words))
    if audits:
        table(views.vendor_model_audit(audits), "vendor_risk_models_audited", f, "Vendor risk models audited",
              key=key, labels=True)
        st.caption(views.audit_rule_words())
    for gap in views.vendor_model_gaps(audits, unjudged, held_out, shown):
        st.caption(text_md(gap))
