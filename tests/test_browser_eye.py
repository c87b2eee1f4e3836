"""What a person's eye would catch, in the real browser (issue 12, item 7): on the sample store and on a store
whose every name is hostile markup, every page of the dashboard and the review pack's HTML show no "None", no
machine name from the contract or the catalogue in running text, no tile title cut off, and make no request to
any host but the server; the Overview's status words are the engine's comparison with the target.

Each page is visited once per store (one server per store); the checks read what that visit recorded: the text
nodes drawn (icons, code elements, addresses and file names left out), the table grid's accessible copy of its
drawn cells and, for missing values (drawn "None" but empty in that copy), the tables' data as the session's
messages carried it. The Overview's contract: each tile (the largest element holding its title and no other
tile's) says exactly one of "On target", "Off target", "No target"; a KPI without data has no tile.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pandas as pd
import pytest
from click.testing import CliRunner

from opsdash import catalog, contract, metrics, report, sla, views
from opsdash.cli import main as cli
from opsdash.dashboard import PAGES as APP_PAGES
from opsdash.dashboard import SECTIONS
from opsdash.store import Store
from tests.browser import chromium, free_port, require_chromium, served
from tests.conftest import ROOT
from tests.test_browser_markup import _store as hostile_store

STORES = ("sample", "hostile")
#: Every page of the app's navigation (local mode shows them all), by its address path.
PAGES = {("overview" if p.default else Path(p.file).stem): ("" if p.default else Path(p.file).stem) for p in APP_PAGES}
#: ... and every section of a page in sections beyond its first (only the open section is drawn).
PAGES.update({f"{Path(file).stem}: {name}": f"{Path(file).stem}?{key}={quote(name)}"
              for file, (key, names) in SECTIONS.items() for name in names[1:]})
STATUS_WORDS = ("On target", "Off target", "No target")


def machine_names() -> frozenset[str]:
    """Names for machines declared in contract.py and catalog.py (and sla.py's statuses): tables, columns, the
    values a column may take, KPI ids, dimensions and event times, every one that has an underscore."""
    names: set[str] = set(contract.TABLES)
    for t in contract.TABLES.values():
        names.update(t.column_names)
        for rule in t.rules:
            if isinstance(rule, contract.OneOf):
                names.update(rule.values)
    names.update(catalog.KPIS)
    for table, cols in (*catalog.DIMENSIONS.items(), *catalog.EVENT_TIMES.items()):
        names.add(table)
        names.update(cols)
    names.update(sla.STATUSES)
    return frozenset(n for n in names if "_" in n.strip("_"))


NAMES = machine_names()
NAME_RE = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(map(re.escape, NAMES), key=len, reverse=True))
                     + r")(?![A-Za-z0-9_])")
#: Python's None shown as a value; the English word ("None in this period.") is followed by more words.
NONE_RE = re.compile(r"(?<![A-Za-z0-9_])None(?![A-Za-z0-9_])(?! [a-z])")
#: Machine contexts inside running text, where a machine name is the right thing to show: addresses and file
#: names (a download's name, the pack's file). Code elements are left out when the text is collected.
MACHINE_TEXT = re.compile(r"\b(?:https?|file)://\S+|[\w.\-]+\.(?:csv|xlsx|html|pdf|json|jsonl|toml|duckdb|parquet)\b")

#: Material icons: ligatures whose names are drawn as pictures.
ICONS = '[data-testid="stIconMaterial"], [data-testid="stMetricIcon"], [translate="no"][aria-hidden="true"]'

#: The visible text of the page: every text node that is drawn (not inside code, pre, kbd or samp), with the
#: element it sits in; a table's cells come from the copy of the drawn rows the grid keeps inside its canvas.
VISIBLE_TEXT = """() => {
  const ICONS = '""" + ICONS + """';
  const out = [];
  const where = el => {
    const t = el.closest('[data-testid]');
    return (t ? t.getAttribute('data-testid') : '') + ' ' + el.tagName.toLowerCase();
  };
  const roots = [...document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebar"]')];
  for (const root of (roots.length ? roots : [document.body])) {
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const text = n.textContent.replace(/\\s+/g, ' ').trim();
      const el = n.parentElement;
      // Material icons are ligatures: their names are drawn as pictures, never read.
      if (!text || !el || el.closest('code, pre, kbd, samp, script, style, noscript, template, '
                                     + ICONS)) continue;
      if (el.closest('canvas')) { out.push([text, 'table cell']); continue; }
      if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
      out.push([text, where(el)]);
    }
  }
  return out;
}"""

#: A metric label's words (without its icon's name).
WORDS = """const words = el => { const c = el.cloneNode(true);
  c.querySelectorAll('""" + ICONS + """').forEach(i => i.remove());
  return c.textContent.replace(/\\s+/g, ' ').trim(); };"""

#: A title of a tile: a metric's label, or the title of one of the Overview's tiles (ui/widgets.py tile_html).
TITLE = '[data-testid="stMetricLabel"], .opsdash-tile-title'

#: Tile titles wider than their box: any element of a metric's label whose content is clipped.
CUT_TITLES = """() => {
  """ + WORDS + """
  const out = [];
  for (const label of document.querySelectorAll('""" + TITLE + """')) {
    for (const el of [label, ...label.querySelectorAll('*')]) {
      if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
        out.push(words(label) + ` (${el.scrollWidth}px of text in ${el.clientWidth}px)`);
        break;
      }
    }
  }
  return out;
}"""

#: Each tile's own text: the largest element holding its title and no other tile's.
TILES = """() => {
  """ + WORDS + """
  const TITLE = '""" + TITLE + """';
  const labels = [...document.querySelectorAll('[data-testid="stMain"] :is(' + TITLE + ')')];
  return labels.map(label => {
    let tile = label;
    while (tile.parentElement && tile.parentElement.querySelectorAll(TITLE).length === 1)
      tile = tile.parentElement;
    return [words(label), tile.innerText];
  });
}"""

#: Settled: Streamlit has finished the run and every element has drawn (lazily loaded plotly and table grids
#: are skeletons until then), held for half a second.
DRAWN = """() => new Promise(resolve => {
  const deadline = performance.now() + 90000;  // a page that never settles fails its tests, never hangs them
  let since = null;
  const ready = () => document.querySelector('[data-testid="stMain"] h1')
    && !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-testid="stSkeleton"]')
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => !c.checkVisibility() || c.querySelector('.main-svg'));
  const tick = () => {
    const now = performance.now();
    if (!ready()) since = null; else if (since === null) since = now;
    if (since !== null && now - since > 500) return resolve(true);
    if (now > deadline) return resolve(false);
    setTimeout(tick, 50);
  };
  tick();
})"""


def _settings() -> Any:
    from opsdash.settings import load

    return load(ROOT / "opsdash.toml") if (ROOT / "opsdash.toml").exists() else None


def missing_in_tables(frames: list[bytes | str]) -> list[list[str]]:
    """The grid draws a missing value as a grey "None" on its canvas but keeps it empty in its accessible
    copy, so the tables' data is read from the session's messages: per shown column with missing values, a
    text "None" (where: the table's columns and the column)."""
    import json

    import pyarrow as pa
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    out: list[list[str]] = []
    for frame in frames:
        if isinstance(frame, str):
            continue
        msg = ForwardMsg()
        msg.ParseFromString(frame)
        if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
            continue
        element = msg.delta.new_element
        if element.WhichOneof("type") != "dataframe" or not element.dataframe.arrow_data.data:
            continue
        df = element.dataframe
        table = pa.ipc.open_stream(df.arrow_data.data).read_all()
        config = json.loads(df.columns) if df.columns else {}
        order = list(df.column_order)
        names = [n for n in table.column_names if not re.fullmatch(r"__index_level_\d+__", n)
                 and not (config.get(n) or {}).get("hidden") and (not order or n in order)]
        for n in names:
            if table.column(n).null_count:
                label = (config.get(n) or {}).get("label") or n
                out.append(["None", f"table of {', '.join(names[:4])}...: {table.column(n).null_count} missing "
                                    f"in column {label!r}"])
    return out


def _hostile_db(db: Path) -> str:
    """test_browser_markup's store (every text value is markup and image links to a port nobody serves);
    returns its first vendor's name."""
    return hostile_store(db, free_port())["vendor"]


@pytest.fixture(scope="module")
def stores(sample_store, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """Per store: its file, a vendor and month for the review pack."""
    root = tmp_path_factory.mktemp("eye")
    sample = root / "sample.duckdb"
    shutil.copy(sample_store.path, sample)
    hostile = root / "hostile.duckdb"
    vendor = _hostile_db(hostile)
    return {"sample": {"db": sample, "vendor": "Helix Health Services", "period": _latest_complete_month(sample)},
            "hostile": {"db": hostile, "vendor": vendor, "period": "2026-03"}}


def _latest_complete_month(db: Path) -> str:
    with Store(db, read_only=True) as s:
        as_of = metrics.default_as_of(s, "claims")
    assert as_of is not None
    return _month_before_or_at(as_of.date()).strftime("%Y-%m")


def _month_before_or_at(day: dt.date) -> dt.date:
    """The first day of the latest month that ends on or before `day` (whole months only)."""
    nxt = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    if day == nxt - dt.timedelta(days=1):
        return day.replace(day=1)
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


class Visits:
    """One server and one browser per store; a page is visited once and what it showed is kept."""

    def __init__(self, stores: dict[str, dict[str, Any]], stack: Any) -> None:
        self.stores, self.stack, self.urls, self.seen = stores, stack, {}, {}
        self.browser = stack.enter_context(chromium())

    def page(self, store: str, name: str) -> dict[str, Any]:
        key = (store, name)
        if key not in self.seen:
            if store not in self.urls:
                self.urls[store] = self.stack.enter_context(served({"OPSDASH_DB": str(self.stores[store]["db"])}))
            url = self.urls[store]
            self.seen[key] = self._look(f"{url}/{PAGES[name]}", allowed=urlsplit(url).netloc)
        return self.seen[key]

    def pack(self, store: str, tmp: Path) -> dict[str, Any]:
        key = (store, "pack")
        if key not in self.seen:
            s = self.stores[store]
            out = tmp / f"pack-{store}"
            args = ["report", "--db", str(s["db"]), "--vendor", s["vendor"], "--period", s["period"],
                    "--format", "html", "--out", str(out)]
            if (ROOT / "opsdash.toml").exists():
                args += ["--settings", str(ROOT / "opsdash.toml")]
            r = CliRunner().invoke(cli, args)
            written = sorted(out.glob("*.html"))
            problem = None if r.exit_code == 0 and len(written) == 1 else f"exit {r.exit_code}: {r.exception!r}"
            if problem:  # the CLI's failure is its own test's; the pack's content is still looked at
                html = out / "pack.html"
                out.mkdir(parents=True, exist_ok=True)
                with Store(s["db"], read_only=True) as st:
                    html.write_bytes(report.render(report.build(st, s["vendor"], s["period"],
                                                                settings=_settings()), "html"))
            else:
                html = written[0]
            self.seen[key] = {**self._look(html.as_uri(), allowed=None), "cli": problem}
        return self.seen[key]

    def _look(self, url: str, allowed: str | None) -> dict[str, Any]:
        context = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        requests: list[str] = []
        frames: list[bytes] = []
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
        try:
            page.goto(url, timeout=90_000)
            if allowed is not None:
                page.wait_for_selector("[data-testid='stMain'] h1", timeout=90_000)
                for _ in range(2):  # the page, then what is further down, which draws when scrolled to
                    if not page.evaluate(DRAWN):
                        raise AssertionError(f"{url} did not settle within 90 s")
                    page.mouse.wheel(0, 20_000)
            else:
                page.wait_for_load_state("load")
                page.wait_for_timeout(1000)
            foreign = [r for r in requests
                       if not r.startswith(("data:", "blob:", "about:"))
                       and (urlsplit(r).netloc != allowed if allowed else not r.startswith("file:"))]
            return {"text": page.evaluate(VISIBLE_TEXT) + missing_in_tables(frames), "cut": page.evaluate(CUT_TITLES),
                    "tiles": page.evaluate(TILES), "foreign": foreign,
                    "exceptions": page.locator("[data-testid='stException']").count()}
        finally:
            context.close()


@pytest.fixture(scope="module")
def visits(stores):
    require_chromium()
    import contextlib

    with contextlib.ExitStack() as stack:
        yield Visits(stores, stack)


def _seen(visits: Visits, store: str, where: str, tmp_path_factory) -> dict[str, Any]:
    if where == "pack":
        return visits.pack(store, tmp_path_factory.mktemp("pack"))
    return visits.page(store, where)


WHERE = [*PAGES, "pack"]
CASES = [pytest.param(s, w, id=f"{s}-{w}") for s in STORES for w in WHERE]


def _examples(hits: list[tuple[str, str, str]], n: int = 8) -> str:
    return "; ".join(f"{found!r} in {text[:90]!r} ({where})" for found, text, where in hits[:n]) + (
        f"; and {len(hits) - n} more" if len(hits) > n else "")


@pytest.mark.parametrize(("store", "where"), CASES)
def test_no_none_in_what_a_person_reads(visits, store, where, tmp_path_factory):
    seen = _seen(visits, store, where, tmp_path_factory)
    assert seen["exceptions"] == 0
    assert seen["text"], "no visible text recorded"
    hits = [("None", text, w) for text, w in seen["text"] if NONE_RE.search(MACHINE_TEXT.sub(" ", text))]
    assert not hits, _examples(hits)


@pytest.mark.parametrize(("store", "where"), CASES)
def test_no_machine_name_in_what_a_person_reads(visits, store, where, tmp_path_factory):
    """Contract and catalogue names (claim_id, below_minimum, clean_claim_rate...) only in machine contexts:
    code elements, addresses and file names."""
    seen = _seen(visits, store, where, tmp_path_factory)
    hits = [(m.group(1), text, w) for text, w in seen["text"]
            for m in [NAME_RE.search(MACHINE_TEXT.sub(" ", text))] if m]
    assert not hits, _examples(hits)


@pytest.mark.parametrize("store", STORES)
def test_the_pack_is_written_by_the_cli(visits, store, tmp_path_factory):
    """`opsdash report --format html` writes the vendor's pack (whatever the vendor's name)."""
    assert visits.pack(store, tmp_path_factory.mktemp("pack"))["cli"] is None


@pytest.mark.parametrize(("store", "where"), [pytest.param(s, w, id=f"{s}-{w}") for s in STORES for w in PAGES])
def test_no_tile_title_is_cut_off(visits, store, where, tmp_path_factory):
    seen = _seen(visits, store, where, tmp_path_factory)
    assert seen["cut"] == [], seen["cut"]


@pytest.mark.parametrize(("store", "where"), CASES)
def test_no_request_leaves_the_server(visits, store, where, tmp_path_factory):
    """A hospital network without internet: every request goes to the dashboard's own server (the pack, a
    file, asks for nothing at all)."""
    seen = _seen(visits, store, where, tmp_path_factory)
    assert seen["foreign"] == [], seen["foreign"]


def engine_statuses(db: Path) -> dict[str, str]:
    """Per headline KPI with a value in a whole month of its data: "On target", "Off target" or "No target"
    for the latest such month (the one its tile shows: the latest complete month with a value, at the KPI's
    own as-of), compared here from the engine's value and the target in force at that month's end (all
    vendors: views.target_for gives the catalogue's default)."""
    out: dict[str, str] = {}
    with Store(db, read_only=True) as s:
        for kpi_id in views.HEADLINE:
            kpi = catalog.KPIS[kpi_id]
            as_of = metrics.default_as_of(s, kpi.table)
            if as_of is None:
                continue
            month = _month_before_or_at(as_of.date())
            df = metrics.series(s, kpi_id, grain="month")
            when = pd.to_datetime(df["period_start"]).dt.date
            rows = df[(when <= month) & df["value"].notna()]
            if rows.empty:
                continue  # a KPI without data for the selection has no tile
            last = rows.iloc[-1]
            value = float(last["value"])
            start = pd.Timestamp(last["period_start"]).date()
            end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            target, _source = views.target_for(s, kpi_id, views.Filters(end=end))
            if target is None or kpi.direction not in ("higher", "lower"):
                out[kpi.label] = "No target"
            else:
                met = value >= target if kpi.direction == "higher" else value <= target
                out[kpi.label] = "On target" if met else "Off target"
    return out


@pytest.mark.parametrize("store", STORES)
def test_the_overviews_statuses_are_the_engines(visits, stores, store):
    """Each tile shows exactly one of On target / Off target / No target, the engine's comparison of the
    latest complete month with the target in force; tiles without data are left out."""
    seen = visits.page(store, "overview")
    shown: dict[str, list[str]] = {}
    for label, text in seen["tiles"]:
        shown[label] = [w for w in STATUS_WORDS if re.search(rf"\b{w}\b", text, flags=re.IGNORECASE)]
    want = engine_statuses(stores[store]["db"])
    expected = {label: [w] for label, w in want.items()}
    assert shown == expected, f"shown {shown}, expected {expected}"
