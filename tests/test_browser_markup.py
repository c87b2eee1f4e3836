"""Text from data is text in a real browser (issue 11, item 10): Markdown, HTML and image payloads in every text
column of every table (and in load, reject and audit records) create no element and make no request, on every
page and through links that select those values. A loopback HTTP server counts any fetch of the payloads' URLs;
Playwright's request events see every request the page makes."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from pathlib import Path
from urllib.parse import quote

import pytest

from opsdash import contract
from opsdash.dashboard import SECTIONS
from opsdash.store import Store
from tests.browser import chromium, free_port, require_chromium, served, settled

MARKERS = ("zqI", "zqL", "zqB", "zqP", "zqS", "zqD", "zqC", "zqM", "zqR", "zqH", "zqE")


def payload(port: int, who: str) -> str:
    """One value carrying every construct Streamlit's Markdown or plotly's HTML subset would render."""
    base = f"http://127.0.0.1:{port}"
    return (f"{who} Evil ![zqI]({base}/img.png) [zqL]({base}/link) <img src=\"{base}/html.png\"> <b>zqB</b> "
            f"<a href=\"{base}/a\">zqP</a> **zqS** ~~zqD~~ `zqC` $zqM$ :red[zqR] :material/pets: {base}/auto "
            f"www.zqw.example zqE@example.org <script>window.__pwned=1</script> <i>zqH</i> Vendor")


class Hits(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Hits.seen.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _store(db, port: int) -> dict[str, str]:
    """Rows for two vendors whose every text value is a payload; returns the values links select."""
    a, b = payload(port, "A"), payload(port, "B")
    values = {"vendor": a, "payer": a, "process": a, "queue": a}
    with Store(db) as s, s.transaction() as tx:
        tx.execute("INSERT INTO loads (load_id, file_name, table_name, mapping_name, rows_read, rows_loaded, "
                   "rows_rejected, loaded_by, sha256, started_at, finished_at) "
                   "VALUES (1, ?, 'claims', ?, 1, 1, 1, ?, ?, now(), now())", [a, a, a, a])
        tx.execute("INSERT INTO rejects VALUES (1, ?, 2, ?, 'row', ?, ?)", [a, a, a, a])
        tx.execute("INSERT INTO audit (event_id, event_at, user_name, role, action, page, what, filters) "
                   "VALUES ('e1', now(), ?, 'admin', 'download', ?, ?, ?)", [a, a, a, a])
        for v in (a, b):
            for i in range(90):
                d = dt.date(2026, 1, 5) + dt.timedelta(days=2 * i)
                t = dt.datetime.combine(d, dt.time(9, 0))
                outcome = ("paid", "denied", "partially_paid")[i % 3]
                tx.execute("INSERT INTO claims (claim_id, vendor, facility, payer, claim_type, service_date, "
                           "received_date, submitted_date, clean_submission, adjudicated_date, initial_outcome, "
                           "denial_reason, billed_amount, paid_amount, procedure_group, vendor_risk_score, "
                           "vendor_risk_model, _load_id, _line) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 100, 80, ?, 0.3, ?, 1, ?)",
                           [f"C{i}", v, v, v, v, d, d, d + dt.timedelta(days=1 + i % 4), i % 2 == 0,
                            d + dt.timedelta(days=15), outcome, v if outcome == "denied" else None, v, v, i])
                tx.execute("INSERT INTO qa_audits (audit_id, vendor, process, audit_date, facility, opportunities, "
                           "errors, critical_errors, error_category, _load_id, _line) VALUES (?, ?, ?, ?, ?, 10, ?, 0, ?, 1, ?)",
                           [f"Q{i}", v, v, d, v, i % 3, v if i % 3 else None, i])
                tx.execute("INSERT INTO work_items (item_id, vendor, process, priority, facility, opened_at, due_at, "
                           "completed_at, _load_id, _line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                           [f"W{i}", v, v, v, v, t, t + dt.timedelta(days=1), t + dt.timedelta(hours=12 * (i % 4)), i])
                answered = i % 4 != 0
                tx.execute("INSERT INTO calls (call_id, vendor, queue, offered_at, answered_at, abandoned_at, "
                           "handle_seconds, first_contact_resolved, _load_id, _line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                           [f"K{i}", v, v, t, t + dt.timedelta(seconds=20 + i) if answered else None,
                            None if answered else t + dt.timedelta(seconds=40), 200 if answered else None,
                            answered, i])
            for kpi, process, priority in (("clean_claim_rate", None, None), ("sla_adherence", v, v),
                                           ("accuracy_rate", v, None), (v, None, None)):
                tx.execute("INSERT INTO sla_targets (vendor, kpi, process, priority, target, minimum, level, credit_pct, "
                           "effective_from, _load_id, _line) VALUES (?, ?, ?, ?, 0.99, 0.98, 'critical', 0.05, "
                           "DATE '2026-01-01', 1, 1)", [v, kpi, process, priority])
            for kpi, process in (("clean_claim_rate", None), ("accuracy_rate", v), (v, None)):
                tx.execute("INSERT INTO reported_kpis (vendor, kpi, process, period_start, period_end, value, _load_id, "
                           "_line) VALUES (?, ?, ?, DATE '2026-03-01', DATE '2026-03-31', 0.5, 1, 1)", [v, kpi, process])
            for day, kpi, process, change in (("2026-02-02", None, v, True), ("2026-03-02", v, None, False),
                                              ("2026-02-16", None, None, True)):
                tx.execute("INSERT INTO events (vendor, event_date, kpi, process, description, is_process_change, "
                           "source, _load_id, _line) VALUES (?, CAST(? AS DATE), ?, ?, ?, ?, ?, 1, 1)",
                           [v, day, kpi, process, v, change, v])
        # A row outside the reported dates: the notice names its load's (payload) file name.
        tx.execute("INSERT INTO claims (claim_id, vendor, received_date, _load_id, _line) "
                   "VALUES ('Y9', ?, DATE '10000-01-01', 1, 99)", [a])
        tx.execute("DELETE FROM meta WHERE key = 'rollups'")
    Store(db).close()  # rebuilds the roll-ups from the rows
    covered = {c.name for t in contract.TABLES.values() for c in t.columns if str(c.type) == "text"}
    assert covered <= {"claim_id", "audit_id", "item_id", "call_id", "vendor", "facility", "payer", "claim_type",
                       "initial_outcome", "denial_reason", "procedure_group", "vendor_risk_model", "process",
                       "priority", "error_category", "queue", "kpi", "level", "description", "source"}, covered  # every free-text column above holds the payload
    return values


FIND_CREATED = """(markers) => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = (el.textContent || '').trim();
    if (markers.includes(own)) out.push(el.tagName + ':' + own);
    for (const attr of ['src', 'href', 'alt', 'xlink:href']) {
      const v = el.getAttribute(attr) || '';
      if (v.includes('127.0.0.1:PORT') || markers.some(m => v.includes(m))) out.push(el.tagName + '@' + attr + '=' + v);
    }
  }
  for (const el of document.querySelectorAll('[data-testid="stIconMaterial"]'))
    if ((el.textContent || '').trim() === 'pets') out.push('icon:pets');
  if (window.__pwned) out.push('script ran');
  return out;
}"""


def test_markup_in_every_text_column_is_text_on_every_page(tmp_path):
    require_chromium()
    Hits.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Hits)
    port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        db = tmp_path / "markup.duckdb"
        values = _store(db, port)
        q = {k: quote(v) for k, v in values.items()}
        paths = ["", "claims", "quality", "sla", "contact_centre", "scorecard", "data", "loads", "upload", "audit",
                 "events",
                 f"?vendor={q['vendor']}", f"claims?payer={q['payer']}&vendor={q['vendor']}",
                 f"quality?process={q['process']}", f"contact_centre?queue={q['queue']}",
                 f"scorecard?sc_vendor={q['vendor']}&month_of=2026-03", f"sla?vendor={q['vendor']}",
                 f"contact_centre?answer_s={q['vendor']}", f"claims?payer=nobody&vendor={q['vendor']}",
                 f"sla?sla_vendor={q['vendor']}", f"sla?sla_view={q['vendor']}",
                 *(f"{Path(file).stem}?{key}={quote(name)}&vendor={q['vendor']}"
                   for file, (key, names) in SECTIONS.items() for name in names[1:])]
        requests: list[str] = []
        with served({"OPSDASH_DB": str(db)}) as url, chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.on("request", lambda r: requests.append(r.url))
            for path in paths:
                page.goto(f"{url}/{path}")
                page.wait_for_selector("[data-testid='stMain'] h1", timeout=60_000)
                settled(page)
                page.mouse.wheel(0, 4000)  # charts further down draw too
                settled(page)
                created = page.evaluate(FIND_CREATED.replace("PORT", str(port)), list(MARKERS))
                assert created == [], (path, created)
                assert page.locator("[data-testid='stException']").count() == 0, path
                main = page.locator("[data-testid='stMain']").inner_text().replace("\u2060", "")
                if path.startswith("scorecard?"):  # the vendor's name is in the heading, exactly as text
                    assert f"{values['vendor']}, Mar 2026" in main
                if path == "":
                    assert "left out of every figure" in main and "<b>zqB</b>" in main
        assert [r for r in requests if f":{port}" in r] == []
        assert Hits.seen == []
    finally:
        httpd.shutdown()


@pytest.mark.parametrize("text", ["![v](http://127.0.0.1:1/x.png)", "<b>x</b>", ":material/home: :red[x] $x$",
                                  "**a** _b_ `c` ~d~ # e > f | g - h + i 1. j", "a\nb\r\n# c", "\\*",
                                  "http://x.org www.x.org a@b.org mailto:a@b.org"])
def test_the_escaping_helper_renders_exactly_the_text(text):
    """Streamlit's own Markdown renderer is in the browser; here: every punctuation character is escaped, so
    CommonMark reads it as itself, and line breaks (which would start blocks) are spaces."""
    import re
    import string

    from opsdash.ui.text import JOINER, md

    out = md(text)
    unescaped = re.sub(r"\\(.)", r"\1", out).replace(JOINER, "")
    assert unescaped == re.sub(r"[\r\n]+", " ", text)
    assert not re.search("[" + re.escape(string.punctuation) + "]", re.sub(r"\\.", "", out))  # all escaped
    for link_start in ("://", "\\:\\/\\/", "www.", "www\\.", "a\\@"):  # GFM's autolinks cannot start
        assert link_start not in out


def test_pages_pass_data_text_through_the_helper(monkeypatch, tmp_path):
    """AppTest: the scorecard's heading, its messages and the 'no data' messages hold the escaped text."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from opsdash.ui.text import md
    from tests.conftest import ROOT

    db = tmp_path / "m.duckdb"
    values = _store(db, 9)
    st.cache_data.clear()
    monkeypatch.setenv("OPSDASH_DB", str(db))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["sc_vendor"] = values["vendor"]
    at.query_params["month_of"] = "2026-03"
    at.run()
    at.switch_page("pages/scorecard.py")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    heads = [h.value for h in at.subheader]
    assert f"{md(values['vendor'])}, Mar 2026" in heads
    texts = [x.value for x in [*at.info, *at.success, *at.warning, *at.caption, *at.subheader]]
    for t in texts:  # no raw construct from the data survives anywhere
        assert "](" not in t and "<b>" not in t and ":material/pets:" not in t, t
    at.query_params["payer"] = "nobody"
    at.switch_page("pages/claims.py")
    at.run()
    assert not at.exception
