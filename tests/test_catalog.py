"""The KPI catalogue: complete against the spec, documented, and declarations are all a new KPI needs."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest

from opsdash import catalog, metrics
from tests.conftest import REALDATA


def spec_ids() -> set[str]:
    spec = REALDATA.parent / "spec" / "kpis.md"
    if not spec.exists():
        pytest.fail(f"the KPI spec is missing: {spec}")
    return set(re.findall(r"^\| ([a-z_0-9]+) \| [A-Z]", spec.read_text(encoding="utf-8"), re.M)) - {"id"}


def test_every_kpi_of_the_spec_is_declared_once():
    assert set(catalog.KPIS) == spec_ids()


@pytest.mark.parametrize("kpi", catalog.KPIS.values(), ids=list(catalog.KPIS))
def test_declaration_is_complete(kpi):
    assert kpi.label and len(kpi.description) > 30 and kpi.period_words
    assert kpi.unit in catalog.UNITS and kpi.direction in catalog.DIRECTIONS and kpi.kind in catalog.KINDS
    assert kpi.table in catalog.DIMENSIONS
    assert (kpi.target is None) or kpi.target_source, "a default target needs its source"
    needs = {"ratio": ("numerator", "denominator"), "quantile": ("value", "quantile"), "mean": ("value",),
             "backlog": ("backlog_in", "backlog_out"), "count": ()}[kpi.kind]
    assert all(getattr(kpi, f) is not None for f in needs)


def test_every_kpi_is_in_the_generated_docs():
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    for k in catalog.KPIS.values():
        assert f"`{k.id}`" in text and k.description in text


def test_a_new_kpi_of_an_existing_kind_is_one_declaration(monkeypatch, sample_store):
    """Payer-paid ratio: declared here only; the engine computes it with no other code."""
    paid = dataclasses.replace(
        catalog.KPIS["clean_claim_rate"], id="paid_in_full_rate", label="Paid in full",
        description="Claims paid in full divided by claims with a first decision, by adjudicated_date.",
        period="adjudicated_date", period_words="adjudicated_date",
        numerator="initial_outcome = 'paid'", denominator="initial_outcome IS NOT NULL", target=None, target_source="")
    monkeypatch.setitem(catalog.KPIS, paid.id, paid)
    got = metrics.series(sample_store, "paid_in_full_rate", grain="quarter", by=["vendor"])
    raw = sample_store.query("SELECT vendor, adjudicated_date, initial_outcome FROM claims WHERE initial_outcome IS NOT NULL")
    raw["q"] = pd.to_datetime(raw["adjudicated_date"]).dt.to_period("Q").dt.start_time.dt.date
    want = raw.groupby(["q", "vendor"])["initial_outcome"].apply(lambda s: (s == "paid").mean())
    have = got.dropna(subset=["value"]).set_index(["period_start", "vendor"])["value"]
    assert len(have) == len(want) and (have - want.reindex(have.index)).abs().max() < 1e-12


def test_format_value_for_people():
    k = catalog.KPIS
    assert catalog.format_value(k["clean_claim_rate"], 0.95432) == "95.4%"
    assert catalog.format_value(k["claim_turnaround_days"], 3.25) == "3.2 days"
    assert catalog.format_value(k["claim_volume"], 12345) == "12,345"
    assert catalog.format_value(k["average_speed_of_answer_s"], 22.6) == "23 s"
    assert catalog.format_value(k["claim_volume"], None) == "–"
