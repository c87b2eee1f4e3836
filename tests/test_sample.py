"""The sample package: its stories show in the engine's numbers, its mapping files read its vendor files, the
vendors' reports are the engine's figures (checked against the tests' own reference), and it is deterministic.

The committed sample's bytes, its loading and its stories measured from raw rows are in test_sample_data.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from opsdash import catalog, metrics, sla
from opsdash.ingest.folders import export_files
from opsdash.ingest.loader import load_file
from opsdash.ingest.mapping import load_mapping
from opsdash.sample import reported, stories, tables, writers
from opsdash.sample.stories import DENIAL_DRIFT, GO_LIVE, OUTAGE, VENDOR_NAMES, Timeline
from tests.conftest import ROOT, SAMPLE
from tests.kpi_reference import reference

MERIDIAN, HELIX, CLEARVIEW, IBERICA = (VENDOR_NAMES[k] for k in ("meridian", "helix", "clearview", "iberica"))


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _story(manifest: dict, name: str) -> dt.date:
    return dt.date.fromisoformat(manifest["stories"][name])


def _complete_months(manifest: dict) -> list[dt.date]:
    g = manifest["generator"]
    return [ms for ms, _ in Timeline(dt.date.fromisoformat(g["as_of"]), g["months"]).complete_months()]


# -- each planted story, as the engine reports it -----------------------------------------------------

def test_engine_shows_winter_and_monday_peaks(sample_store):
    v = metrics.series(sample_store, "work_volume", grain="month")
    month = pd.to_datetime(v["period_start"]).dt.month
    winter, summer = v["value"][month.isin([12, 1, 2])].mean(), v["value"][month.isin([6, 7, 8])].mean()
    assert winter > 1.2 * summer
    c = metrics.series(sample_store, "call_volume", grain="day")
    by_day = c.groupby(pd.to_datetime(c["period_start"]).dt.day_of_week)["value"].sum()
    assert by_day.idxmax() == 0 and by_day[0] > 1.3 * by_day[2] and by_day[6] == 0  # Monday peak, closed Sunday


def test_engine_shows_meridian_faster_and_more_accurate_after_go_live(sample_store, manifest):
    go = _story(manifest, "meridian_automation_go_live")
    t = metrics.series(sample_store, "claim_turnaround_days", grain="month", where={"vendor": [MERIDIAN]})
    months, go_month = pd.to_datetime(t["period_start"]), pd.Timestamp(go).replace(day=1)
    before = t["value"][(months < go_month) & (months >= go_month - pd.DateOffset(months=3))]
    after = t["value"][(months > go_month) & (months <= go_month + pd.DateOffset(months=3))]
    assert len(before) == len(after) == 3
    assert after.max() <= 0.6 * before.min()  # a median of about 4-5 days falls to about 2
    coding = {"vendor": [MERIDIAN], "process": ["coding"]}
    first = dt.date.fromisoformat(manifest["generator"]["as_of"]) - dt.timedelta(days=800)
    err_before = metrics.total(sample_store, "error_rate", first, go - dt.timedelta(days=1), where=coding)
    err_after = metrics.total(sample_store, "error_rate", go, go + dt.timedelta(days=800), where=coding)
    assert err_after < 0.75 * err_before
    assert GO_LIVE.coding_errors < 0.75  # the declaration the assertion above rests on


def test_engine_shows_helix_denials_drifting_up(sample_store, manifest):
    drift = _story(manifest, "helix_denial_drift_start")
    d = metrics.series(sample_store, "initial_denial_rate", grain="month", where={"vendor": [HELIX]})
    d = d[d["period_start"].isin(_complete_months(manifest))]
    before = d["value"][d["period_start"] < drift]
    assert before.mean() < 0.05 < 1.5 * 0.05 < d["value"].iloc[-3:].mean()


def test_engine_shows_clearview_outage_week(sample_store, manifest):
    start = _story(manifest, "clearview_outage_week_start")
    w = metrics.series(sample_store, "sla_adherence", grain="week",
                       where={"vendor": [CLEARVIEW], "process": ["radiology_read"]})
    outage = w["value"][w["period_start"] == start]
    assert len(outage) == 1 and outage.iloc[0] < 0.5 < 0.9 < w["value"][w["period_start"] != start].median()


def test_reconciliation_flags_exactly_the_flattering_reports(sample_store, manifest):
    """Every vendor report agrees with the dashboard but Helix's last months and ClearView's outage month."""
    r = sla.reconcile(sample_store)
    flagged = {(v, k, p) for v, k, p, f in zip(r["vendor"], r["kpi"], r["period_start"], r["flag"]) if f != "ok"}
    months = _complete_months(manifest)
    outage_month = _story(manifest, "clearview_outage_week_start").replace(day=1)
    want = {(HELIX, "initial_denial_rate", m) for m in months[-DENIAL_DRIFT.reported_months:]}
    want.add((CLEARVIEW, "sla_adherence", outage_month))
    assert flagged == want
    assert set(r["flag"]) == {"ok", "discrepancy"}


# -- the vendors' reports are the engine's figures, checked against the tests' reference ---------------

def test_reported_figures_are_the_reference_figures_but_where_a_story_flatters():
    tl = Timeline(dt.date(2026, 3, 20), 5)
    cl, wi, ca = tables.claims(3, tl, 0.3), tables.work_items(3, tl, 0.3), tables.calls(3, tl, 0.3)
    rep = reported.reported_kpis(tl, cl, wi, ca)
    as_of = pd.Timestamp(tl.as_of) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    wi = wi.assign(_load_id=1)
    loads = pd.DataFrame({"load_id": [1], "columns_present": [list(wi.columns)]})
    raw = {"claims": cl, "work_items": wi, "calls": ca}
    months = tl.complete_months()
    capped = {ms for ms, _ in months[-DENIAL_DRIFT.reported_months:]}
    outage_month = tl.outage_start.replace(day=1)
    want = []
    for key, kpi_id, process in reported.REPORTS:
        kpi = catalog.KPIS[kpi_id]
        where = {"vendor": [VENDOR_NAMES[key]], **({"process": [process]} if process else {})}
        ref = reference(kpi_id, kpi.kind, kpi.table, raw[kpi.table], loads, "month", [], as_of,
                        tl.start, tl.as_of, where)
        for ms, me in months:
            value = ref.loc[ref["period_start"] == ms, "value"].iloc[0]
            if key == "helix" and kpi_id == "initial_denial_rate" and ms in capped:
                value = min(value, DENIAL_DRIFT.reported_cap)
            if key == "clearview" and ms == outage_month:
                value = max(value, OUTAGE.reported_floor)
            want.append((VENDOR_NAMES[key], kpi_id, process, ms, me, round(value, 4)))
    got = sorted(((v, k, None if pd.isna(p) else p, s, e, x) for v, k, p, s, e, x in rep.itertuples(index=False)),
                 key=lambda r: (r[0], r[1], r[3]))
    assert got == sorted(want, key=lambda r: (r[0], r[1], r[3]))
    assert len(want) == len(reported.REPORTS) * len(months) == 24
    # the stories flattered something: otherwise the comparison above would not test the flattery
    assert any(r[5] == DENIAL_DRIFT.reported_cap for r in got) and any(r[5] == OUTAGE.reported_floor for r in got)


# -- mapping files: real TOML shipped in the package, reading the vendor's files ---------------------

@pytest.mark.parametrize("rel", list(writers.MAPPING_FILES))
def test_shipped_mapping_parses_and_maps_the_vendor_files(rel, store, manifest):
    shipped = resources.files("opsdash.sample").joinpath("mappings", writers.MAPPING_FILES[rel])
    m = load_mapping(Path(str(shipped)))
    folder = SAMPLE / rel.rsplit("/", 1)[0]
    assert m.table == folder.name and m.columns["vendor"].const == IBERICA
    assert (SAMPLE / rel).read_bytes() == shipped.read_bytes()  # the sample carries the shipped file as is
    files = export_files(folder)
    assert files
    for path in files:
        df = pd.read_csv(path, sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
        sources = {spec.source for spec in m.columns.values() if spec.source}
        assert sources <= set(df.columns), path.name
        for col, codes in m.values.items():
            seen = set(df[m.columns[col].source]) - set(m.null_tokens)
            assert seen <= set(codes), (path.name, col, seen - set(codes))
    if m.table == "calls":
        assert {v: k for k, v in m.values["queue"].items()} == stories.IBERICA_QUEUES
    if m.table == "staffing":
        assert {v: k for k, v in m.values["process"].items()} == stories.IBERICA_WFM_QUEUES
    # one file through the loader with the shipped mapping: every row in, but those spoiled on purpose
    path = files[min(3, len(files) - 1)]
    rows = len(pd.read_csv(path, sep=";", encoding="latin-1", dtype=str))
    spoiled = [d for d in manifest["deliberate_rejects"] if d["file"] == path.relative_to(SAMPLE).as_posix()]
    r = load_file(store, path, mapping=m)
    assert r.status == "loaded" and (r.rows_loaded, r.rows_rejected) == (rows - len(spoiled), len(spoiled))


def test_mapping_files_are_package_data():
    """A wheel carries the mapping files: pyproject's package-data matches each of them."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["opsdash"]
    package = ROOT / "src" / "opsdash"
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    mappings = set((package / "sample" / "mappings").glob("*"))
    assert mappings and mappings <= shipped
    assert {p.name for p in mappings} == set(writers.MAPPING_FILES.values())


# -- determinism and independence --------------------------------------------------------------------

def test_write_sample_is_deterministic_and_seed_dependent(tmp_path):
    day = dt.date(2026, 3, 20)
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        writers.write_sample(tmp_path / name, seed, 3, 0.2, day)
    a, b, c = (_digest(tmp_path / n) for n in "abc")
    assert a == b != c and set(a) == set(c)
    assert a["reported/helix_reported_kpis.csv"] != c["reported/helix_reported_kpis.csv"]


def test_the_staffing_plans_tell_iberica_short_for_its_training_weeks():
    """The story as a workforce planner would check it, independently of how the generator planned: last
    winter's measured calls per queue, weekday and half-hour (5 January to 15 February 2026) and measured
    handle times, through pyworkforce's Erlang C at 80% in 30 s, against each future interval's net agents
    (scheduled x (1 - shrinkage)). In the training weeks many intervals fall short; in the other weeks ahead
    almost none do."""
    from pyworkforce.queuing import ErlangC

    tl = stories.Timeline(dt.date(2026, 11, 26), 24)
    ca = tables.calls(20261126, tl, 1.0)
    plans = tables.staffing(20261126, tl, 1.0)
    winter = ca[(ca["offered_at"] >= "2026-01-05") & (ca["offered_at"] < "2026-02-16")]
    weekday, slot = winter["offered_at"].dt.day_of_week, winter["offered_at"].dt.floor("30min").dt.time
    days = winter["offered_at"].dt.normalize().groupby(weekday).nunique()
    per_day = winter.groupby([winter["queue"], weekday, slot]).size().div(days, level=1)
    aht = ca.groupby("queue")["handle_seconds"].mean()
    ahead = plans[(plans["interval_minutes"] == 30) & (plans["interval_start"] > pd.Timestamp(tl.as_of))]
    calls = [per_day.get((q, t.day_of_week, t.time()), 0.0) for q, t in zip(ahead["process"], ahead["interval_start"])]
    need = np.array([0 if c <= 0 else ErlangC(transactions=c, aht=aht[q] / 60, asa=0.5, interval=30)
                     .required_positions(0.8)["raw_positions"] for c, q in zip(calls, ahead["process"])])
    short = (ahead["scheduled_staff"] * (1 - ahead["shrinkage"])).to_numpy() < need
    start = pd.Timestamp(tl.training_start)
    training = ((ahead["interval_start"] >= start) & (ahead["interval_start"] < start + pd.Timedelta(weeks=6))).to_numpy()
    assert training.sum() == 6 * 6 * 20 * 3  # six weeks of six open days, 20 half-hours, three queues
    assert short[training].mean() > 0.3 and short[~training].mean() < 0.05
    # daily back-office plans: every vendor with work items plans every day of the horizon
    daily = plans[plans["interval_minutes"] == 1440]
    assert daily.groupby(["vendor", "process"]).size().eq(len(tl.plan_days())).all()
    assert set(daily["vendor"]) == {stories.VENDOR_NAMES[k] for k in ("meridian", "helix", "clearview")}
