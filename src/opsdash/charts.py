"""Plotly figures from tidy frames: no Streamlit here, so every chart is tested on its own.

Every figure has a title and labelled axes with units, and uses the Okabe-Ito palette (distinguishable with
the common colour-vision deficiencies). A vendor keeps its colour on every page: colours follow the sorted
list of all vendors, not the vendors a filter leaves. Axes read right: a rate's axis is zoomed to the data
and its target (`rate_range`), ticks are round steps whose labels never repeat (`axis_ticks`), counts are
ticked in whole numbers, and legends sit below everything else so they never cover an axis's labels.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from opsdash import labels
from opsdash.catalog import Kpi

#: Okabe & Ito (2008), without black (used for text) and yellow (unreadable on white) first.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
#: Marker shapes, so a series is told by shape as well as colour.
SYMBOLS = ("circle", "diamond", "square", "triangle-up", "x", "triangle-down", "star", "cross")
#: Making Data Count point colours, from the same palette: blue improvement, orange concern, grey common cause.
POINT_COLOURS = {"improvement": "#0072B2", "concern": "#E69F00", "neutral": "#CC79A7", "common_cause": "#999999"}
STATUS_COLOURS = {"met": "#009E73", "missed": "#E69F00", "below_minimum": "#D55E00", "no_data": "#DDDDDD"}
#: Human words for the statuses drawn, from the shared registry.
STATUS_WORDS = {s: labels.value_word(s) for s in STATUS_COLOURS}
#: Greys for reference lines, the plain line under SPC points and "no data", beside the palette.
NEUTRALS = ("#808080", "#8C8C8C", "#999999", "#DDDDDD")
#: One hue from light to dark (the palette's sky blue and blue) for magnitudes such as calls per hour: ordered
#: in lightness, so it reads for every colour vision and in greyscale.
SEQUENTIAL = ("#E8F2F9", "#56B4E9", "#0072B2", "#004C78")
#: Every colour a chart may draw (the chart tests hold every figure to it).
PROJECT_COLOURS = frozenset(c.upper() for c in (*PALETTE, *NEUTRALS, *SEQUENTIAL, *STATUS_COLOURS.values()))
#: A rate's axis: the span of the data and the target padded by this share of it on each side.
RATE_PAD = 0.10
#: ... but never narrower than this (2 percentage points), so noise of a tenth of a point does not fill a chart.
MIN_RATE_SPAN = 0.02
#: The narrowest plot a full-width heatmap is drawn in (px): its cell text is sized to fit cells that wide.
HEATMAP_PLOT_PX = 640
#: Average glyph width as a share of the font size (the dashboard's sans-serif), for fitting text to cells.
GLYPH_EM = 0.6


def text(value: Any) -> str:
    """Text from data (a vendor, payer, process, reason) as plotly shows it: plotly renders a subset of HTML in
    titles, legends, ticks and hover (<b>, <br>, <a href>), so <, > and & are written as entities (shown as
    themselves) and nothing in the text becomes markup or a link."""
    return html.escape(str(value), quote=False)


def texts(values: Any) -> list[str]:
    return [text(v) for v in values]


_text = text  # for functions whose `text` argument hides it


def colours(names: Sequence[str], universe: Sequence[str] | None = None) -> dict[str, str]:
    """A stable colour per name: its position in the sorted universe (all vendors) picks the colour."""
    order = sorted(set(universe or names) | set(names))
    return {n: PALETTE[order.index(n) % len(PALETTE)] for n in names}


def axis_title(kpi: Kpi) -> str:
    unit = {"fraction": "%", "count": "count", "days": "days", "hours": "hours", "seconds": "seconds"}[kpi.unit]
    return f"{kpi.label} ({unit})"


def nice_step(span: float, *, integer: bool = False, max_ticks: int = 6,
              mantissas: Sequence[float] = (1, 2, 2.5, 5)) -> float:
    """The smallest step of 1, 2, 2.5 or 5 × 10^k that crosses `span` in at most `max_ticks` steps; a whole
    number of at least 1 for counts (so an axis of 0–2 is ticked 0, 1, 2 and never 0, 0.5, 1 shown as 0, 1, 1)."""
    if not (span > 0 and math.isfinite(span)):
        return 1.0
    raw = span / max_ticks
    k = math.floor(math.log10(raw))
    for mag in range(k, k + 3):
        for m in mantissas:
            step = round(m * 10.0 ** mag, 12)
            if step < raw * (1 - 1e-9) or (integer and (step < 1 or not step.is_integer())):
                continue
            return step
    return 1.0


def _decimals(step: float) -> int:
    """Decimals that write every multiple of `step` exactly (0.25 → 2, 0.5 → 1, 5 → 0)."""
    return next((d for d in range(7) if abs(round(step, d) - step) < 1e-9 * max(1.0, abs(step))), 6)


def axis_ticks(unit: str, lo: float, hi: float) -> dict[str, Any]:
    """Tick rules for a value axis spanning lo..hi: round steps from 0 (`tick0`, `dtick`) and a format with
    just the decimals those steps need — whole numbers for counts, 94%/95%/96% or 94.5%/95.0% for rates — so
    no two ticks ever carry the same label."""
    span = hi - lo if hi > lo else max(abs(hi), 1.0 if unit != "fraction" else MIN_RATE_SPAN)
    if unit == "fraction":
        pts = nice_step(span * 100)
        return {"tick0": 0, "dtick": round(pts / 100, 12), "tickformat": f".{_decimals(pts)}%"}
    if unit == "count":
        return {"tick0": 0, "dtick": nice_step(max(span, 1.0), integer=True), "tickformat": ",d"}
    step = nice_step(span)
    return {"tick0": 0, "dtick": step, "tickformat": f",.{_decimals(step)}f"}


def _finite(values: Any) -> list[float]:
    out = []
    for v in values if values is not None else []:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def _extent(fig: go.Figure, letter: str) -> tuple[float, float]:
    """The smallest and largest value drawn on the first x or y axis (traces and reference lines)."""
    values: list[float] = []
    for t in fig.data:
        if t.type in ("scatter", "bar") and (getattr(t, letter + "axis", None) or letter) == letter:
            values += _finite(getattr(t, letter))
    for shape in fig.layout.shapes or ():
        if getattr(shape, letter + "ref", None) == letter:
            values += _finite([getattr(shape, letter + "0"), getattr(shape, letter + "1")])
    return (min(values), max(values)) if values else (0.0, 1.0)


def rate_range(values: Any, target: float | None = None) -> tuple[float, float]:
    """The axis of a rate: from the lowest to the highest of the data and the target, padded by RATE_PAD (10%)
    of that span on each side, clipped to 0–100%. A span under MIN_RATE_SPAN (2 points) is first widened to 2
    points about its middle, kept within 0–100%. So 94% and 96% sit far apart, the target is always in view,
    and a tenth of a point of noise does not fill the chart."""
    pts = _finite(values) + _finite([target])
    if not pts:
        return 0.0, 1.0
    lo, hi = min(pts), max(pts)
    if hi - lo < MIN_RATE_SPAN:
        mid = (lo + hi) / 2
        lo, hi = mid - MIN_RATE_SPAN / 2, mid + MIN_RATE_SPAN / 2
        shift = max(0.0, hi - 1.0) - max(0.0, -lo)
        lo, hi = lo - shift, hi - shift
    pad = (hi - lo) * RATE_PAD
    return max(0.0, lo - pad), min(1.0, hi + pad)


def _value_axis(fig: go.Figure, kpi: Kpi, axis: str = "yaxis", span: tuple[float, float] | None = None) -> None:
    """The value axis: its title with the unit, and ticks by `axis_ticks` over `span` (by default what is drawn)."""
    lo, hi = span or _extent(fig, axis[0])
    fig.update_layout({axis: {"title": {"text": axis_title(kpi)}, **axis_ticks(kpi.unit, lo, hi)}})


def _target_line(fig: go.Figure, kpi: Kpi, target: float | None, *, vertical: bool = False) -> None:
    """The target as a dashed line labelled with its value."""
    if target is None:
        return
    style = {"line": {"dash": "dash", "color": "#808080", "width": 1.5},
             "annotation_text": f"target {_fmt(kpi, target)}", "annotation_font": {"color": "#808080"}}
    if vertical:
        fig.add_vline(x=target, annotation_position="top", **style)
    else:
        fig.add_hline(y=target, annotation_position="top left", **style)


def _wrap(label: str, width: int) -> str:
    """Text on lines of about `width` characters, broken between words (for tick labels and cells)."""
    lines: list[str] = []
    for word in label.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _hover(kpi: Kpi) -> str:
    return "%{y:.1%}" if kpi.unit == "fraction" else ("%{y:,.0f}" if kpi.unit == "count" else "%{y:,.1f} " + kpi.unit)


#: Legends run along the bottom of the whole figure (container coordinates): plotly makes room for them below
#: the axis's tick labels and title, so a legend never covers them, however long or turned the labels are.
LEGEND = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0, "xanchor": "left"}


def _base(title: str, x_title: str) -> go.Figure:
    fig = go.Figure()
    # Titles interpolate data text (a vendor's name, a process); opsdash's own titles hold no markup.
    fig.update_layout(title={"text": text(title)}, xaxis={"title": {"text": text(x_title)}}, colorway=list(PALETTE),
                      legend=LEGEND, margin={"t": 60, "b": 10}, hovermode="x unified")
    return fig


def trend(df: pd.DataFrame, kpi: Kpi, *, by: str | None = None, title: str | None = None,
          target: float | None = None, universe: Sequence[str] | None = None, grain: str = "month") -> go.Figure:
    """A KPI over time, one line per breakdown value (or one line), with the target as a dashed line."""
    fig = _base(title or f"{kpi.label} by {grain}" + (f" and {by}" if by else ""), f"{grain.capitalize()} starting")
    groups = [(None, df)] if not by else list(df.groupby(by, dropna=False, sort=True))
    palette = colours([str(g) for g, _ in groups if g is not None], universe) if by else {}
    for name, part in groups:
        label = kpi.label if name is None else str(name)
        fig.add_trace(go.Scatter(x=part["period_start"], y=part["value"].astype(float), mode="lines+markers",
                                 name=text(label), line={"color": palette.get(label, PALETTE[0])},
                                 hovertemplate=f"%{{fullData.name}}: {_hover(kpi)}<extra></extra>", connectgaps=False))
    _target_line(fig, kpi, target)
    fig.update_layout(showlegend=bool(by))  # a single vendor's line still says whose it is
    if kpi.unit == "fraction":
        span = rate_range(df["value"], target)
        fig.update_layout(yaxis={"range": list(span)})
        _value_axis(fig, kpi, span=span)
    else:
        _value_axis(fig, kpi)
    return fig


def _by_segment(x: list, chart: pd.DataFrame, col: str) -> tuple[list, list]:
    """A line per segment: a gap (None) where a rebase starts a segment, so no line joins two segments' limits."""
    xs: list = []
    ys: list = []
    seg = chart["segment"].tolist() if "segment" in chart else [0] * len(chart)
    for i, (xi, yi) in enumerate(zip(x, chart[col])):
        if i and seg[i] != seg[i - 1]:
            xs.append(xi)
            ys.append(None)
        xs.append(xi)
        ys.append(None if pd.isna(yi) else float(yi))
    return xs, ys


#: Events on time-series charts: a process change as a solid dark line, other events dotted grey.
# A process change solid and wider, another event dotted: told apart by shape, and mid-grey reads on a light
# and a dark background alike.
EVENT_STYLES = {True: {"color": "#808080", "dash": "solid", "width": 2.5},
                False: {"color": "#8C8C8C", "dash": "dot", "width": 1.5}}
EVENT_LABEL_CHARS = 28


def event_hover(row: Any) -> str:
    """The words for one event: date, vendor, what happened, and what a process change does to the limits."""
    kind = " (process change: limits recalculated from this period)" if row["is_process_change"] else ""
    scope = " · ".join(str(v) for v in (row.get("kpi"), row.get("process")) if isinstance(v, str) and v)
    return (f"{row['event_date']:%d %b %Y} · {row['vendor']}" + (f" · {scope}" if scope else "")
            + f": {row['description']}{kind}")


def add_events(fig: go.Figure, events: pd.DataFrame | None) -> go.Figure:
    """Events as vertical lines with a short label at the top and the whole event on hover (text from data
    escaped). Lines are shapes rather than add_vline, whose annotations fail on date axes."""
    if events is None or events.empty:
        return fig
    for i, row in enumerate(events.to_dict("records")):
        change = bool(row["is_process_change"])
        label = str(row["description"])
        label = label if len(label) <= EVENT_LABEL_CHARS else label[:EVENT_LABEL_CHARS - 1] + "…"
        fig.add_shape(type="line", x0=row["event_date"], x1=row["event_date"], xref="x", yref="paper", y0=0, y1=1,
                      line=EVENT_STYLES[change], layer="below")
        fig.add_annotation(x=row["event_date"], xref="x", yref="paper", y=1.0 - 0.07 * (i % 3), yanchor="bottom",
                           text=text(("◆ " if change else "") + label), showarrow=False, xanchor="left",
                           font={"size": 10, "color": EVENT_STYLES[change]["color"]},
                           hovertext=text(event_hover(row)))
    return fig


def spc(chart: pd.DataFrame, periods: Sequence, kpi: Kpi, *, title: str | None = None,
        target: float | None = None, events: pd.DataFrame | None = None) -> go.Figure:
    """An XmR chart: values coloured by point type, mean and process limits (one line per segment, clipped to
    what the KPI can take), the target dashed, events as vertical lines. A segment too coarse for limits is
    drawn as a run chart: grey open points around its median."""
    fig = _base(title or f"{kpi.label}: statistical process control (XmR)", "Period starting")
    x = list(periods)
    fig.add_trace(go.Scatter(x=x, y=chart["value"], mode="lines", name="value", line={"color": "#999999"},
                             hoverinfo="skip", showlegend=False, connectgaps=False))
    for ptype, colour in POINT_COLOURS.items():
        mask = chart["point_type"] == ptype
        if mask.any():
            fig.add_trace(go.Scatter(x=[x[i] for i in mask[mask].index], y=chart.loc[mask, "value"], mode="markers",
                                     name=labels.VARIATION_WORDS[ptype], marker={"color": colour, "size": 9},
                                     hovertemplate=f"{labels.VARIATION_WORDS[ptype]}<br>{_hover(kpi)}<extra></extra>"))

    def flagged(col: str) -> pd.Series:
        return chart[col].fillna(False).astype(bool) if col in chart else pd.Series(False, index=chart.index)

    def open_points(mask: pd.Series, name: str, colour: str, symbol: str) -> None:
        """Points without an SPC reading, drawn open: grey, never a point type's colour."""
        if mask.any():
            fig.add_trace(go.Scatter(x=[x[i] for i in mask[mask].index], y=chart.loc[mask, "value"], mode="markers",
                                     name=name, marker={"color": colour, "size": 10 if symbol == "diamond-open" else 9,
                                                        "symbol": symbol, "line": {"width": 2}},
                                     hovertemplate=f"{name}<br>{_hover(kpi)}<extra></extra>"))

    open_points(flagged("to_date"), "to date (not in the limits yet)", "#808080", "diamond-open")
    coarse = flagged("coarse")
    open_points(coarse, labels.VARIATION_WORDS["too_coarse"], "#999999", "circle-open")
    if coarse.any():
        median = chart["median"].where(coarse)
        xs, ys = _by_segment(x, chart.assign(median=median), "median")
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="median (run chart)",
                                 line={"color": "#808080", "dash": "dash", "width": 2}, connectgaps=False,
                                 hovertemplate=f"median: {_hover(kpi)}<extra></extra>"))
    for col, name, dash in (("mean", "mean", "solid"), ("upl", "upper process limit", "dot"),
                            ("lpl", "lower process limit", "dot")):
        at_bound = f"{col}_at_bound"
        if col != "mean" and at_bound in chart and chart[at_bound].any():
            name += " (at the edge of what is possible)"
        values = chart[col].where(~coarse) if col == "mean" else chart[col]
        if not values.notna().any():
            continue  # a run chart throughout: no mean or limits to draw (or to list in the legend)
        xs, ys = _by_segment(x, chart.assign(**{col: values}), col)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, connectgaps=False,
                                 line={"color": "#808080", "dash": dash, "width": 2 if col == "mean" else 1.5},
                                 hovertemplate=f"{name}: {_hover(kpi)}<extra></extra>"))
    if target is not None:
        fig.add_hline(y=target, line={"dash": "dash", "color": "#D55E00"},
                      annotation_text=f"target {_fmt(kpi, target)}", annotation_position="top left")
    _value_axis(fig, kpi)
    add_events(fig, events)
    if events is not None and not events.empty:
        fig.update_layout(margin={"t": 90})  # room for the event labels under the title
    return fig


def bars(df: pd.DataFrame, kpi: Kpi, x: str, *, colour_by: str | None = None, title: str | None = None,
         universe: Sequence[str] | None = None, target: float | None = None) -> go.Figure:
    """A KPI's value per category (e.g. by vendor), grouped by a second one when given, categories down the
    side (long names read level). A rate is a dot on an axis zoomed by `rate_range` with the target as a line:
    a bar from zero would make 94% and 96% look the same. Counts and durations are bars from zero, as lengths."""
    rate = kpi.unit == "fraction"
    fig = _base(title or f"{kpi.label} by {x.replace('_', ' ')}", axis_title(kpi))
    fig.update_layout(hovermode="closest", barmode="group")
    cats = list(dict.fromkeys(str(v) for v in df[x]))

    def trace(part: pd.DataFrame, **kw: Any) -> go.Scatter | go.Bar:
        common = {"y": texts(part[x]), "x": part["value"].astype(float), "orientation": "h",
                  "hovertemplate": "%{y}" + (" · %{fullData.name}" if colour_by else "") + ": "
                  + _hover(kpi).replace("{y", "{x") + "<extra></extra>", **kw}
        if rate:
            marker = {"size": 12, "line": {"width": 1, "color": "#808080"}, **common.pop("marker", {})}
            return go.Scatter(mode="markers", marker=marker, cliponaxis=False, **common)
        return go.Bar(**common)

    if colour_by:
        names = [str(v) for v in df[colour_by].dropna().unique()]
        palette = colours(names, universe)
        symbols = {n: SYMBOLS[i % len(SYMBOLS)] for i, n in enumerate(sorted(palette))}
        for name, part in df.groupby(colour_by, sort=True):
            marker: dict[str, Any] = {"color": palette[str(name)]}
            if rate:
                marker["symbol"] = symbols[str(name)]  # a vendor by shape as well as colour
            fig.add_trace(trace(part, name=text(name), marker=marker))
    else:
        palette = colours(cats, universe) if universe else {c: PALETTE[0] for c in cats}
        fig.add_trace(trace(df, name=text(kpi.label), showlegend=False,
                            marker={"color": [palette[str(c)] for c in df[x]]}))
    _target_line(fig, kpi, target, vertical=True)
    fig.update_layout(showlegend=bool(colour_by),  # one vendor's dots still say whose they are
                      legend_title_text=colour_by.replace("_", " ").capitalize() if colour_by else None,
                      yaxis={"title": {"text": x.replace("_", " ").capitalize()}, "type": "category",
                             "categoryorder": "array", "categoryarray": texts(cats), "autorange": "reversed",
                             "automargin": True},
                      # a row per category: a dot each, or a bar per group
                      height=max(300, 150 + len(cats) * (36 if rate or not colour_by
                                                         else 12 + 16 * df[colour_by].nunique())))
    if rate:
        span = rate_range(df["value"], target)
        fig.update_layout(xaxis={"range": list(span), "showgrid": True})
        _value_axis(fig, kpi, "xaxis", span=span)
    else:
        _value_axis(fig, kpi, "xaxis", span=(0.0, max(_extent(fig, "x")[1], 0.0)))
    return fig


#: The narrowest plot a full-width Pareto is drawn in (px): its category names are wrapped to fit that.
PARETO_PLOT_PX = 760
#: Round steps for a Pareto's count axis, finer than usual so its four steps end near the largest bar.
PARETO_MANTISSAS = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 8)


def pareto(df: pd.DataFrame, category: str, count: str, *, title: str, count_title: str) -> go.Figure:
    """Categories by count, largest first, with the cumulative share on a second axis. Both axes are ticked in
    four equal steps from zero — the share at 0/25/50/75/100%, the counts at round numbers up to the smallest
    round top at or above the largest bar — so their gridlines coincide and a share reads across to a count.
    Category names wrap rather than turn, and the legend sits below them."""
    d = df.sort_values(count, ascending=False)
    total = d[count].sum()
    cum = d[count].cumsum() / total if total else d[count] * 0
    step = nice_step(max(float(d[count].max()), 1.0), integer=True, max_ticks=4, mantissas=PARETO_MANTISSAS)
    cats = texts(d[category])
    fig = _base(title, category.replace("_", " ").capitalize())
    fig.update_layout(hovermode="closest")
    fig.add_trace(go.Bar(x=cats, y=d[count], name=count_title, marker={"color": PALETTE[0]},
                         hovertemplate="%{x}: %{y:,.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=cats, y=cum, name="Cumulative share (%)", yaxis="y2", mode="lines+markers",
                             line={"color": PALETTE[1]}, cliponaxis=False,
                             hovertemplate="cumulative %{y:.1%}<extra></extra>"))
    # Names wrap to the characters a category's slot of a PARETO_PLOT_PX plot holds; when a word is longer
    # than that (many categories), they are turned instead, on lines of at most 24 characters.
    width = min(24, int(PARETO_PLOT_PX / max(1, len(cats)) / (GLYPH_EM * 12)))
    fits = all(len(word) <= width for c in cats for word in c.split(" "))
    fig.update_layout(xaxis={"tickmode": "array", "tickvals": cats,
                             "ticktext": [_wrap(c, width if fits else 24) for c in cats],
                             "tickangle": 0 if fits else -45, "automargin": True},
                      yaxis={"title": {"text": count_title}, "tickformat": ",d", "range": [0, 4 * step],
                             "tick0": 0, "dtick": step},
                      yaxis2={"title": {"text": "Cumulative share (%)"}, "overlaying": "y", "side": "right",
                              "tickformat": ".0%", "range": [0, 1], "tick0": 0, "dtick": 0.25, "showgrid": False})
    return fig


def histogram(counts: pd.DataFrame, value: str, count: str, *, title: str, x_title: str, y_title: str) -> go.Figure:
    """A distribution already counted per value (the store counts; millions of rows never reach the browser).
    Counts are ticked in whole numbers, and so are the values when they are all whole (days)."""
    fig = _base(title, x_title)
    fig.update_layout(hovermode="closest", bargap=0.05)
    fig.add_trace(go.Bar(x=counts[value], y=counts[count], marker={"color": PALETTE[0]}, name=y_title,
                         hovertemplate="%{x}: %{y:,.0f}<extra></extra>"))
    top = max(_finite(counts[count]) or [0.0])
    fig.update_layout(yaxis={"title": {"text": y_title}, **axis_ticks("count", 0.0, max(top, 0.0))})
    xs = _finite(counts[value])
    if xs and all(v.is_integer() for v in xs):
        fig.update_layout(xaxis=axis_ticks("count", min(xs), max(xs)))
    return fig


def _fit_cells(grid: list[list[list[str]]], cell_px: float) -> tuple[int, int] | None:
    """The largest font (12 down to 8 px) at which every cell's words (rows of cells of texts), wrapped, fit a
    cell `cell_px` wide, with the characters a line may then hold; None if even 8 px does not fit."""
    for font in range(12, 7, -1):
        width = int(cell_px // (GLYPH_EM * font))
        if all(len(word) <= width for row in grid for cell in row for part in cell for word in part.split(" ")):
            return font, width
    return None


def heatmap(df: pd.DataFrame, *, row: str, column: str, status: str, title: str, x_title: str,
            y_title: str, text: str | None = None) -> go.Figure:
    """A grid of statuses (met / missed / below minimum / no data): each cell coloured and written in words (its
    value below), with a legend of the statuses rather than a colour bar. Words wrap and the font is sized so
    the longest word fits a cell of a HEATMAP_PLOT_PX-wide plot (8–12 px, never a cut word); where even 8 px is
    too big the value, then the words, are left to the hover. Date columns are written as months (Nov 2026)."""
    order = list(STATUS_COLOURS)
    rows = sorted(df[row].unique())
    cols = sorted(df[column].unique())
    dated = pd.api.types.is_datetime64_any_dtype(df[column]) or all(isinstance(c, dt.date) for c in cols)
    col_labels = [f"{pd.Timestamp(c):%b %Y}" if dated else str(c) for c in cols]
    code = {s: i for i, s in enumerate(order)}
    grid = df.pivot_table(index=row, columns=column, values=status, aggfunc="first").reindex(index=rows, columns=cols)
    states = grid.map(lambda s: s if s in code else "no_data")
    z = states.map(code.get)
    words = states.map(STATUS_WORDS.get).to_numpy().tolist()
    shown = [[""] * len(cols) for _ in rows]
    if text:
        labels = df.pivot_table(index=row, columns=column, values=text, aggfunc="first").reindex(index=rows, columns=cols)
        shown = labels.fillna("").astype(str).map(_text).to_numpy().tolist()
    cell_px = HEATMAP_PLOT_PX / max(1, len(cols))
    cells = [[[w, v] for w, v in zip(wr, vr)] for wr, vr in zip(words, shown)]
    fit = _fit_cells(cells, cell_px) or _fit_cells([[[w] for w in wr] for wr in words], cell_px)
    font, width = fit or (10, 0)
    with_values = fit is not None and _fit_cells(cells, cell_px) is not None
    lines = [[("<br>".join(_wrap(p, width) for p in ([w, v] if with_values and v else [w])) if fit else "")
              for w, v in zip(wr, vr)] for wr, vr in zip(words, shown)]
    hover = [[w + (f", {v}" if v else "") for w, v in zip(wr, vr)] for wr, vr in zip(words, shown)]
    most_lines = max((c.count("<br>") + 1 for r in lines for c in r if c), default=1)
    n = len(order)
    scale = []
    for i, s in enumerate(order):
        scale += [[i / n, STATUS_COLOURS[s]], [(i + 1) / n, STATUS_COLOURS[s]]]
    fig = _base(title, x_title)
    fig.update_layout(hovermode="closest")
    ys = texts(rows)
    fig.add_trace(go.Heatmap(z=z.to_numpy(), x=texts(col_labels), y=ys, zmin=-0.5, zmax=n - 0.5, colorscale=scale,
                             text=lines, texttemplate="%{text}", customdata=hover, showscale=False,
                             hovertemplate="%{y}, %{x}: %{customdata}<extra></extra>", xgap=2, ygap=2,
                             textfont={"size": font}))
    present = [s for s in order if (states == s).any().any()]
    for s in present:  # the legend: one square per status drawn, in words
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=STATUS_WORDS[s], hoverinfo="skip",
                                 marker={"symbol": "square", "size": 14, "color": STATUS_COLOURS[s]}))
    row_px = max(40, int(most_lines * font * 1.3) + 14)
    fig.update_layout(yaxis={"title": {"text": _text(y_title)}, "automargin": True, "type": "category",
                             "tickmode": "array", "tickvals": ys, "ticktext": [_wrap(y, 30) for y in ys]},
                      xaxis={"type": "category"}, showlegend=True, height=max(300, 170 + row_px * len(rows)))
    return fig


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def hour_weekday(df: pd.DataFrame, value: str, *, title: str, value_title: str, fraction: bool) -> go.Figure:
    """A weekday × hour-of-day grid of a value (e.g. calls offered, service level). Hours run from the first to
    the last hour with data (a centre open 08:00–17:59 is not drawn over 24 hours) and weekdays are those with
    data; hours are written as clock times (08:00); one hue from light to dark, its bar ticked in round steps."""
    has = df[df[value].notna()] if len(df) else df
    hours = list(range(int(has["hour"].min()), int(has["hour"].max()) + 1)) if len(has) else list(range(24))
    days = sorted(int(d) for d in has["weekday"].unique()) if len(has) else list(range(7))
    grid = df.pivot_table(index="weekday", columns="hour", values=value, aggfunc="first").reindex(
        index=days, columns=hours)
    zs = _finite(grid.to_numpy().ravel())
    ticks = axis_ticks("fraction" if fraction else "count", min(zs or [0.0]), max(zs or [1.0]))
    labels = [f"{h:02d}:00" for h in hours]
    fig = _base(title, "Hour of day (start of the hour)")
    fig.update_layout(hovermode="closest")
    scale = [[i / (len(SEQUENTIAL) - 1), c] for i, c in enumerate(SEQUENTIAL)]
    fig.add_trace(go.Heatmap(z=grid.to_numpy(), x=labels, y=[WEEKDAYS[d] for d in days], colorscale=scale,
                             xgap=1, ygap=1, colorbar={"title": {"text": _text(value_title)}, **ticks},
                             hovertemplate="%{y} %{x}: %{z" + (":.1%" if fraction else ":,.0f") + "}<extra></extra>"))
    shown = labels[::2] if len(labels) > 6 else labels  # every other hour when a half-width chart cannot hold all
    fig.update_layout(yaxis={"title": {"text": "Weekday"}, "autorange": "reversed", "type": "category"},
                      xaxis={"type": "category", "tickmode": "array", "tickvals": shown, "ticktext": shown,
                             "tickangle": 0})
    return fig


def sparkline(df: pd.DataFrame) -> list[float]:
    """The values a tile's small trend line shows (gaps left out)."""
    return [float(v) for v in df["value"].dropna().astype(float)]


def _fmt(kpi: Kpi, v: float) -> str:
    from opsdash.catalog import format_value

    return format_value(kpi, v)


# -- capacity: what is coming -------------------------------------------------------------------------------

#: The forecast's bands: one hue, the 95% range fainter than the 80% one (read in greyscale too, and on a light or
#: a dark background alike).
BAND_COLOURS = {95: SEQUENTIAL[1], 80: SEQUENTIAL[1]}
BAND_OPACITY = {95: 0.25, 80: 0.5}


def forecast(history: pd.DataFrame, points: pd.DataFrame, *, title: str, y_title: str, grain: str) -> go.Figure:
    """Volumes measured (history: ds, y) and forecast (points: ds, mean, lo_80, hi_80, lo_95, hi_95): the
    measured line, the forecast dashed, its 80% and 95% ranges as bands around it."""
    fig = _base(title, f"{grain.capitalize()} starting")
    fig.update_layout(hovermode="x unified")
    x = list(points["ds"])
    for level in (95, 80):  # the wider band first, under the narrower
        lo, hi = points[f"lo_{level}"].clip(lower=0).astype(float), points[f"hi_{level}"].astype(float)
        fig.add_trace(go.Scatter(x=x + x[::-1], y=list(hi) + list(lo[::-1]), fill="toself", mode="lines",
                                 line={"width": 0, "color": BAND_COLOURS[level]}, fillcolor=BAND_COLOURS[level],
                                 opacity=BAND_OPACITY[level], name=f"{level}% range", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=history["ds"], y=history["y"].astype(float), mode="lines", name="Measured",
                             line={"color": PALETTE[0], "width": 2}, hovertemplate="Measured: %{y:,.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=points["mean"].clip(lower=0).astype(float), mode="lines+markers",
                             name="Forecast", line={"color": PALETTE[1], "width": 2, "dash": "dash"},
                             marker={"symbol": "diamond", "size": 6, "color": PALETTE[1]},
                             hovertemplate="Forecast: %{y:,.0f}<extra></extra>"))
    values = [*history["y"].astype(float), *points["hi_95"].astype(float)]
    fig.update_layout(yaxis={"title": {"text": text(y_title)}, "rangemode": "tozero",
                             **axis_ticks("count", 0.0, max(_finite(values), default=1.0))})
    return fig


def staffing(weeks: pd.DataFrame, *, title: str) -> go.Figure:
    """Contact-centre agent-hours per week (weeks: week, required_hours, required_hours_hi_80, net_hours): what
    the target needs by Erlang A at the forecast and at its 80% upper bound, against what the plan puts on the
    phones net of shrinkage."""
    fig = _base(title, "Week starting")
    fig.add_trace(go.Scatter(x=weeks["week"], y=weeks["net_hours"].astype(float), mode="lines+markers",
                             name="Planned, net of shrinkage", line={"color": PALETTE[0], "width": 2},
                             marker={"symbol": "circle", "size": 7},
                             hovertemplate="Planned: %{y:,.0f} agent-hours<extra></extra>"))
    fig.add_trace(go.Scatter(x=weeks["week"], y=weeks["required_hours"].astype(float), mode="lines+markers",
                             name="Needed for the target (forecast calls)", line={"color": PALETTE[5], "width": 2},
                             marker={"symbol": "diamond", "size": 7},
                             hovertemplate="Needed: %{y:,.0f} agent-hours<extra></extra>"))
    fig.add_trace(go.Scatter(x=weeks["week"], y=weeks["required_hours_hi_80"].astype(float), mode="lines",
                             name="Needed in a busy week (top of the 80% range)",
                             line={"color": PALETTE[5], "width": 1, "dash": "dot"},
                             hovertemplate="Needed, busy: %{y:,.0f} agent-hours<extra></extra>"))
    values = [*weeks["net_hours"], *weeks["required_hours"], *weeks["required_hours_hi_80"]]
    ticks = list(weeks["week"])[:: 1 if len(weeks) <= 8 else 2]  # on the weeks' Mondays, not plotly's Sundays
    fig.update_xaxes(tickvals=ticks, tickformat="%-d %b %Y")
    fig.update_layout(yaxis={"title": {"text": "Agent-hours per week (hours)"}, "rangemode": "tozero",
                             **axis_ticks("count", 0.0, max(_finite(values), default=1.0))})
    return fig


def backlog(daily: pd.DataFrame, *, title: str) -> go.Figure:
    """A back-office queue ahead (daily: day, backlog, overdue, and backlog_hi_80 when there is a busy-weeks
    reading): the items open at each day's end, of them past due, and the backlog in busy weeks."""
    fig = _base(title, "Day")
    fig.add_trace(go.Scatter(x=daily["day"], y=daily["backlog"].astype(float), mode="lines", name="Open at the forecast",
                             line={"color": PALETTE[0], "width": 2},
                             hovertemplate="Open: %{y:,.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=daily["day"], y=daily["overdue"].astype(float), mode="lines",
                             name="Of them past due", line={"color": PALETTE[5], "width": 2, "dash": "dash"},
                             hovertemplate="Past due: %{y:,.0f}<extra></extra>"))
    values = [*daily["backlog"], *daily["overdue"]]
    if "backlog_hi_80" in daily:
        fig.add_trace(go.Scatter(x=daily["day"], y=daily["backlog_hi_80"].astype(float), mode="lines",
                                 name="Open in busy weeks (top of the 80% range)",
                                 line={"color": PALETTE[1], "width": 2, "dash": "dot"},
                                 hovertemplate="Open, busy: %{y:,.0f}<extra></extra>"))
        values += list(daily["backlog_hi_80"])
    fig.update_layout(yaxis={"title": {"text": "Items open at the day's end (count)"}, "rangemode": "tozero",
                             **axis_ticks("count", 0.0, max(_finite(values), default=1.0))})
    return fig


def reliability(curves: Sequence[tuple[str, pd.DataFrame]], *, title: str,
                x_title: str = "Denial risk given (%, mean of each tenth of the claims)",
                y_title: str = "Claims denied (% of that tenth)") -> go.Figure:
    """Does 30% mean 30%: for each model (name, its reliability frame: mean_score, share_denied, claims), the mean
    risk it gave each tenth of the held-out claims against the share of them denied, beside the diagonal of
    perfect calibration. A model above the diagonal says too little, below it too much; points spread along the
    diagonal are what a useful, honest model draws."""
    fig = _base(title, x_title)
    fig.update_layout(hovermode="closest")
    top = max([0.05, *(float(v) for _, r in curves for v in (*r["mean_score"], *r["share_denied"]) if pd.notna(v))])
    top = min(1.0, top * 1.08)
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name="Calibrated (says 10%, 10% denied)",
                             line={"color": NEUTRALS[0], "dash": "dash", "width": 1.5}, hoverinfo="skip"))
    for i, (name, r) in enumerate(curves):
        fig.add_trace(go.Scatter(
            x=r["mean_score"], y=r["share_denied"], mode="lines+markers", name=text(name),
            marker={"color": PALETTE[i % len(PALETTE)], "symbol": SYMBOLS[i % len(SYMBOLS)], "size": 9},
            line={"color": PALETTE[i % len(PALETTE)], "width": 1.5}, customdata=r["claims"],
            hovertemplate=text(name) + ": said %{x:.1%}, %{y:.1%} denied (%{customdata:,} claims)<extra></extra>"))
    ticks = {"tickformat": ".0%", "range": [0, top]}
    fig.update_layout(xaxis={"title": {"text": text(x_title)}, **ticks}, yaxis={"title": {"text": text(y_title)}, **ticks})
    return fig
