"""Chart functions: titles, labelled axes with units, the colour-blind-safe palette, stable vendor colours."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from opsdash import catalog, charts, spc

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
    assert fig.layout.yaxis.tickformat == ".1%" and "(%)" in fig.layout.yaxis.title.text
    assert any("target 95.0%" in (a.text or "") for a in fig.layout.annotations)


def test_spc_chart_marks_points_by_type_and_draws_limits():
    kpi = catalog.KPIS["claim_turnaround_days"]
    values = [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2]
    # Whole steps like these are too coarse for limits (test_spc_views); the marking is what is tested here.
    chart = spc.xmr(values, direction="lower", settings=spc.Settings(screen_coarse=False))
    fig = charts.spc(chart, list(range(len(values))), kpi, target=3)
    assert_labelled(fig)
    names = [t.name for t in fig.data]
    assert {"improvement", "mean", "upper process limit", "lower process limit"} <= set(names)
    improving = next(t for t in fig.data if t.name == "improvement")
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
