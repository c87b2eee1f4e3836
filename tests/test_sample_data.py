"""The bundled sample data: reproducible, loads cleanly, and carries the stories it promises."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import pytest

from opsdash import sample
from opsdash.ingest.folders import export_files
from tests.conftest import SAMPLE


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_committed_sample_is_exactly_what_the_generator_writes(tmp_path, manifest):
    g = manifest["generator"]
    sample.write_sample(tmp_path, g["seed"], g["months"], g["scale"], dt.date.fromisoformat(g["as_of"]))
    assert _digest(tmp_path) == _digest(SAMPLE)


def test_generation_is_deterministic_and_seed_dependent(tmp_path):
    day = dt.date(2026, 3, 15)
    sample.write_flat(tmp_path / "a", 1, 3, 0.2, day, ["claims", "calls"])
    sample.write_flat(tmp_path / "b", 1, 3, 0.2, day, ["claims", "calls"])
    sample.write_flat(tmp_path / "c", 2, 3, 0.2, day, ["claims", "calls"])
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")


def test_sample_is_small_and_varied():
    files = export_files(SAMPLE)
    assert sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file()) < 25 * 1024 * 1024
    suffixes = {p.suffix for p in files}
    assert {".csv", ".parquet", ".xlsx"} <= suffixes
    assert list(SAMPLE.rglob("mapping.toml"))
    latin1 = [p for p in files if p.suffix == ".csv" and _not_utf8(p)]
    assert latin1 and all(p.read_bytes().split(b"\n")[0].count(b";") > 3 for p in latin1)


def _not_utf8(p):
    try:
        p.read_bytes().decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


def test_sample_loads_with_only_the_deliberately_bad_rows_rejected(sample_store, manifest):
    reports = sample_store.reports
    assert reports and all(r.status == "loaded" for r in reports), [r.message for r in reports if r.status != "loaded"]
    assert all(r.rows_read == r.rows_loaded + r.rows_rejected + r.rows_skipped for r in reports)
    got = sorted((f, line, col) for f, line, col in sample_store.fetchall("SELECT file_name, line, column_name FROM rejects"))
    want = sorted((d["file"].rsplit("/", 1)[-1], d["line"], d["column"]) for d in manifest["deliberate_rejects"])
    assert got == want and len(want) >= 4
    helix = [r for r in reports if r.file.startswith("Helix_Claims")]
    assert all(r.phi_columns_dropped == ["Patient Name", "MRN"] for r in helix)


def test_sample_covers_the_contract(sample_store, manifest):
    q = sample_store.fetchone
    assert q("SELECT count(DISTINCT vendor) FROM (SELECT vendor FROM claims UNION ALL SELECT vendor FROM work_items "
             "UNION ALL SELECT vendor FROM calls)")[0] == 4
    assert q("SELECT count(DISTINCT facility) FROM claims")[0] == 3
    assert q("SELECT count(DISTINCT process) FROM work_items")[0] >= 5
    assert {"stat", "routine"} <= {r[0] for r in sample_store.fetchall("SELECT DISTINCT priority FROM work_items")}
    assert q("SELECT count(DISTINCT queue) FROM calls")[0] >= 2
    assert q("SELECT count(*) FROM sla_targets WHERE level = 'critical' AND credit_pct > 0")[0] > 0
    assert q("SELECT count(*) FROM sla_targets WHERE level = 'key'")[0] > 0
    first, last = q("SELECT min(received_date), max(received_date) FROM claims")
    as_of = dt.date.fromisoformat(manifest["generator"]["as_of"])
    assert (last.year, last.month) == (as_of.year, as_of.month)
    assert (as_of.year - first.year) * 12 + as_of.month - first.month == 23
    for t in ("claims", "qa_audits", "work_items", "calls", "sla_targets", "reported_kpis", "events"):
        assert q(f"SELECT count(*) FROM {t}")[0] > 0, t
    # the known process change of the sample's story, marked so its SPC charts rebase there
    go_live = dt.date.fromisoformat(manifest["stories"]["meridian_automation_go_live"])
    assert sample_store.fetchall("SELECT vendor, event_date FROM events WHERE is_process_change") == [
        ("Meridian Revenue Partners", go_live)]


def test_story_winter_peaks_and_monday_calls(sample_store):
    c = sample_store.query("SELECT received_date FROM claims")
    month = pd.to_datetime(c["received_date"]).dt.month
    winter = c[month.isin([12, 1, 2])].shape[0] / 6   # two winters in 24 months
    summer = c[month.isin([6, 7, 8])].shape[0] / 6
    assert winter > summer * 1.2
    k = sample_store.query("SELECT offered_at FROM calls")
    by_day = pd.to_datetime(k["offered_at"]).dt.day_of_week.value_counts()
    assert by_day.idxmax() == 0 and by_day[0] > by_day[2] * 1.3


def test_story_meridian_turnaround_improves_after_go_live(sample_store, manifest):
    go = pd.Timestamp(manifest["stories"]["meridian_automation_go_live"])
    c = sample_store.query("SELECT received_date, submitted_date FROM claims "
                             "WHERE vendor = 'Meridian Revenue Partners' AND submitted_date IS NOT NULL")
    days = (pd.to_datetime(c["submitted_date"]) - pd.to_datetime(c["received_date"])).dt.days
    recv = pd.to_datetime(c["received_date"])
    before = days[(recv < go) & (recv >= go - pd.Timedelta(days=90))].median()
    after = days[(recv >= go) & (recv < go + pd.Timedelta(days=90))].median()
    assert after <= before * 0.6


def test_story_helix_denials_drift_up_and_helix_reports_otherwise(sample_store, manifest):
    c = sample_store.query("SELECT adjudicated_date, initial_outcome FROM claims "
                             "WHERE vendor = 'Helix Health Services' AND initial_outcome IS NOT NULL")
    month = pd.to_datetime(c["adjudicated_date"]).dt.to_period("M")
    rate = (c["initial_outcome"] == "denied").groupby(month).mean()
    complete = rate.iloc[:-1]
    assert complete.iloc[-3:].mean() > 1.5 * complete.iloc[:6].mean()
    rep = sample_store.query("SELECT period_start, value FROM reported_kpis "
                               "WHERE vendor = 'Helix Health Services' AND kpi = 'initial_denial_rate' ORDER BY 1")
    last = rep.iloc[-1]
    measured = rate[pd.Period(last["period_start"], "M")]
    assert last["value"] < 0.05 and measured - last["value"] > 0.02


def test_story_clearview_outage_week_collapses_the_sla(sample_store, manifest):
    start = pd.Timestamp(manifest["stories"]["clearview_outage_week_start"])
    w = sample_store.query("SELECT opened_at, due_at, completed_at FROM work_items "
                             "WHERE vendor = 'ClearView Diagnostics Reading' AND process = 'radiology_read' "
                             "AND completed_at IS NOT NULL")
    met = w["completed_at"] <= w["due_at"]
    week = (w["opened_at"] >= start) & (w["opened_at"] < start + pd.Timedelta(days=7))
    assert met[week].mean() < 0.5 < 0.85 < met[~week].mean()


def test_story_denial_reasons_depend_on_the_payer(sample_store):
    d = sample_store.query("SELECT payer, denial_reason FROM claims WHERE initial_outcome = 'denied'")
    top = d.groupby("payer")["denial_reason"].agg(lambda s: s.value_counts().idxmax())
    assert top["Medicare"].startswith("CO-50") and top["Medicaid"].startswith("CO-27")
    assert top["Cigna"].startswith("CO-11") or top["Cigna"].startswith("CO-16")
