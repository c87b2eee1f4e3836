"""The review pack: the same numbers as the engine in every format, a PDF that renders, clear errors, files
replaced atomically."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from opsdash import catalog, metrics, report, sla
from opsdash.cli import main
from opsdash.settings import load
from tests.conftest import ROOT

VENDOR, PERIOD = "Helix Health Services", "2026-10"


@pytest.fixture(scope="module")
def pack(sample_store):
    return report.build(sample_store, VENDOR, PERIOD, settings=load(ROOT / "opsdash.toml"))


def engine_month(store, kpi_id, **where):
    s = metrics.series(store, kpi_id, grain="month", where={"vendor": [VENDOR], **where})
    return float(s.set_index("period_start").loc[pd.Timestamp("2026-10-01").date(), "value"])


class Tables(HTMLParser):
    """Cell texts of every table, by the id of its section."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.section = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.section = dict(attrs).get("id")
            self.tables[self.section] = []
        elif tag == "tr" and self.section:
            self.tables[self.section].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.section:
            self.tables[self.section][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def frame(rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_html_numbers_are_the_engines(pack, sample_store):
    text = report.render(pack, "html").decode()
    p = Tables()
    p.feed(text)
    head = frame(p.tables["headline"]).set_index("KPI")
    for kpi_id in ("clean_claim_rate", "initial_denial_rate", "accuracy_rate"):
        kpi = catalog.KPIS[kpi_id]
        assert head.loc[kpi.label, "value"] == catalog.format_value(kpi, engine_month(sample_store, kpi_id)), kpi_id
    card = sla.scorecard(sample_store, VENDOR, PERIOD, settings=load(ROOT / "opsdash.toml"))
    levels = frame(p.tables["scorecard"])
    assert list(levels["status"]) == list(card.levels["status"])
    want = [catalog.format_value(catalog.KPIS[k], v) for k, v in zip(card.levels["kpi"], card.levels["value"])]
    assert list(levels["value"]) == want
    assert "plotly" in text and "<script src=" not in text  # self-contained: opens offline
    assert {"cover", "scorecard", "headline", "signals", "errors", "denials", "breaches", "reconciliation",
            "actions", "definitions", "settings"} <= set(p.tables) | {"cover"}
    assert VENDOR in text and "2026-10" in text


def test_xlsx_numbers_units_and_formats(pack, sample_store):
    wb = openpyxl.load_workbook(io.BytesIO(report.render(pack, "xlsx")))
    assert wb.sheetnames[:3] == ["cover", "scorecard", "headline"]
    ws = wb["headline"]
    header = [c.value for c in ws[1]]
    rows = {r[header.index("kpi")].value: r for r in ws.iter_rows(min_row=2)}
    cell = rows["clean_claim_rate"][header.index("value")]
    assert cell.value == pytest.approx(engine_month(sample_store, "clean_claim_rate"), rel=1e-12)
    assert cell.number_format == "0.0%"
    assert ws.freeze_panes == "A2"
    sc = wb["scorecard"]
    header = [c.value for c in sc[1]]
    assert "value (KPI's unit)" in header and "credit (USD)" in header
    days = [r for r in sc.iter_rows(min_row=2) if r[0].value == catalog.KPIS["claim_turnaround_days"].label]
    for r in days:
        assert r[header.index("value (KPI's unit)")].number_format == '0.0 "days"'


def test_breaches_are_late_items_of_the_period(pack, sample_store):
    b = pack.tables["breaches"].frame
    w = sample_store.query("SELECT * FROM work_items WHERE vendor = ?", [VENDOR])
    due = w["due_at"].dt.date
    as_of = metrics.default_as_of(sample_store, "work_items")
    late = w[(due >= pd.Timestamp("2026-10-01").date()) & (due <= pd.Timestamp("2026-10-31").date()) &
             ((w["completed_at"] > w["due_at"]) | (w["completed_at"].isna() & (w["due_at"] <= as_of)))]
    assert len(b) == min(20, len(late)) and set(b["item_id"]) <= set(late["item_id"])
    assert b["due_at"].is_monotonic_decreasing


def test_pdf_renders_with_the_numbers(pack, sample_store, tmp_path):
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext") and report.pdf.CHROMIUM.exists()):
        message = "needs Debian's chromium and poppler-utils (make test installs them when run as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    pdf = tmp_path / "pack.pdf"
    pdf.write_bytes(report.render(pack, "pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    kpi = catalog.KPIS["clean_claim_rate"]
    assert VENDOR in text and "page 1 of" in text
    assert catalog.format_value(kpi, engine_month(sample_store, "clean_claim_rate")) in text
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True)
    from PIL import Image

    img = Image.open(next(tmp_path.glob("p*.png"))).convert("L")
    assert img.width > img.height  # landscape
    dark = sum(img.histogram()[:200])
    assert dark > 0.01 * img.width * img.height  # not blank


def test_a_vendor_without_data_in_the_period_is_a_clear_error(sample_store, tmp_path):
    with pytest.raises(report.NoDataError, match="no data for Helix Health Services in 2023-01"):
        report.build(sample_store, VENDOR, "2023-01")
    with pytest.raises(report.ReportError, match="unknown vendor"):
        report.build(sample_store, "Nobody", PERIOD)
    r = CliRunner().invoke(main, ["report", "--db", str(sample_store.path), "--vendor", VENDOR, "--period", "2023-01",
                                  "--out", str(tmp_path), "--format", "html"])
    assert r.exit_code == 1 and "no data for Helix Health Services in 2023-01" in r.output
    assert not list(tmp_path.iterdir())


def test_cli_writes_stable_names_atomically(sample_store, tmp_path):
    args = ["report", "--db", str(sample_store.path), "--all-vendors", "--period", "2026-W43", "--out", str(tmp_path),
            "--format", "html", "--format", "xlsx"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "opsdash-review_Iberica-Salud-Contact-Services_2026-W43.html" in names and len(names) == 8
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and sorted(p.name for p in tmp_path.iterdir()) == names  # replaced, no temp files
    bad = CliRunner().invoke(main, ["report", "--db", str(sample_store.path), "--period", "2026-10"])
    assert bad.exit_code == 2 and "--vendor" in bad.output


def test_no_patient_identifier_column_in_the_pack(pack):
    text = report.render(pack, "html").decode().lower()
    for word in ("patient_name", "date_of_birth", "ssn", "mrn", "member_id"):
        assert f">{word}<" not in text
