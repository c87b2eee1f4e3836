"""Service levels, credits, scorecards and reconciliation on a hand-made contract."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from opsdash import catalog, metrics, sla
from opsdash.settings import Settings, SettingsError, load
from opsdash.store import Store
from tests.helpers import csv_text, load_clean, table_csv

D = dt.date


def _claims():
    """Vendor A: clean rate by submission month Jan 0.8, Feb 0.9, Mar 0.95, Apr 0.7 (10 or 20 claims each)."""
    rows, n = [], 0
    for month, clean, total in ((1, 8, 10), (2, 9, 10), (3, 19, 20), (4, 7, 10)):
        for i in range(total):
            n += 1
            day = f"2026-{month:02d}-{10 + i % 10:02d}"
            rows.append({"claim_id": f"A{n}", "vendor": "A", "received_date": day, "submitted_date": day,
                         "clean_submission": "true" if i < clean else "false"})
    rows.append({"claim_id": "B1", "vendor": "B", "received_date": "2026-01-05", "submitted_date": "2026-01-06",
                 "clean_submission": "true"})
    return rows


TARGETS = [
    # vendor, kpi, process, priority, target, minimum, level, credit_pct, from, to
    ("*", "clean_claim_rate", "", "", "0.95", "0.85", "key", "", "2026-01-01", ""),
    ("A", "clean_claim_rate", "", "", "0.90", "0.85", "critical", "0.6", "2026-01-01", "2026-02-28"),
    ("A", "clean_claim_rate", "", "", "0.96", "0.75", "critical", "0.7", "2026-03-01", ""),      # tightened in March
    ("A", "sla_adherence", "coding", "stat", "0.9", "", "critical", "0.5", "2026-01-01", ""),
    ("*", "service_level", "", "", "0.8", "", "key", "", "2026-01-01", ""),                      # A sends no calls
    ("A", "claim_volume", "", "", "5", "", "key", "", "2026-01-01", ""),                          # neutral KPI
]
ITEMS = [  # vendor A coding/stat in March: 1 of 2 met; coding/routine does not count
    ("W1", "A", "coding", "stat", "2026-03-02 08:00", "2026-03-02 09:00", "2026-03-02 08:30"),
    ("W2", "A", "coding", "stat", "2026-03-03 08:00", "2026-03-03 09:00", "2026-03-03 10:00"),
    ("W3", "A", "coding", "routine", "2026-03-03 08:00", "2026-03-03 09:00", "2026-03-03 08:10"),
]
REPORTED = [
    ("A", "clean_claim_rate", "", "2026-01-01", "2026-01-31", "0.8"),     # exact
    ("A", "clean_claim_rate", "", "2026-02-01", "2026-02-28", "0.904"),   # 0.4 points off: within tolerance
    ("A", "clean_claim_rate", "", "2026-03-01", "2026-03-31", "0.956"),   # 0.6 points off: discrepancy
    ("A", "claim_volume", "", "2026-01-01", "2026-01-31", "10.09"),       # 0.9% off: within 1%
    ("A", "claim_volume", "", "2026-02-01", "2026-02-28", "10.2"),        # 2% off
    ("A", "clean_claim_rate", "", "2026-03-10", "2026-03-14", "1.0"),     # part of a month: measured over its days
    ("A", "clean_claim_rate", "", "2026-06-01", "2026-06-30", "0.99"),    # no raw rows
]


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    d = tmp_path_factory.mktemp("sla")
    s = Store(d / "s.duckdb")
    cols = ("vendor", "kpi", "process", "priority", "target", "minimum", "level", "credit_pct", "effective_from",
            "effective_to")
    load_clean(s, d, {
        "claims.csv": csv_text(_claims()),
        "targets.csv": table_csv(cols, TARGETS),
        "items.csv": table_csv(("item_id", "vendor", "process", "priority", "opened_at", "due_at", "completed_at"), ITEMS),
        "reported.csv": table_csv(("vendor", "kpi", "process", "period_start", "period_end", "value"), REPORTED),
    })
    yield s
    s.close()


AT_RISK = Settings(currency="EUR", at_risk={"A": 10_000.0})


@pytest.mark.parametrize("text, grain, start, end", [
    ("2026-10", "month", D(2026, 10, 1), D(2026, 10, 31)),
    ("2026-02", "month", D(2026, 2, 1), D(2026, 2, 28)),
    ("2026-W01", "week", D(2025, 12, 29), D(2026, 1, 4)),
    ("2026-Q3", "quarter", D(2026, 7, 1), D(2026, 9, 30)),
])
def test_periods(text, grain, start, end):
    assert sla.parse_period(text) == (grain, start, end)


@pytest.mark.parametrize("text", ["2026-13", "October", "2026-W60", "2026-Q5"])
def test_bad_periods_say_what_is_expected(text):
    with pytest.raises(sla.SlaError):
        sla.parse_period(text)
    with pytest.raises(sla.SlaError, match="is a month, not a week"):
        sla.parse_period("2026-10", "week")


@pytest.mark.parametrize("direction, value, target, minimum, expected", [
    ("higher", 0.95, 0.95, 0.9, "met"), ("higher", 0.93, 0.95, 0.9, "missed"), ("higher", 0.89, 0.95, 0.9, "below_minimum"),
    ("lower", 0.05, 0.05, 0.08, "met"), ("lower", 0.07, 0.05, 0.08, "missed"), ("lower", 0.09, 0.05, 0.08, "below_minimum"),
    ("higher", 0.5, 0.95, None, "missed"), ("higher", None, 0.95, 0.9, "no_data"), ("neutral", 3, 5, None, "not_scored"),
])
def test_status(direction, value, target, minimum, expected):
    kpi = {"higher": catalog.KPIS["clean_claim_rate"], "lower": catalog.KPIS["initial_denial_rate"],
           "neutral": catalog.KPIS["claim_volume"]}[direction]
    assert sla.status(kpi, value, target, minimum) == expected


def _text(v):
    return v if isinstance(v, str) else ""


def _levels(card):
    return {(r.kpi, _text(r.process), _text(r.priority)): r for r in card.levels.itertuples()}


def test_vendor_levels_win_over_all_vendor_levels_and_effective_dates_apply(st):
    jan = _levels(sla.scorecard(st, "A", "2026-01", settings=AT_RISK))
    cc = jan[("clean_claim_rate", "", "")]
    assert (cc.target, cc.level, cc.scope, cc.value, cc.status) == (0.9, "critical", "vendor", 0.8, "below_minimum")
    mar = _levels(sla.scorecard(st, "A", "2026-03", settings=AT_RISK))
    assert mar[("clean_claim_rate", "", "")].target == 0.96  # the tightened level is in force
    b = _levels(sla.scorecard(st, "B", "2026-01", settings=AT_RISK))
    assert b[("clean_claim_rate", "", "")].scope == "all vendors" and b[("clean_claim_rate", "", "")].status == "met"


def test_all_vendor_levels_skip_vendors_without_that_data(st):
    assert ("service_level", "", "") not in _levels(sla.scorecard(st, "A", "2026-01"))


def test_process_and_priority_restrict_the_measure(st):
    mar = _levels(sla.scorecard(st, "A", "2026-03", settings=AT_RISK))
    lv = mar[("sla_adherence", "coding", "stat")]
    assert lv.value == 0.5 and lv.status == "missed"  # W3 (routine) is left out
    want = metrics.total(st, "sla_adherence", D(2026, 3, 1), D(2026, 3, 31),
                         where={"vendor": ["A"], "process": ["coding"], "priority": ["stat"]})
    assert lv.value == want


def test_credits_are_capped_at_the_at_risk_amount(st):
    card = sla.scorecard(st, "A", "2026-03", settings=AT_RISK)
    lv = _levels(card)
    # March: clean 0.95 < 0.96 (missed, 70%) and stat SLA 0.5 < 0.9 (missed, 50%): 120% of 10,000 -> capped.
    assert lv[("clean_claim_rate", "", "")].credit == 7000 and lv[("sla_adherence", "coding", "stat")].credit == 5000
    assert card.summary["credits_due"] == 10_000 and card.summary["credits_capped"]
    assert card.summary["critical_missed"] == 2 and card.summary["currency"] == "EUR"


def test_key_levels_and_met_levels_carry_no_credit(st):
    card = sla.scorecard(st, "A", "2026-02", settings=AT_RISK)
    lv = _levels(card)
    assert lv[("clean_claim_rate", "", "")].status == "met" and pd.isna(lv[("clean_claim_rate", "", "")].credit)
    assert card.summary["credits_due"] == 0


def test_without_an_at_risk_amount_credits_are_percentages_only(st):
    card = sla.scorecard(st, "A", "2026-01", settings=Settings())
    assert card.summary["credits_due"] is None and card.summary["credit_pct_total"] == pytest.approx(0.6)


def test_consecutive_misses_follow_the_level_in_force_each_month(st):
    apr = _levels(sla.scorecard(st, "A", "2026-04", settings=AT_RISK))[("clean_claim_rate", "", "")]
    # Apr 0.7 < 0.75 (below minimum), Mar 0.95 < 0.96 (missed), Feb 0.9 >= 0.90 (met, old level): 2 in a row.
    assert (apr.status, apr.consecutive_missed) == ("below_minimum", 2)


def test_neutral_and_unknown_kpis_are_listed_not_scored(st, monkeypatch):
    lv = _levels(sla.scorecard(st, "A", "2026-01"))
    assert lv[("claim_volume", "", "")].status == "not_scored"
    # A KPI removed from the catalogue after its levels and reports were loaded:
    monkeypatch.setattr(catalog, "KPIS", {k: v for k, v in catalog.KPIS.items() if k != "claim_volume"})
    assert _levels(sla.scorecard(st, "A", "2026-01"))[("claim_volume", "", "")].status == "unknown_kpi"
    rec = sla.reconcile(st, "A")
    assert set(rec.loc[rec["kpi"] == "claim_volume", "flag"]) == {"unknown_kpi"}


def test_summary_counts(st):
    s = sla.scorecard(st, "A", "2026-01", settings=AT_RISK).summary
    assert (s["levels_met"], s["levels_scored"], s["levels_without_data"]) == (0, 1, 1)  # stat SLA: no items in Jan


def test_unknown_vendor_lists_the_known_ones(st):
    with pytest.raises(sla.SlaError, match="unknown vendor 'Z'; expected one of A, B"):
        sla.scorecard(st, "Z", "2026-01")


def test_weekly_scorecard_has_no_credits(st):
    card = sla.scorecard(st, "A", "2026-W11", settings=AT_RISK)
    assert card.summary["credits_due"] is None and "monthly" in card.summary["note"]


def test_reconciliation(st):
    r = sla.reconcile(st, "A")
    by = {(x.kpi, x.period_start): x for x in r.itertuples()}
    assert by[("clean_claim_rate", D(2026, 1, 1))].flag == "ok" and by[("clean_claim_rate", D(2026, 1, 1))].measured == 0.8
    assert by[("clean_claim_rate", D(2026, 2, 1))].flag == "ok"
    assert by[("clean_claim_rate", D(2026, 3, 1))].flag == "discrepancy"
    assert by[("claim_volume", D(2026, 1, 1))].flag == "ok"
    assert by[("claim_volume", D(2026, 2, 1))].flag == "discrepancy"
    part = by[("clean_claim_rate", D(2026, 3, 10))]
    assert part.measured == 1.0 and part.flag == "ok"  # 10th-14th March: 10 claims, all clean
    assert by[("clean_claim_rate", D(2026, 6, 1))].flag == "no_raw_data"
    assert list(r["flag"])[:3] == ["discrepancy", "discrepancy", "no_raw_data"]
    assert list(r["kpi"])[:2] == ["claim_volume", "clean_claim_rate"]  # larger difference first


def test_settings_file(tmp_path, monkeypatch):
    p = tmp_path / "s.toml"
    p.write_text('currency = "GBP"\n[at_risk]\n"A" = 5000\n')
    assert load(p).at_risk == {"A": 5000.0}
    monkeypatch.setenv("OPSDASH_SETTINGS", str(p))
    assert load().currency == "GBP"
    p.write_text('[at_risk]\n"A" = -1\n')
    with pytest.raises(SettingsError, match="amounts must be numbers >= 0"):
        load(p)
    p.write_text('colour = "red"\n')
    with pytest.raises(SettingsError, match="unknown key"):
        load(p)


def test_attainment_month_by_month_equals_the_scorecards(st):
    """The SLA page's grid (one series per level) agrees with the scorecard of every vendor and month."""
    att = sla.attainment(st, D(2026, 1, 1), D(2026, 4, 30), settings=AT_RISK)
    assert not att.empty
    checked = 0
    for (vendor, month), part in att.groupby(["vendor", "month"]):
        card = _levels(sla.scorecard(st, vendor, f"{month:%Y-%m}", settings=AT_RISK))
        for r in part.itertuples():
            lv = card[(r.kpi, _text(r.process), _text(r.priority))]
            assert (r.status, r.consecutive_missed, r.target) == (lv.status, lv.consecutive_missed, lv.target)
            assert (pd.isna(r.value) and pd.isna(lv.value)) or r.value == pytest.approx(lv.value)
            assert (pd.isna(r.credit) and pd.isna(lv.credit)) or r.credit == lv.credit
            checked += 1
        assert len(part) == len([k for k, lv in card.items() if lv.status != "unknown_kpi"])
    assert checked >= 8


def test_credits_due_are_capped_per_month(st):
    att = sla.attainment(st, D(2026, 1, 1), D(2026, 4, 30), settings=AT_RISK)
    due = sla.credits_due(att, AT_RISK).set_index(["vendor", "month"])
    march = due.loc[("A", D(2026, 3, 1))]
    assert march["credit_pct"] == pytest.approx(1.2) and march["credit_due"] == 10_000 and march["capped"]
    card = sla.scorecard(st, "A", "2026-03", settings=AT_RISK)
    assert march["credit_due"] == card.summary["credits_due"]
