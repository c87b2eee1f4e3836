"""Shared page pieces: KPI tiles, charts and tables with their downloads, and a guard that turns a failure
into a readable message while the rest of the page goes on."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from opsdash import audit, catalog, downloads, views
from opsdash.store import StoreBusy
from opsdash.ui import auth, boot
from opsdash.ui.text import md as text_md
from opsdash.views import Filters, Tile

VARIATION_ICONS = {"improvement": ":material/trending_up:", "concern": ":material/warning:",
                   "neutral": ":material/change_circle:", "common_cause": ":material/drag_handle:"}
#: Badge colours after Making Data Count (blue improvement, orange concern), safe for colour-blind readers.
VARIATION_BADGES = {"improvement": "blue", "concern": "orange", "neutral": "violet", "common_cause": "gray"}
VARIATION_WORDS = {"improvement": "special cause: improvement", "concern": "special cause: concern",
                   "neutral": "special cause", "common_cause": "common cause",
                   "too_coarse": "no SPC reading: too coarse"}
ASSURANCE_WORDS = {"consistently_pass": "will consistently meet the target",
                   "consistently_fail": "will consistently miss the target",
                   "hit_and_miss": "will hit and miss the target",
                   "too_coarse": "cannot be judged against the target (too coarse)"}


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


def tile(t: Tile, grain: str, container: Any = None) -> None:
    """One headline KPI: value, change against the previous period and a year ago, target, SPC icons."""
    c = container or st
    k = t.kpi
    icon = VARIATION_ICONS.get(t.variation or "")
    help_lines = [k.description, "", f"SPC: {t.words}."]
    if t.assurance:
        help_lines.append(f"Assurance: the process {ASSURANCE_WORDS[t.assurance]} ({catalog.format_value(k, t.target)}).")
    if t.year_ago is not None:
        help_lines.append(f"Same {grain} last year: {catalog.format_value(k, t.year_ago)} "
                          f"({_signed(k, t.change_vs_year_ago)}).")
    period = f"{grain} of {t.period:%d %b %Y}" if t.period else "no data"
    c.metric(k.label, catalog.format_value(k, t.value), delta=_signed(k, t.change), icon=icon,
             delta_color=change_colour(k, t.change), help="\n\n".join(help_lines), border=True,
             chart_data=t.spark or None, chart_type="line",
             delta_description=f"vs previous {grain}" if t.change is not None else None)
    target = f"target {catalog.format_value(k, t.target)}" if t.target is not None else "no target"
    assurance = f" · {ASSURANCE_WORDS[t.assurance]}" if t.assurance else ""
    badge = VARIATION_BADGES.get(t.variation or "", "gray")
    c.caption(f":{badge}-badge[{VARIATION_WORDS.get(t.variation or '', 'no SPC reading')}] {period} · {target}{assurance}")


def change_colour(kpi: catalog.Kpi, change: float | None) -> str:
    """Blue for a change for the better, orange for the worse, grey otherwise (never red against green)."""
    if change is None or _signed(kpi, change) == "no change" or kpi.direction == "neutral":
        return "gray"
    better = change > 0 if kpi.direction == "higher" else change < 0
    return "blue" if better else "orange"


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
          on_select: Callable[[], None] | None = None, selection_mode: Any = ("points",)) -> None:
    """A chart with the CSV of exactly the data it draws."""
    title = fig.layout.title.text or name
    if on_select:
        st.plotly_chart(fig, key=key, on_select=on_select, selection_mode=selection_mode, width="stretch")
    else:
        st.plotly_chart(fig, key=key, width="stretch")
    download_buttons(df, name, f, title, key)


def table(df: pd.DataFrame, name: str, f: Filters | dict[str, Any], title: str, key: str, xlsx: bool = True,
          full: Callable[[], pd.DataFrame] | None = None, downloadable: bool = True, **kw: Any) -> None:
    """A table with CSV and Excel downloads of exactly its rows (or of `full()`, when the table shows a part)."""
    st.dataframe(df, hide_index=True, width="stretch", key=key, **kw)
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
              on_select=(lambda: filters.drill_period(key, f.grain)) if drill else None)


def pareto(table: str, column: str, f: Filters, time_col: str, condition: str, title: str, count_title: str,
           key: str, what: str) -> None:
    """Rows per category, largest first with the cumulative share, or a 'no data' message."""
    from opsdash import charts
    from opsdash.ui import data

    with guard(what):
        counts = data.counts_by(data.source(), data.version(), table, column, f, time_col, condition)
        if counts.empty:
            no_data(what, f)
            return
        chart(charts.pareto(counts, column, "rows", title=title, count_title=count_title), counts,
              column + "_pareto", f, key=key)
