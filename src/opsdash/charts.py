"""Plotly figures from tidy frames: no Streamlit here, so every chart is tested on its own.

Every figure has a title and labelled axes with units, and uses the Okabe-Ito palette (distinguishable with
the common colour-vision deficiencies). A vendor keeps its colour on every page: colours follow the sorted
list of all vendors, not the vendors a filter leaves.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from opsdash.catalog import Kpi

#: Okabe & Ito (2008), without black (used for text) and yellow (unreadable on white) first.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
#: Making Data Count point colours, from the same palette: blue improvement, orange concern, grey common cause.
POINT_COLOURS = {"improvement": "#0072B2", "concern": "#E69F00", "neutral": "#CC79A7", "common_cause": "#999999"}
STATUS_COLOURS = {"met": "#009E73", "missed": "#E69F00", "below_minimum": "#D55E00", "no_data": "#DDDDDD"}
STATUS_WORDS = {"met": "met", "missed": "missed", "below_minimum": "below minimum", "no_data": "no data"}
CELL_WORDS = {**STATUS_WORDS, "below_minimum": "below min."}  # short enough for a month's cell


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


def _value_axis(fig: go.Figure, kpi: Kpi, axis: str = "yaxis") -> None:
    fig.update_layout({axis: {"title": {"text": axis_title(kpi)},
                              "tickformat": ".1%" if kpi.unit == "fraction" else (",d" if kpi.unit == "count" else ",.1f")}})


def _hover(kpi: Kpi) -> str:
    return "%{y:.1%}" if kpi.unit == "fraction" else ("%{y:,.0f}" if kpi.unit == "count" else "%{y:,.1f} " + kpi.unit)


def _base(title: str, x_title: str) -> go.Figure:
    fig = go.Figure()
    # Titles interpolate data text (a vendor's name, a process); opsdash's own titles hold no markup.
    fig.update_layout(title={"text": text(title)}, xaxis={"title": {"text": text(x_title)}}, colorway=list(PALETTE),
                      legend={"orientation": "h", "y": -0.25}, margin={"t": 60, "b": 40}, hovermode="x unified")
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
    if target is not None:
        fig.add_hline(y=target, line={"dash": "dash", "color": "#8C8C8C"},
                      annotation_text=f"target {_fmt(kpi, target)}", annotation_position="top left")
    fig.update_layout(showlegend=bool(by))  # a single vendor's line still says whose it is
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
EVENT_STYLES = {True: {"color": "#333333", "dash": "solid", "width": 1.5},
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
                           hovertext=text(event_hover(row)), bgcolor="rgba(255,255,255,0.75)")
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
                                     name=ptype.replace("_", " "), marker={"color": colour, "size": 9},
                                     hovertemplate=f"{ptype.replace('_', ' ')}: {_hover(kpi)}<extra></extra>"))
    coarse = chart["coarse"].astype(bool) if "coarse" in chart else pd.Series(False, index=chart.index)
    if coarse.any():
        fig.add_trace(go.Scatter(x=[x[i] for i in coarse[coarse].index], y=chart.loc[coarse, "value"],
                                 mode="markers", name="no SPC reading (too coarse)",
                                 marker={"color": "#999999", "size": 9, "symbol": "circle-open", "line": {"width": 2}},
                                 hovertemplate=f"no SPC reading (too coarse): {_hover(kpi)}<extra></extra>"))
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
    """A KPI's value per category (e.g. by vendor), grouped by a second one when given."""
    fig = _base(title or f"{kpi.label} by {x.replace('_', ' ')}", x.replace("_", " ").capitalize())
    fig.update_layout(hovermode="closest", barmode="group")
    if colour_by:
        names = [str(v) for v in df[colour_by].dropna().unique()]
        palette = colours(names, universe)
        for name, part in df.groupby(colour_by, sort=True):
            fig.add_trace(go.Bar(x=texts(part[x]), y=part["value"].astype(float), name=text(name),
                                 marker={"color": palette[str(name)]},
                                 hovertemplate=f"%{{fullData.name}}: {_hover(kpi)}<extra></extra>"))
    else:
        cats = [str(v) for v in df[x]]
        palette = colours(cats, universe) if universe else {c: PALETTE[0] for c in cats}
        fig.add_trace(go.Bar(x=texts(cats), y=df["value"].astype(float), marker={"color": [palette[c] for c in cats]},
                             name=kpi.label, hovertemplate=f"%{{x}}: {_hover(kpi)}<extra></extra>", showlegend=False))
    if target is not None:
        fig.add_hline(y=target, line={"dash": "dash", "color": "#8C8C8C"}, annotation_text=f"target {_fmt(kpi, target)}")
    _value_axis(fig, kpi)
    return fig


def pareto(df: pd.DataFrame, category: str, count: str, *, title: str, count_title: str) -> go.Figure:
    """Categories by count, largest first, with the cumulative share on a second axis."""
    d = df.sort_values(count, ascending=False)
    total = d[count].sum()
    cum = d[count].cumsum() / total if total else d[count] * 0
    fig = _base(title, category.replace("_", " ").capitalize())
    fig.update_layout(hovermode="closest")
    fig.add_trace(go.Bar(x=texts(d[category]), y=d[count], name=count_title, marker={"color": PALETTE[0]},
                         hovertemplate="%{x}: %{y:,.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=texts(d[category]), y=cum, name="cumulative share", yaxis="y2", mode="lines+markers",
                             line={"color": PALETTE[1]}, hovertemplate="cumulative %{y:.1%}<extra></extra>"))
    fig.update_layout(yaxis={"title": {"text": count_title}, "tickformat": ",d"},
                      yaxis2={"title": {"text": "Cumulative share (%)"}, "overlaying": "y", "side": "right",
                              "tickformat": ".0%", "range": [0, 1.05]})
    return fig


def histogram(counts: pd.DataFrame, value: str, count: str, *, title: str, x_title: str, y_title: str) -> go.Figure:
    """A distribution already counted per value (the store counts; millions of rows never reach the browser)."""
    fig = _base(title, x_title)
    fig.update_layout(hovermode="closest", bargap=0.05)
    fig.add_trace(go.Bar(x=counts[value], y=counts[count], marker={"color": PALETTE[0]}, name=y_title,
                         hovertemplate="%{x}: %{y:,.0f}<extra></extra>"))
    fig.update_layout(yaxis={"title": {"text": y_title}, "tickformat": ",d"})
    return fig


def heatmap(df: pd.DataFrame, *, row: str, column: str, status: str, title: str, x_title: str,
            y_title: str, text: str | None = None) -> go.Figure:
    """A grid of statuses (met / missed / below minimum / no data) with a legend-like discrete colour scale."""
    order = list(STATUS_COLOURS)
    rows = sorted(df[row].unique())
    cols = sorted(df[column].unique())
    code = {s: i for i, s in enumerate(order)}
    grid = df.pivot_table(index=row, columns=column, values=status, aggfunc="first").reindex(index=rows, columns=cols)
    z = grid.map(lambda s: code.get(s, code["no_data"]) if isinstance(s, str) else code["no_data"])
    words = grid.map(lambda s: CELL_WORDS.get(s, "no data") if isinstance(s, str) else "no data")
    if text:
        labels = df.pivot_table(index=row, columns=column, values=text, aggfunc="first").reindex(index=rows, columns=cols)
        words = words + "<br>" + labels.fillna("").astype(str).map(_text)
    n = len(order)
    scale = []
    for i, s in enumerate(order):
        scale += [[i / n, STATUS_COLOURS[s]], [(i + 1) / n, STATUS_COLOURS[s]]]
    fig = _base(title, x_title)
    fig.update_layout(hovermode="closest")
    fig.add_trace(go.Heatmap(z=z.to_numpy(), x=texts(cols), y=texts(rows), zmin=-0.5,
                             zmax=n - 0.5, colorscale=scale, text=words.to_numpy(), texttemplate="%{text}",
                             hovertemplate="%{y}, %{x}: %{text}<extra></extra>", xgap=2, ygap=2,
                             textfont={"size": 11},
                             colorbar={"tickvals": list(range(n)), "ticktext": [STATUS_WORDS[s] for s in order],
                                       "title": {"text": "Status"}}))
    fig.update_layout(yaxis={"title": {"text": _text(y_title)}, "automargin": True}, xaxis={"type": "category"},
                      height=max(300, 90 + 60 * len(rows)))
    return fig


def hour_weekday(df: pd.DataFrame, value: str, *, title: str, value_title: str, fraction: bool) -> go.Figure:
    """A weekday x hour-of-day grid of a value (e.g. calls offered, service level)."""
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    grid = df.pivot_table(index="weekday", columns="hour", values=value, aggfunc="first").reindex(
        index=range(7), columns=range(24))
    fig = _base(title, "Hour of day")
    fig.update_layout(hovermode="closest")
    fig.add_trace(go.Heatmap(z=grid.to_numpy(), x=list(range(24)), y=days, colorscale="Cividis",
                             colorbar={"title": {"text": value_title}, "tickformat": ".0%" if fraction else ",d"},
                             hovertemplate="%{y} %{x}:00: %{z" + (":.1%" if fraction else ":,.0f") + "}<extra></extra>"))
    fig.update_layout(yaxis={"title": {"text": "Weekday"}, "autorange": "reversed"})
    return fig


def sparkline(df: pd.DataFrame) -> list[float]:
    """The values a tile's small trend line shows (gaps left out)."""
    return [float(v) for v in df["value"].dropna().astype(float)]


def _fmt(kpi: Kpi, v: float) -> str:
    from opsdash.catalog import format_value

    return format_value(kpi, v)
