"""End to end in a real browser: Playwright drives Debian's chromium against `streamlit run` on localhost.

Journeys: open every page (no exception box; a screenshot each under test-artifacts/browser/), narrow the
vendor filter, open the resulting link in a fresh browser and find the same view, download a CSV and read it.
In CI (``CI`` set) a missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from opsdash import audit, catalog, downloads, metrics
from opsdash.ingest.loader import load_file
from opsdash.store import Store, StoreError
from opsdash.views import HEADLINE
from tests.browser import chromium, require_chromium, served, settled
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "browser"
PAGES = {"overview": "", "claims": "claims", "quality": "quality", "sla": "sla", "contact_centre": "contact_centre",
         "scorecard": "scorecard", "data": "data", "loads": "loads", "upload": "upload"}
VENDOR = "Helix Health Services"


@pytest.fixture(scope="module")
def server_db(sample_store, tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "sample.duckdb"
    shutil.copy(sample_store.path, db)
    return db


@pytest.fixture(scope="module")
def server(server_db):
    require_chromium()
    with served({"OPSDASH_DB": str(server_db)}) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as b:
        yield b


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
    settled(page)


def _tiles(page) -> dict[str, str]:
    """Overview tiles: title -> value (without its target), once the grid is drawn."""
    page.wait_for_selector(".opsdash-tile .opsdash-tile-value", timeout=60_000)
    titles = page.locator(".opsdash-tile .opsdash-tile-title").all_inner_texts()
    values = page.locator(".opsdash-tile .opsdash-tile-value").evaluate_all(
        "els => els.map(e => e.firstChild ? e.firstChild.textContent : '')")
    return {t.strip(): v.strip() for t, v in zip(titles, values)}


def _settled_tiles(page, done, timeout_s: float = 90.0) -> dict[str, str]:
    """The tiles once `done(tiles)` holds and no rerun runs (or, after `timeout_s`, as they are, for the
    assertion to show)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        tiles = _tiles(page)
        running = page.locator("[data-testid='stStatusWidget']").count()
        if (done(tiles) and not running) or time.monotonic() > deadline:
            return tiles
        page.wait_for_timeout(250)


def test_every_tile_draws_its_status_shape_spc_icons_and_sparkline(server, browser):
    """The tiles' drawings are SVG: a renderer that sanitises them away (st.html's HTML-only profile did) leaves
    the status without its shape and the SPC reading without its icons."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _open(page, server)
    page.wait_for_selector(".opsdash-tile .opsdash-tile-value", timeout=60_000)
    drawn = page.locator(".opsdash-tile").evaluate_all("""tiles => tiles.map(t => ({
        shape: t.querySelectorAll('.opsdash-tile-status svg').length,
        icons: [...t.querySelectorAll('.opsdash-tile-spc-icon svg')].filter(s => s.getBoundingClientRect().width > 0).length,
        titles: [...t.querySelectorAll('.opsdash-tile-spc-icon svg title')].map(x => x.textContent),
        svgs: t.querySelectorAll('svg').length}))""")
    assert len(drawn) >= 6
    for d in drawn:
        assert d["shape"] == 1 and d["icons"] >= 1 and d["titles"], d
    assert any(d["svgs"] >= 4 for d in drawn), drawn  # shape, two icons and a sparkline where there is a series
    page.close()


def test_a_link_to_a_page_opened_first_on_a_fresh_server_shows_the_whole_app(server, browser):
    """The first request this server gets: a link straight to a page, with a filter."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _open(page, f"{server}/claims?vendor={VENDOR.replace(' ', '+')}&payer=Medicare")
    sidebar = page.locator("[data-testid='stSidebar']")
    for label in ("Grain", "Facilities", "Payer"):
        sidebar.get_by_text(label, exact=True).first.wait_for(timeout=60_000)
    labels = page.locator("[data-testid='stSidebar'] [data-testid='stWidgetLabel']").all_inner_texts()
    assert {"Date range", "Grain", "Vendors", "Facilities", "Payer"} <= {x.strip() for x in labels}, labels
    nav = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert "Vendor scorecard" in nav and "app" not in nav.split()  # app.py's sections, not the folder's files
    assert VENDOR in page.locator("[data-testid='stMultiSelect']").filter(has_text="Vendors").inner_text()
    page.close()


def test_every_page_opens_without_an_exception(server, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    for name, path in PAGES.items():
        _open(page, f"{server}/{path}")
        assert page.locator("[data-testid='stException']").count() == 0, name
        assert page.locator("[data-testid='stMain'] h1").first.inner_text().strip(), name
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000
    page.close()


def test_no_request_leaves_the_server_on_any_page(server, browser):
    """A hospital network without internet: every request of a page load (documents, scripts, fonts, the page
    icon, websockets) goes to the dashboard's own host. The Material page icon used to come from
    fonts.gstatic.com."""
    from urllib.parse import urlsplit

    own = urlsplit(server).netloc
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url))
    context.on("websocket", lambda ws: seen.append(ws.url))
    page = context.new_page()
    for path in PAGES.values():
        _open(page, f"{server}/{path}")
        page.wait_for_timeout(1000)  # the page icon and fonts load after the first paint
    icons = page.evaluate("() => [...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)")
    context.close()
    remote = [u for u in seen if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).netloc != own]
    assert len(seen) > len(PAGES) and not remote, remote
    assert icons and all(urlsplit(i).scheme == "data" or urlsplit(i).netloc == own for i in icons), icons


def test_the_grain_fits_one_line_and_enter_applies_a_typed_date_range(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _open(page, server)
    start = page.locator("[aria-label='year, Date range start date']")
    start.wait_for(timeout=60_000)
    # The grain control is one line high: its inputs and buttons (not the label's help) span no more height than
    # the date range's field, which never wraps (the four segments it was made of took two rows).
    spans = page.evaluate("""() => {
        const span = (sel) => { const r = [...document.querySelectorAll(sel)].map(e => e.getBoundingClientRect())
                                            .filter(b => b.height > 0);
                                return Math.max(...r.map(b => b.bottom)) - Math.min(...r.map(b => b.top)); };
        return [span('.st-key-grain input, .st-key-grain button:not([aria-label^="Help"])'),
                span('.st-key-dates [data-testid="stDateInputField"]')]; }""")
    assert spans[0] <= spans[1] + 2, spans
    page.locator("[data-testid='stSidebar']").screenshot(path=str(ARTIFACTS / "sidebar.png"))
    # Typing a range and pressing Enter applies it (Streamlit alone applies it only on leaving the field).
    start.click()
    page.keyboard.type("20260105")
    page.locator("[aria-label='year, Date range end date']").click()
    page.keyboard.type("20260329")
    page.wait_for_timeout(1000)
    assert "dates=" not in page.url  # not applied while typing
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "dates=2026-01-05&dates=2026-03-29" in u, timeout=30_000)
    page.close()


def test_pages_follow_a_dark_preference(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, color_scheme="dark")
    for name in ("overview", "sla"):
        _open(page, f"{server}/{PAGES[name]}")
        assert page.locator("[data-testid='stException']").count() == 0
        background = page.evaluate("() => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor")
        rgb = [int(x) for x in background[background.index("(") + 1:background.index(")")].split(",")[:3]]
        assert sum(rgb) < 200, background  # a dark background, not the light theme forced
        page.screenshot(path=str(ARTIFACTS / f"{name}_dark.png"), full_page=True)
    page.close()


def test_vendor_filter_becomes_a_link_that_reopens_the_same_view(server, browser, sample_store):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _open(page, server)
    before = _tiles(page)
    box = page.locator("[data-testid='stMultiSelect']").filter(has_text="Vendors")
    box.locator("input").click()
    page.get_by_role("option", name=VENDOR).click()
    page.keyboard.press("Escape")
    page.wait_for_url(lambda u: "vendor=" in u, timeout=30_000)
    clean = catalog.KPIS["clean_claim_rate"]
    want = metrics.series(sample_store, "clean_claim_rate", where={"vendor": [VENDOR]},
                          end=dt.date(2026, 10, 31)).dropna(subset=["value"])  # the latest complete month
    expected = catalog.format_value(clean, float(want["value"].iloc[-1]))
    # The rerun the filter starts may begin after the address changes (a busy machine): wait for its outcome,
    # not for a sign of it, so a slow rerun is never read half-way.
    after = _settled_tiles(page, lambda t: t.get(clean.label) == expected)
    assert after[clean.label] == expected
    assert after != before
    shared = page.url
    page.close()

    fresh = browser.new_context().new_page()  # nothing shared with the first page but the link
    fresh.set_viewport_size({"width": 1400, "height": 1000})
    _open(fresh, shared)
    assert _tiles(fresh) == after
    assert VENDOR in fresh.locator("[data-testid='stMultiSelect']").filter(has_text="Vendors").inner_text()
    fresh.screenshot(path=str(ARTIFACTS / "overview_shared_link.png"), full_page=True)
    fresh.get_by_role("button", name="Reset filters").click()
    fresh.wait_for_url(lambda u: "vendor=" not in u, timeout=30_000)
    assert _settled_tiles(fresh, lambda t: t == before) == before  # every filter back to its default
    fresh.context.close()


def test_download_a_csv_of_the_table_shown(server, server_db, browser, sample_store):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_viewport_size({"width": 1400, "height": 1000})
    _open(page, f"{server}/loads")

    def button(key: str):
        """The CSV button of one table, found by its widget key: the page has one per table (loads, rejects and,
        when rows lie outside the reported dates, those), so "the first one" depends on which are drawn yet."""
        found = page.locator(f".st-key-{key}_csv").get_by_role("button", name="Download CSV")
        found.wait_for(state="visible", timeout=60_000)
        page.wait_for_function("b => !b.disabled", arg=found.element_handle(), timeout=60_000)
        return found

    settled(page)  # the run that drew the buttons has ended: no button is replaced under the click
    with page.expect_download(timeout=120_000) as info:
        button("ld_loads").click()
    download = info.value
    assert download.suggested_filename == "loads.csv"
    target = ARTIFACTS / "loads.csv"
    download.save_as(str(target))
    data = target.read_bytes()
    assert data.decode("utf-8-sig").startswith('"# Loads')
    got = downloads.read_csv(data)
    assert len(got) == len(sample_store.reports)
    assert set(got["File"]) == {r.file for r in sample_store.reports}
    settled(page)
    with page.expect_download(timeout=120_000) as info:  # the other table's button gives the other table
        button("ld_rejects").click()
    assert info.value.suggested_filename == "rejects.csv"
    rejects = downloads.read_csv(Path(info.value.path()).read_bytes())
    assert len(rejects) == sum(r.rows_rejected for r in sample_store.reports) > 0
    context.close()
    # The download is in the audit trail: who, page, file, rows (kept beside the store or already in it).
    deadline = time.time() + 30
    while time.time() < deadline:
        spool = audit.spool_path(server_db)
        events = [json.loads(x) for x in spool.read_text().splitlines()] if spool.exists() else []
        try:
            with Store(server_db, read_only=True) as s:
                stored = audit.trail(s).rename(columns={"User": "user_name", "Action": "action", "Page": "page",
                                                        "What": "what", "Rows": "row_count"}).to_dict("records")
        except StoreError:
            stored = []  # the app holds the file this instant
        found = [e for e in events + stored if e["action"] == "download" and e["what"] == "loads.csv"]
        if found:
            break
        time.sleep(0.5)
    assert found and found[0]["user_name"] == "local user" and found[0]["page"] == "Loads and rejects"
    assert found[0]["row_count"] == len(sample_store.reports)


HOSTILE = ("<script>window.__pwned = 1</script>", "<img src=x onerror=\"window.__pwned = 1\">",
           "[click](javascript:window.__pwned=1)")


def test_script_in_the_data_is_shown_as_text_never_run(browser, tmp_path):
    """Vendor, payer and facility names carrying script are text on every page, in tables, charts and captions."""
    from tests.helpers import csv_text, row

    db = tmp_path / "hostile.duckdb"
    rows = [row("claims", claim_id=f"X{i}", vendor=HOSTILE[i % 3], payer=HOSTILE[(i + 1) % 3],
                facility=HOSTILE[(i + 2) % 3]) for i in range(30)]
    (tmp_path / "claims.csv").write_text(csv_text(rows), encoding="utf-8")
    with Store(db) as s:
        assert load_file(s, tmp_path / "claims.csv").rows_loaded == 30
    with served({"OPSDASH_DB": str(db)}) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path in ("", "claims", "sla", "scorecard", f"scorecard?sc_vendor={quote(HOSTILE[0])}", "data",
                     f"?vendor={quote(HOSTILE[1])}"):
            _open(page, f"{url}/{path}")
            assert page.evaluate("() => window.__pwned") is None, path
            assert page.locator("[data-testid='stException']").count() == 0, path
            if path.startswith("scorecard?"):  # the vendor's name is in the heading, as text
                assert f"{HOSTILE[0]}, Jan 2026" in page.locator("[data-testid='stMain']").inner_text()
        _open(page, f"{url}/data")
        assert page.evaluate("() => window.__pwned") is None
        page.close()


def test_the_scorecard_period_reads_in_words_and_a_picked_period_is_a_link_with_its_code(server, browser):
    """The period picker shows "Oct 2026", and picking "Sep 2026" puts month_of=2026-09 (not the words) in the
    address the browser shows, which opens September again in a fresh page."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _open(page, f"{server}/scorecard?sc_vendor={VENDOR.replace(' ', '+')}&month_of=2026-10")
    box = page.locator(".st-key-month_of input")  # the box shows its pick as the input's value
    assert box.input_value() == "Oct 2026"
    box.click()
    shown = page.get_by_role("option").all_inner_texts()
    assert "Oct 2026" in shown and not [o for o in shown if "-" in o], shown
    page.get_by_role("option", name="Sep 2026", exact=True).click()
    page.wait_for_url(lambda u: "month_of=2026-09" in u, timeout=30_000)
    settled(page)
    assert "Sep+2026" not in page.url and "Sep%202026" not in page.url
    link = page.url
    page.close()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _open(page, link)
    assert page.locator(".st-key-month_of input").input_value() == "Sep 2026"
    page.get_by_role("heading", name=f"{VENDOR}, Sep 2026").wait_for(timeout=60_000)
    page.close()


def test_the_scorecard_makes_the_review_pack_to_download(server, browser, sample_store):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_viewport_size({"width": 1400, "height": 1000})
    _open(page, f"{server}/scorecard?sc_vendor={VENDOR.replace(' ', '+')}&month_of=2026-10")
    page.get_by_role("button", name="Make the review pack").click()
    pdf_button = page.get_by_role("button", name="Review pack (PDF)")
    pdf_button.wait_for(timeout=120_000)
    got = {}
    for label, ext in (("Review pack (PDF)", "pdf"), ("Review pack (Excel)", "xlsx")):
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name=label).click()
        target = ARTIFACTS / info.value.suggested_filename
        info.value.save_as(str(target))
        got[ext] = target
    assert got["pdf"].name == "opsdash-review_Helix-Health-Services_2026-10.pdf"
    assert got["pdf"].read_bytes().startswith(b"%PDF")
    import openpyxl

    wb = openpyxl.load_workbook(got["xlsx"])
    header = [c.value for c in wb["Headline KPIs"][1]]
    rows = {r[header.index("KPI")].value: r[header.index("Value (in the KPI's unit)")].value
            for r in wb["Headline KPIs"].iter_rows(min_row=2)}
    want = metrics.series(sample_store, "clean_claim_rate", where={"vendor": [VENDOR]}).set_index("period_start")
    assert rows[catalog.KPIS["clean_claim_rate"].label] == float(want.loc[dt.date(2026, 10, 1), "value"])
    context.close()
