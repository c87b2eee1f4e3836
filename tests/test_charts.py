"""Chart functions: titles, labelled axes with units, the colour-blind-safe palette, stable vendor colours."""

from __future__ import annotations

import datetime as dt
import inspect
import math
import re

import pandas as pd
import plotly.graph_objects as go
import pytest

from opsdash import catalog, charts, labels, spc

PERIODS = [dt.date(2026, m, 1) for m in range(1, 7)]


def frame(by=None):
    rows = []
    for v in (["B", "A"] if by else [None]):
        for i, p in enumerate(PERIODS):
            rows.append({"period_start": p, **({by: v} if by else {}), "value": 0.9 + 0.01 * i if i != 3 else None})
    return pd.DataFrame(rows)


def assert_labelled(fig):
    assert fig.layout.title.text
    assert fig.layout.xaxis.title.text
    assert fig.layout.yaxis.title.text


def test_vendor_colours_are_stable_and_from_the_palette():
    universe = ["Meridian", "Helix", "ClearView", "Iberica"]
    all_ = charts.colours(universe, universe)
    some = charts.colours(["Meridian"], universe)
    assert some["Meridian"] == all_["Meridian"]  # a filter does not change a vendor's colour
    assert len(set(all_.values())) == 4 and set(all_.values()) <= set(charts.PALETTE)
    assert all(c.upper() in charts.PALETTE for c in charts.POINT_COLOURS.values())


def test_trend_one_line_per_vendor_with_gaps_target_and_percent_axis():
    kpi = catalog.KPIS["clean_claim_rate"]
    fig = charts.trend(frame("vendor"), kpi, by="vendor", target=0.95, universe=["A", "B", "C"])
    assert_labelled(fig)
    assert [t.name for t in fig.data] == ["A", "B"]
    assert fig.data[0].line.color == charts.colours(["A"], ["A", "B", "C"])["A"]
    assert pd.isna(fig.data[0].y[3]) and fig.data[0].connectgaps is False  # a gap stays a gap
    # data 90–95%, target 95%: the axis spans 89.5–95.5%, ticked every point
    assert list(fig.layout.yaxis.range) == pytest.approx([0.895, 0.955])
    assert fig.layout.yaxis.tickformat == ".0%" and "(%)" in fig.layout.yaxis.title.text
    assert any("target 95.0%" in (a.text or "") for a in fig.layout.annotations)


def test_spc_chart_marks_points_by_type_and_draws_limits():
    kpi = catalog.KPIS["claim_turnaround_days"]
    values = [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2]
    # Whole steps like these are too coarse for limits (test_spc_views); the marking is what is tested here.
    chart = spc.xmr(values, direction="lower", settings=spc.Settings(screen_coarse=False))
    fig = charts.spc(chart, list(range(len(values))), kpi, target=3)
    assert_labelled(fig)
    names = [t.name for t in fig.data]
    assert {labels.VARIATION_WORDS["improvement"], "mean", "upper process limit", "lower process limit"} <= set(names)
    improving = next(t for t in fig.data if t.name == labels.VARIATION_WORDS["improvement"])
    assert improving.marker.color == charts.POINT_COLOURS["improvement"]
    assert len(improving.y) == int((chart["point_type"] == "improvement").sum()) > 0
    assert "(days)" in fig.layout.yaxis.title.text


def test_bars_pareto_histogram_heatmap_hour_grid_are_labelled():
    kpi = catalog.KPIS["accuracy_rate"]
    df = pd.DataFrame({"process": ["coding", "billing", "coding"], "vendor": ["A", "A", "B"], "value": [0.9, 0.8, 0.95]})
    assert_labelled(charts.bars(df, kpi, "process", colour_by="vendor"))
    counts = pd.DataFrame({"reason": ["x", "y", "z"], "rows": [5, 20, 10]})
    p = charts.pareto(counts, "reason", "rows", title="Reasons", count_title="Claims (count)")
    assert_labelled(p)
    assert list(p.data[0].x) == ["y", "z", "x"]  # largest first
    assert p.data[1].y[-1] == pytest.approx(1.0) and p.data[1].y[0] == pytest.approx(20 / 35)
    hist = charts.histogram(pd.DataFrame({"days": [1, 2, 3], "claims": [1, 2, 1]}), "days", "claims", title="T",
                            x_title="Days", y_title="Claims (count)")
    assert_labelled(hist)
    assert list(hist.data[0].y) == [1, 2, 1]
    grid = pd.DataFrame({"level": ["a", "a", "b"], "month": ["2026-01", "2026-02", "2026-01"],
                         "status": ["met", "below_minimum", "missed"]})
    h = charts.heatmap(grid, row="level", column="month", status="status", title="H", x_title="Month", y_title="Level")
    assert_labelled(h)
    z = h.data[0].z
    codes = {s: i for i, s in enumerate(charts.STATUS_COLOURS)}
    assert z[0][1] == codes["below_minimum"] and z[1][1] == codes["no_data"]  # b has no February: no data
    hours = pd.DataFrame({"weekday": [0, 6], "hour": [9, 23], "offered": [10, 3]})
    assert_labelled(charts.hour_weekday(hours, "offered", title="Calls", value_title="Calls", fraction=False))


def test_data_text_in_titles_legends_categories_and_hover_is_never_markup():
    """Issue 11, item 10: plotly renders <b>, <br> and <a href> in titles, legends, ticks and hover; text from
    data is written with entities (shown as itself), and never pasted into a hover template."""
    evil = '<a href="http://127.0.0.1:9/x">A</a> <b>B</b> & %{y}'
    k = catalog.KPIS["clean_claim_rate"]
    df = pd.DataFrame({"period_start": [dt.date(2026, 1, 1)] * 2, "vendor": [evil, "Plain"], "payer": [evil, "P"],
                       "value": [0.9, 0.8]})
    figs = [charts.trend(df, k, by="vendor", title=f"{evil} trend"),
            charts.bars(df, k, "payer", colour_by="vendor", title=evil), charts.bars(df, k, "vendor"),
            charts.pareto(pd.DataFrame({"denial_reason": [evil], "rows": [3]}), "denial_reason", "rows", title=evil,
                          count_title="n"),
            charts.heatmap(pd.DataFrame({"r": [evil], "c": ["2026-01"], "s": ["met"], "t": [evil]}), row="r",
                           column="c", status="s", text="t", title=evil, x_title="x", y_title="y")]
    for fig in figs:
        spec = fig.to_plotly_json()
        strings = [fig.layout.title.text] + [str(v) for t in spec["data"] for key in ("name", "x", "y", "text",
                                                                                    "hovertemplate")
                                             for v in (t.get(key) if isinstance(t.get(key), (list, tuple)) else
                                                       list(t.get(key).ravel()) if hasattr(t.get(key), "ravel") else
                                                       [t.get(key)]) if v is not None]
        assert any("&lt;b&gt;B&lt;/b&gt; &amp;" in s for s in strings)
        for s in strings:
            assert "<a " not in s and "<b>" not in s, s
        for t in spec["data"]:  # a template never holds data text (its %{y} would be filled in)
            assert "B&lt;" not in str(t.get("hovertemplate")) and "<b>B" not in str(t.get("hovertemplate"))
    assert charts.text(evil) == '&lt;a href="http://127.0.0.1:9/x"&gt;A&lt;/a&gt; &lt;b&gt;B&lt;/b&gt; &amp; %{y}'


# --- Issue 12 item 4: charts that read right ---------------------------------------------------------------

def d3(fmt: str, v: float) -> str:
    """The few d3 formats the charts use, written as plotly writes them (independent of charts.py)."""
    m = re.fullmatch(r"(,?)\.?(\d*)([%fd])", fmt)
    assert m, fmt
    comma, digits, kind = m.groups()
    if kind == "%":
        return f"{v * 100:.{int(digits)}f}%"
    if kind == "d":
        return f"{round(v):{',' if comma else ''}d}"
    return f"{v:{',' if comma else ''}.{int(digits)}f}"


def tick_labels(axis, lo: float, hi: float) -> list[str]:
    """The labels of the ticks an axis with tick0/dtick draws between lo and hi."""
    t0, step = float(axis.tick0 or 0), float(axis.dtick)
    first, last = math.ceil((lo - t0) / step - 1e-9), math.floor((hi - t0) / step + 1e-9)
    return [d3(axis.tickformat, t0 + k * step) for k in range(first, last + 1)]


def test_a_rate_by_vendor_is_dots_on_an_axis_zoomed_to_the_data_and_target():
    """94% and 96% must look different: dots (not bars from zero) on 93.8–96.2% (their span, 2 points, padded
    by 10% each side), the target a line, the ticks every half point."""
    kpi = catalog.KPIS["clean_claim_rate"]
    df = pd.DataFrame({"vendor": ["Helix", "Meridian"], "value": [0.94, 0.96]})
    fig = charts.bars(df, kpi, "vendor", target=0.95, universe=["Helix", "Meridian"])
    assert [t.type for t in fig.data] == ["scatter"] and fig.data[0].mode == "markers"
    assert fig.data[0].orientation == "h" and list(fig.data[0].y) == ["Helix", "Meridian"]
    lo, hi = fig.layout.xaxis.range
    assert (lo, hi) == pytest.approx((0.938, 0.962))
    assert (0.96 - 0.94) / (hi - lo) > 0.8  # the two dots sit most of the chart apart (from 0: 2% of it)
    assert [s.x0 for s in fig.layout.shapes] == [0.95]  # the target, as a line across the chart
    assert any(a.text == "target 95.0%" for a in fig.layout.annotations)
    assert tick_labels(fig.layout.xaxis, lo, hi) == ["94.0%", "94.5%", "95.0%", "95.5%", "96.0%"]
    assert fig.layout.yaxis.title.text == "Vendor" and fig.layout.xaxis.title.text == "Clean claim rate (%)"


def test_rate_axis_rule_widens_narrow_spans_keeps_the_target_and_stays_within_0_and_100():
    # 99.5% and 100% against a 99% target: span 1 point, widened to 98–100%, padded, clipped at 100%
    assert charts.rate_range([0.995, 1.0], 0.99) == pytest.approx((0.978, 1.0))
    # a target far from the data is still in view: 80% and 90–95% → 78.5–96.5%
    assert charts.rate_range([0.90, 0.95], 0.80) == pytest.approx((0.785, 0.965))
    assert charts.rate_range([0.0, 0.01]) == pytest.approx((0.0, 0.022))
    kpi = catalog.KPIS["service_level"]
    fig = charts.trend(pd.DataFrame({"period_start": PERIODS[:3], "value": [0.90, 0.93, 0.95]}), kpi, target=0.80)
    assert list(fig.layout.yaxis.range) == pytest.approx([0.785, 0.965])
    labels = tick_labels(fig.layout.yaxis, *fig.layout.yaxis.range)
    assert labels == ["80%", "85%", "90%", "95%"]


def test_rates_by_two_categories_are_dots_told_apart_by_colour_and_shape():
    kpi = catalog.KPIS["accuracy_rate"]
    df = pd.DataFrame({"process": ["coding", "billing", "eligibility"], "vendor": ["A", "A", "B"],
                       "value": [0.951, 0.962, 0.947]})
    fig = charts.bars(df, kpi, "process", colour_by="vendor", universe=["A", "B"], target=0.95)
    assert [t.type for t in fig.data] == ["scatter", "scatter"] and fig.layout.showlegend
    assert fig.data[0].marker.symbol != fig.data[1].marker.symbol
    assert fig.layout.legend.title.text == "Vendor"
    # 94.7–96.2%: under 2 points, so 2 points about the middle (94.45–96.45%), padded by 0.2 each side
    assert list(fig.layout.xaxis.range) == pytest.approx([0.9425, 0.9665])


def test_counts_and_durations_by_category_stay_bars_from_zero():
    kpi = catalog.KPIS["turnaround_hours"]
    df = pd.DataFrame({"process": ["coding", "billing"], "priority": ["stat", "routine"], "value": [3.0, 41.0]})
    fig = charts.bars(df, kpi, "process", colour_by="priority")
    assert {t.type for t in fig.data} == {"bar"} and fig.layout.xaxis.range is None  # plotly starts bars at 0
    assert fig.layout.xaxis.dtick == 10 and tick_labels(fig.layout.xaxis, 0, 41) == ["0", "10", "20", "30", "40"]


@pytest.mark.parametrize(("unit", "lo", "hi", "labels"), [
    ("count", 0, 2, ["0", "1", "2"]),  # never 0, 1, 1, 2, 2
    ("count", 0, 5, ["0", "1", "2", "3", "4", "5"]),
    ("count", 0, 0, ["0"]),
    ("count", 0, 47_064, ["0", "10,000", "20,000", "30,000", "40,000"]),
    ("fraction", 0.941, 0.943, ["94.10%", "94.15%", "94.20%", "94.25%", "94.30%"]),
    ("days", 2.0, 4.0, ["2.0", "2.5", "3.0", "3.5", "4.0"]),
    ("seconds", 20, 190, ["50", "100", "150"]),
])
def test_value_axis_ticks_are_round_steps_whose_labels_never_repeat(unit, lo, hi, labels):
    axis = go.layout.YAxis(**charts.axis_ticks(unit, lo, hi))
    got = tick_labels(axis, lo, hi)
    assert got == labels and len(set(got)) == len(got)


def test_integer_axes_of_counts_have_integer_ticks():
    hist = charts.histogram(pd.DataFrame({"days": [0, 1, 2, 3], "claims": [1, 2, 1, 2]}), "days", "claims",
                            title="T", x_title="Days", y_title="Claims (count)")
    assert hist.layout.yaxis.dtick == 1 and hist.layout.yaxis.tickformat == ",d"
    assert hist.layout.xaxis.dtick == 1  # whole days are ticked in whole days
    backlog = catalog.KPIS["overdue_backlog"]
    fig = charts.trend(pd.DataFrame({"period_start": PERIODS[:4], "value": [0, 2, 1, 0]}), backlog)
    assert tick_labels(fig.layout.yaxis, 0, 2) == ["0", "1", "2"]
    chart = spc.xmr([0, 1, 0, 2, 1, 0, 1, 1], direction="lower")
    s = charts.spc(chart, PERIODS + PERIODS[:2], backlog)
    assert s.layout.yaxis.dtick >= 1 and float(s.layout.yaxis.dtick).is_integer()


def test_pareto_ticks_quarters_aligned_and_its_legend_below_the_category_labels():
    counts = pd.DataFrame({"reason": ["Missing or invalid information on the claim", "b", "c"],
                           "rows": [750, 620, 70]})
    p = charts.pareto(counts, "reason", "rows", title="Reasons", count_title="Claims (count)")
    y, y2 = p.layout.yaxis, p.layout.yaxis2
    assert tick_labels(y2, *y2.range) == ["0%", "25%", "50%", "75%", "100%"]
    # counts to the round top at or above 750 in four steps: 0, 200, ..., 800 — on the share's gridlines
    assert tick_labels(y, *y.range) == ["0", "200", "400", "600", "800"]
    assert y.dtick / y.range[1] == y2.dtick / y2.range[1]
    # the legend is placed in the figure's own space at its foot, where plotly makes room below the labels
    assert (p.layout.legend.yref, p.layout.legend.y, p.layout.legend.yanchor) == ("container", 0, "bottom")
    assert p.layout.xaxis.tickangle == 0 and "<br>" in p.layout.xaxis.ticktext[0]  # wrapped, not turned
    assert list(p.layout.xaxis.tickvals) == list(p.data[0].x)  # the category itself is unchanged
    many = charts.pareto(pd.DataFrame({"reason": [f"category {i}" for i in range(20)], "rows": range(20, 40)}),
                         "reason", "rows", title="T", count_title="n")
    assert many.layout.xaxis.tickangle == -45  # 20 names cannot wrap into 38 px slots: turned, legend still below
    small = charts.pareto(pd.DataFrame({"reason": ["x", "y"], "rows": [21, 3]}), "reason", "rows", title="T",
                          count_title="n")
    assert tick_labels(small.layout.yaxis, *small.layout.yaxis.range) == ["0", "6", "12", "18", "24"]


def test_status_heatmap_writes_whole_words_that_fit_and_has_a_legend_of_statuses():
    months = pd.date_range("2025-12-01", periods=12, freq="MS")
    rows = [{"level": lv, "month": m, "status": st, "shown": "7.4 hours"}
            for lv, st in (("Turnaround", "below_minimum"), ("Accuracy", "met"), ("Adherence", "missed"))
            for m in months]
    fig = charts.heatmap(pd.DataFrame(rows), row="level", column="month", status="status", text="shown",
                         title="H", x_title="Month", y_title="Service level")
    heat = fig.data[0]
    assert list(heat.x)[:2] == ["Dec 2025", "Jan 2026"]
    font = heat.textfont.size
    cell_px = charts.HEATMAP_PLOT_PX / 12
    for row in heat.text:
        for cell in row:
            for line in cell.split("<br>"):
                assert len(line) * charts.GLYPH_EM * font <= cell_px, (line, font)
    turnaround = list(heat.y).index("Turnaround")
    words = heat.text[turnaround][0].replace("<br>", " ")
    assert words == "Below minimum 7.4 hours"  # whole words, the status as people say it
    assert heat.showscale is False  # no colour bar: a legend of the statuses drawn
    legend = {t.name: t.marker.color for t in fig.data[1:]}
    assert legend == {"Met": charts.STATUS_COLOURS["met"], "Missed": charts.STATUS_COLOURS["missed"],
                      "Below minimum": charts.STATUS_COLOURS["below_minimum"]}
    assert fig.layout.showlegend is True


def test_heatmap_too_narrow_for_words_leaves_them_to_the_hover_rather_than_cut_them():
    months = pd.date_range("2023-01-01", periods=40, freq="MS")
    df = pd.DataFrame({"level": "L", "month": months, "status": "below_minimum", "shown": "91.0%"})
    heat = charts.heatmap(df, row="level", column="month", status="status", text="shown", title="H",
                          x_title="Month", y_title="Level").data[0]
    assert all(cell == "" for row in heat.text for cell in row)
    assert heat.customdata[0][0] == "Below minimum, 91.0%"


def test_hour_grid_covers_the_hours_with_data_written_as_clock_times():
    df = pd.DataFrame({"weekday": [0, 0, 4, 5], "hour": [8, 17, 12, 9], "offered": [10, 3, 7, 2],
                       "service_level": [0.8, 0.7, None, 0.9]})
    fig = charts.hour_weekday(df, "offered", title="Calls", value_title="Calls offered (count)", fraction=False)
    heat = fig.data[0]
    assert list(heat.x) == [f"{h:02d}:00" for h in range(8, 18)]
    assert list(heat.y) == ["Mon", "Fri", "Sat"]
    assert heat.z[0][0] == 10 and heat.z[0][9] == 3 and math.isnan(heat.z[1][0])
    assert tick_labels(heat.colorbar, 2, 10) == ["2", "4", "6", "8", "10"]  # whole calls, in round steps


# Every public chart function, with a sample frame: a new chart without a sample here fails the walk below.
KPI_RATE, KPI_DAYS = catalog.KPIS["clean_claim_rate"], catalog.KPIS["claim_turnaround_days"]
SAMPLES = {
    "trend": lambda: charts.trend(frame("vendor"), KPI_RATE, by="vendor", target=0.95),
    "spc": lambda: charts.spc(spc.xmr([3, 3, 2, 4, 3, 2, 3, 4], direction="lower"), PERIODS + PERIODS[:2],
                              KPI_DAYS, target=3),
    "bars": lambda: charts.bars(pd.DataFrame({"payer": ["P", "Q"], "vendor": ["A", "B"], "value": [0.9, 0.95]}),
                                KPI_RATE, "payer", colour_by="vendor", target=0.95),
    "pareto": lambda: charts.pareto(pd.DataFrame({"denial_reason": ["x", "y"], "rows": [5, 3]}), "denial_reason",
                                    "rows", title="Denial reasons", count_title="Denied claims (count)"),
    "reliability": lambda: charts.reliability(
        [("opsdash's model", pd.DataFrame({"mean_score": [0.02, 0.1, 0.3], "share_denied": [0.03, 0.09, 0.28],
                                           "claims": [50, 50, 50]})),
         ("Vendor's model", pd.DataFrame({"mean_score": [0.01, 0.2, 0.6], "share_denied": [0.04, 0.1, 0.3],
                                          "claims": [50, 50, 50]}))], title="Does the risk come true?"),
    "histogram": lambda: charts.histogram(pd.DataFrame({"days": [1, 2], "claims": [3, 4]}), "days", "claims",
                                          title="Turnaround", x_title="Days", y_title="Claims (count)"),
    "heatmap": lambda: charts.heatmap(
        pd.DataFrame({"service level": ["a", "b"], "month": pd.to_datetime(["2026-01-01", "2026-02-01"]),
                      "status": ["met", "below_minimum"]}),
        row="service level", column="month", status="status", title="Levels", x_title="Month",
        y_title="Service level"),
    "add_events": lambda: charts.add_events(
        charts.trend(frame("vendor"), KPI_RATE, by="vendor", target=0.95),
        pd.DataFrame({"event_date": [PERIODS[1], PERIODS[3]], "description": ["Go-live of a new platform", "Audit"],
                      "is_process_change": [True, False], "vendor": ["A", "B"], "kpi": [None, None],
                      "process": [None, None], "source": [None, None]})),
    "forecast": lambda: charts.forecast(
        pd.DataFrame({"ds": pd.to_datetime(["2026-01-05", "2026-01-12"]), "y": [10.0, 12.0]}),
        pd.DataFrame({"ds": pd.to_datetime(["2026-01-19", "2026-01-26"]), "mean": [11.0, 11.5], "lo_80": [9.0, 8.0],
                      "hi_80": [13.0, 15.0], "lo_95": [7.0, 6.0], "hi_95": [15.0, 17.0]}),
        title="Work items opened per week", y_title="Work items opened (count)", grain="week"),
    "staffing": lambda: charts.staffing(
        pd.DataFrame({"week": pd.to_datetime(["2026-01-05", "2026-01-12"]), "required_hours": [300.0, 420.0],
                      "required_hours_hi_80": [340.0, 470.0], "net_hours": [350.0, 350.0]}),
        title="Agent-hours per week, scheduling"),
    "backlog": lambda: charts.backlog(
        pd.DataFrame({"day": pd.to_datetime(["2026-01-05", "2026-01-06"]), "backlog": [10.0, 14.0],
                      "overdue": [0.0, 2.0], "backlog_hi_80": [12.0, 20.0]}),
        title="Items open ahead, coding"),
    "hour_weekday": lambda: charts.hour_weekday(
        pd.DataFrame({"weekday": [0, 1], "hour": [8, 9], "service_level": [0.8, 0.9]}), "service_level",
        title="Service level", value_title="Service level (%)", fraction=True),
}
SNAKE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


def colours_in(spec) -> list[str]:
    """Every colour a figure's JSON names (colour keys and colour scales), the template left out."""
    found: list[str] = []

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                if k != "template":
                    walk(v, k)
        elif isinstance(node, (list, tuple)):
            if key == "colorscale":
                found.extend(str(c) for _, c in node)
            else:
                for v in node:
                    walk(v, key)
        elif "color" in key.lower() and isinstance(node, str):
            found.append(node)
        elif key == "colorscale" and isinstance(node, str):
            found.append(node)  # a named scale (Viridis…) is not the project's
    walk(spec)
    return found


def test_every_chart_has_a_title_labelled_axes_in_words_and_only_project_colours():
    public = {n for n, f in inspect.getmembers(charts, inspect.isfunction)
              if f.__module__ == charts.__name__ and not n.startswith("_")
              and inspect.signature(f).return_annotation in (go.Figure, "go.Figure")}
    assert public == set(SAMPLES)
    for name, make in SAMPLES.items():
        fig = make()
        spec = fig.to_plotly_json()
        layout = spec["layout"]
        assert fig.layout.title.text, name
        axes = [k for k in layout if re.fullmatch(r"[xy]axis\d*", k)]
        assert {"xaxis", "yaxis"} <= set(axes), name
        words = [fig.layout.title.text] + [t.name for t in fig.data if t.name and t.showlegend is not False]
        for axis in axes:
            title = (layout[axis].get("title") or {}).get("text")
            assert title, (name, axis)
            words.append(title)
        words += [t.colorbar.title.text for t in fig.data if t.type == "heatmap" and t.showscale is not False]
        for w in words:
            assert w and not SNAKE.search(w), (name, w)
        assert "(" in layout["yaxis"]["title"]["text"] or name in ("heatmap", "hour_weekday", "bars"), name
        for c in colours_in(spec):
            assert c.upper() in charts.PROJECT_COLOURS, (name, c)
