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


def _auroc(score: pd.Series, hit: pd.Series) -> float:
    """Mann-Whitney: the chance a denied claim outranks a paid one (ties half), from pandas' ranks."""
    ranks = score.rank()
    pos = int(hit.sum())
    return float((ranks[hit].sum() - pos * (pos + 1) / 2) / (pos * (len(hit) - pos)))


def test_story_denials_follow_the_planted_mechanism(sample_store):
    """Read back from the store, every adjudicated claim's outcome is a draw at the probability the mechanism
    gives its stored columns: in each tenth of that probability the share denied is within four binomial
    standard errors of the mean probability, and the mechanism ranks the denials far better than chance."""
    from opsdash.sample.stories import DENIAL_MECHANISM

    c = sample_store.query("SELECT * FROM claims WHERE initial_outcome IS NOT NULL")
    assert c["procedure_group"].notna().all() and c["prior_auth_required"].notna().all()
    p = pd.Series(DENIAL_MECHANISM.probability(c), index=c.index)
    denied = c["initial_outcome"].eq("denied")
    for _, part in p.groupby(pd.qcut(p, 10, labels=False)):
        want, got = part.mean(), denied[part.index].mean()
        assert abs(got - want) <= 4 * (part * (1 - part)).sum() ** 0.5 / len(part), (want, got)
    assert _auroc(p, denied) > 0.7
    # the drift is the mechanism's: Helix's denials for missing authorisation grow
    helix = c["vendor"].eq("Helix Health Services")
    missing = c["prior_auth_required"] & ~c["prior_auth_obtained"].fillna(False).astype(bool)
    month = pd.to_datetime(c["submitted_date"]).dt.to_period("M")
    share = missing[helix].groupby(month[helix]).mean()
    assert share.iloc[-3:].mean() > 5 * share.iloc[:6].mean()


def test_story_vendor_scores_are_good_and_over_confident(sample_store):
    """Both vendors' own models rank their claims nearly as well as the mechanism itself (AUROC within 0.03 of
    its own on the same claims). Meridian's is calibrated: in each fifth of its scores the share denied is within
    four standard errors of the mean score. Helix's is over-confident: its top fifth of scores runs far above what
    happens, its bottom fifth far below."""
    from opsdash.sample.stories import DENIAL_MECHANISM

    c = sample_store.query("SELECT * FROM claims WHERE initial_outcome IS NOT NULL")
    assert c["vendor_risk_score"].notna().all()
    for vendor, model, calibrated in (("Meridian Revenue Partners", "Meridian ClaimIQ 3.2", True),
                                      ("Helix Health Services", "Helix DenialShield 2.0", False)):
        v = c[c["vendor"] == vendor]
        assert set(v["vendor_risk_model"]) == {model}
        denied, score = v["initial_outcome"].eq("denied"), v["vendor_risk_score"]
        best = _auroc(pd.Series(DENIAL_MECHANISM.probability(v), index=v.index), denied)
        assert best - 0.03 < _auroc(score, denied) <= best + 0.01, vendor
        fifth = pd.qcut(score, 5, labels=False)
        gaps = [(score[fifth == q].mean(), denied[fifth == q].mean(), len(score[fifth == q])) for q in range(5)]
        if calibrated:
            for want, got, n in gaps:
                assert abs(got - want) <= 4 * (want * (1 - want) / n) ** 0.5, (want, got)
        else:
            (low, low_hit, _), (high, high_hit, _) = gaps[0], gaps[-1]
            assert high > 2 * high_hit and low < low_hit / 2
