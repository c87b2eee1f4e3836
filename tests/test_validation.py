"""Every row rule and every type: a passing row is stored, a failing row is rejected with its reason."""

from __future__ import annotations

import pytest

from opsdash import contract
from tests.helpers import csv_text, rejects, row

# (table, rule id, changes that pass, changes that fail, column at fault, words in the reason)
RULE_CASES = [
    ("claims", "submitted_date >= received_date", {"submitted_date": "2026-01-05"}, {"submitted_date": "2026-01-04"},
     "submitted_date", "submitted_date: found 2026-01-04, expected on or after received_date (2026-01-05)"),
    ("claims", "adjudicated_date needs submitted_date", {"adjudicated_date": "", "initial_outcome": "", "submitted_date": ""},
     {"submitted_date": ""}, "adjudicated_date", "adjudicated_date: has a value but submitted_date is empty"),
    ("claims", "adjudicated_date >= submitted_date", {"adjudicated_date": "2026-01-07"}, {"adjudicated_date": "2026-01-06"},
     "adjudicated_date", "adjudicated_date: found 2026-01-06, expected on or after submitted_date (2026-01-07)"),
    ("claims", "initial_outcome one of", {"initial_outcome": "Partially_Paid"}, {"initial_outcome": "approved"},
     "initial_outcome", 'initial_outcome: found "approved", expected one of paid, partially_paid, denied'),
    ("claims", "initial_outcome needs adjudicated_date", {"initial_outcome": "", "adjudicated_date": ""},
     {"adjudicated_date": ""}, "initial_outcome", "initial_outcome: has a value but adjudicated_date is empty"),
    ("claims", "billed_amount >= 0", {"billed_amount": "0"}, {"billed_amount": "-0.01"},
     "billed_amount", "billed_amount: found -0.01, expected >= 0"),
    ("claims", "paid_amount >= 0", {"paid_amount": "0"}, {"paid_amount": "-5"},
     "paid_amount", "paid_amount: found -5.0, expected >= 0"),
    ("claims", "vendor_risk_score >= 0", {"vendor_risk_score": "0"}, {"vendor_risk_score": "-0.1"},
     "vendor_risk_score", "vendor_risk_score: found -0.1, expected >= 0"),
    ("claims", "vendor_risk_score <= 1", {"vendor_risk_score": "1"}, {"vendor_risk_score": "1.2"},
     "vendor_risk_score", "vendor_risk_score: found 1.2, expected <= 1"),
    ("claims", "vendor_risk_model needs vendor_risk_score", {"vendor_risk_model": "DenialGuard 2.1", "vendor_risk_score": "0.2"},
     {"vendor_risk_model": "DenialGuard 2.1"}, "vendor_risk_model",
     "vendor_risk_model: has a value but vendor_risk_score is empty"),
    ("qa_audits", "opportunities > 0", {"opportunities": "2"}, {"opportunities": "0", "errors": "0", "critical_errors": "0"},
     "opportunities", "opportunities: found 0, expected > 0"),
    ("qa_audits", "errors >= 0", {"errors": "1"}, {"errors": "-1", "critical_errors": ""},
     "errors", "errors: found -1, expected >= 0"),
    ("qa_audits", "errors <= opportunities", {"errors": "10"}, {"errors": "11"},
     "errors", "errors: found 11, expected at most opportunities (10)"),
    ("qa_audits", "critical_errors >= 0", {"critical_errors": "0"}, {"critical_errors": "-1"},
     "critical_errors", "critical_errors: found -1, expected >= 0"),
    ("qa_audits", "critical_errors <= errors", {"critical_errors": "2"}, {"critical_errors": "3"},
     "critical_errors", "critical_errors: found 3, expected at most errors (2)"),
    ("work_items", "due_at >= opened_at", {"due_at": "2026-01-05 08:00"}, {"due_at": "2026-01-05 07:59"},
     "due_at", "due_at: found 2026-01-05 07:59:00, expected on or after opened_at (2026-01-05 08:00:00)"),
    ("work_items", "completed_at >= opened_at", {"completed_at": "2026-01-05 08:00"}, {"completed_at": "2026-01-04 23:00"},
     "completed_at", "completed_at: found 2026-01-04 23:00:00, expected on or after opened_at"),
    ("calls", "answered_at >= offered_at", {"answered_at": "2026-01-05 09:00:00"}, {"answered_at": "2026-01-05 08:59:59"},
     "answered_at", "answered_at: found 2026-01-05 08:59:59, expected on or after offered_at"),
    ("calls", "abandoned_at >= offered_at", {"answered_at": "", "handle_seconds": "", "abandoned_at": "2026-01-05 09:00:04"},
     {"answered_at": "", "handle_seconds": "", "abandoned_at": "2026-01-05 08:00:00"},
     "abandoned_at", "abandoned_at: found 2026-01-05 08:00:00, expected on or after offered_at"),
    ("calls", "not both answered and abandoned", {"abandoned_at": ""}, {"abandoned_at": "2026-01-05 09:00:30"},
     "answered_at", "answered_at: both answered_at and abandoned_at have values; expected at most one"),
    ("calls", "handle_seconds >= 0", {"handle_seconds": "0"}, {"handle_seconds": "-1"},
     "handle_seconds", "handle_seconds: found -1.0, expected >= 0"),
    ("sla_targets", "kpi is a catalogue id", {"kpi": "Service_Level"}, {"kpi": "happiness"},
     "kpi", 'kpi: found "happiness", expected one of claim_volume, claim_turnaround_days'),
    ("reported_kpis", "reported kpi is a catalogue id", {"kpi": "error_rate"}, {"kpi": "errors"},
     "kpi", 'kpi: found "errors", expected one of claim_volume'),
    ("sla_targets", "level one of", {"level": "KEY", "credit_pct": ""}, {"level": "gold"},
     "level", 'level: found "gold", expected one of critical, key'),
    ("sla_targets", "credit_pct >= 0", {"credit_pct": "0"}, {"credit_pct": "-0.1"},
     "credit_pct", "credit_pct: found -0.1, expected >= 0"),
    ("sla_targets", "credit_pct <= 1", {"credit_pct": "1"}, {"credit_pct": "5"},
     "credit_pct", "credit_pct: found 5.0, expected <= 1"),
    ("sla_targets", "effective_to >= effective_from", {"effective_to": "2026-01-01"}, {"effective_to": "2025-12-31"},
     "effective_to", "effective_to: found 2025-12-31, expected on or after effective_from (2026-01-01)"),
    ("events", "event kpi is a catalogue id", {"kpi": "claim_turnaround_days"}, {"kpi": "turnaround"},
     "kpi", 'kpi: found "turnaround", expected one of claim_volume'),
    ("reported_kpis", "period_end >= period_start", {"period_end": "2026-01-01"}, {"period_end": "2025-12-31"},
     "period_end", "period_end: found 2025-12-31, expected on or after period_start (2026-01-01)"),
    ("staffing", "interval_minutes > 0", {"interval_minutes": "15"}, {"interval_minutes": "0"},
     "interval_minutes", "interval_minutes: found 0, expected > 0"),
    ("staffing", "interval_minutes <= 1440", {"interval_minutes": "1440"}, {"interval_minutes": "1441"},
     "interval_minutes", "interval_minutes: found 1441, expected <= 1440"),
    ("staffing", "scheduled_staff >= 0", {"scheduled_staff": "0"}, {"scheduled_staff": "-2"},
     "scheduled_staff", "scheduled_staff: found -2.0, expected >= 0"),
    ("staffing", "productive_hours_per_fte > 0", {"productive_hours_per_fte": "7.5"}, {"productive_hours_per_fte": "0"},
     "productive_hours_per_fte", "productive_hours_per_fte: found 0.0, expected > 0"),
    ("staffing", "productive_hours_per_fte <= 24", {"productive_hours_per_fte": "24"}, {"productive_hours_per_fte": "25"},
     "productive_hours_per_fte", "productive_hours_per_fte: found 25.0, expected <= 24"),
    ("staffing", "shrinkage >= 0", {"shrinkage": "0"}, {"shrinkage": "-0.1"},
     "shrinkage", "shrinkage: found -0.1, expected >= 0"),
    ("staffing", "shrinkage < 1", {"shrinkage": "0.99"}, {"shrinkage": "1"},
     "shrinkage", "shrinkage: found 1.0, expected < 1"),
]


def test_every_declared_rule_has_a_case():
    declared = sum(len(t.rules) for t in contract.TABLES.values())
    assert len(RULE_CASES) == declared
    for table, *_rest, column, _reason in RULE_CASES:
        assert column in contract.TABLES[table].column_names


@pytest.mark.parametrize("table, rule, ok, bad, column, reason", RULE_CASES, ids=[c[1] for c in RULE_CASES])
def test_rule_passes_and_fails(table, rule, ok, bad, column, reason, write, load, store):
    text = csv_text([row(table, **ok), row(table, **bad)], columns=list(contract.TABLES[table].column_names))
    rep = load(write(f"{table}.csv", text), table=table)
    assert (rep.status, rep.rows_read, rep.rows_loaded, rep.rows_rejected) == ("loaded", 2, 1, 1), rep.message
    (line, col, kind, why), = rejects(store)
    assert (line, col, kind) == (3, column, "invalid")
    assert reason in why


TYPE_CASES = [
    # (table, column, good value, stored, bad value, words in the reason)
    ("claims", "service_date", "2026-02-28", "2026-02-28", "2026-02-30", 'service_date: found "2026-02-30", expected a date YYYY-MM-DD'),
    ("claims", "service_date", " 2026-02-01 ", "2026-02-01", "31/01/2026", 'found "31/01/2026", expected a date YYYY-MM-DD'),
    ("claims", "clean_submission", "Yes", "True", "maybe", 'clean_submission: found "maybe", expected true/false, yes/no, y/n or 1/0'),
    ("claims", "clean_submission", "0", "False", "2", "expected true/false"),
    ("claims", "billed_amount", "1e3", "1000.0", "1,234.50", 'billed_amount: found "1,234.50", expected a decimal number'),
    ("claims", "billed_amount", "12.5", "12.5", "NaN", 'found "NaN", expected a decimal number'),
    ("qa_audits", "opportunities", "12.0", "12", "3.5", 'opportunities: found "3.5", expected a whole number'),
    ("qa_audits", "opportunities", "+7", "7", "ten", 'found "ten", expected a whole number'),
    ("work_items", "opened_at", "2026-01-05T08:00:00", "2026-01-05 08:00:00", "2026-01-05 25:00",
     'opened_at: found "2026-01-05 25:00", expected a timestamp'),
    ("work_items", "opened_at", "2026-01-05 08:00:00.5", "2026-01-05 08:00:00.5", "yesterday", 'found "yesterday"'),
]


@pytest.mark.parametrize("table, column, good, stored, bad, reason", TYPE_CASES,
                         ids=[f"{c[1]}:{c[4]}" for c in TYPE_CASES])
def test_type_parsing(table, column, good, stored, bad, reason, write, load, store):
    rows = [row(table, **{column: good}), row(table, **{column: bad})]
    if table == "qa_audits":
        rows[0]["errors"] = rows[1]["errors"] = "0"
        rows[0]["critical_errors"] = rows[1]["critical_errors"] = "0"
    rows[1][contract.TABLES[table].key[1]] = "second"
    rep = load(write("t.csv", csv_text(rows)), table=table)
    assert (rep.rows_loaded, rep.rows_rejected) == (1, 1), rep.message
    value = store.fetchone(f"SELECT CAST({column} AS VARCHAR) FROM {table}")[0]
    assert value == stored.replace("True", "true").replace("False", "false")
    (_line, col, _kind, why), = rejects(store)
    assert col == column and reason in why


def test_required_value_missing_is_named(write, load, store):
    rep = load(write("c.csv", csv_text([row("claims"), row("claims", claim_id="", received_date=" ")])))
    assert rep.rows_rejected == 1
    (_l, col, _k, why), = rejects(store)
    assert col == "claim_id"
    assert why == "claim_id: required value is missing; received_date: required value is missing"


def test_every_problem_of_a_row_is_listed_first_column_named(write, load, store):
    bad = row("claims", received_date="2026-13-01", billed_amount="-1", initial_outcome="maybe")
    load(write("c.csv", csv_text([bad])))
    (_l, col, _k, why), = rejects(store)
    assert col == "received_date"
    assert why.count(";") == 2 and "billed_amount" in why and "initial_outcome" in why


def test_text_longer_than_the_limit_is_rejected(write, load, store):
    long = "x" * (contract.MAX_TEXT_LENGTH + 1)
    rep = load(write("c.csv", csv_text([row("claims", payer=long), row("claims", claim_id="C2", payer="x" * 2000)])))
    assert (rep.rows_loaded, rep.rows_rejected) == (1, 1)
    (_l, col, _k, why), = rejects(store)
    assert (col, why) == ("payer", "payer: found a value of 2001 characters, expected at most 2000")


def test_ssn_in_any_kept_text_column_rejects_the_row_and_is_masked(write, load, store):
    rep = load(write("c.csv", csv_text([row("claims", facility="Ward 7 123-45-6789", notes="ssn 987-65-4321")])))
    assert rep.rows_rejected == 1
    reason, raw = store.fetchone("SELECT reason, raw_values FROM rejects")
    assert "123-45-6789" not in reason + raw and "987-65-4321" not in raw
    assert '"facility":"Ward 7 ***-**-****"' in raw
    assert '"notes"' not in raw  # an ignored column's values are not kept (minimum necessary)


def test_enumerations_are_stored_lower_case(write, load, store):
    load(write("c.csv", csv_text([row("claims", initial_outcome="DENIED")])))
    assert store.fetchone("SELECT initial_outcome FROM claims")[0] == "denied"


def test_level_defaults_to_key(write, load, store):
    load(write("s.csv", csv_text([row("sla_targets", level="", credit_pct="")])))
    assert store.fetchone("SELECT level FROM sla_targets")[0] == "key"


@pytest.mark.parametrize("value, stored", [
    ("2026-03-01T10:00:00+02:00", "2026-03-01 08:00:00"),
    ("2026-03-01 10:00:00Z", "2026-03-01 10:00:00"),
    ("2026-03-01T10:00:00-0500", "2026-03-01 15:00:00"),
    ("2026-03-01 10:00", "2026-03-01 10:00:00"),
])
def test_timestamps_with_offsets_are_converted_to_the_store_zone(value, stored, write, load, store):
    load(write("w.csv", csv_text([row("work_items", opened_at=value, due_at="", completed_at="")])))
    assert store.fetchone("SELECT CAST(opened_at AS VARCHAR) FROM work_items")[0] == stored


def test_naive_timestamps_are_local_time_of_a_non_utc_store(tmp_path, write):
    from opsdash.ingest.loader import load_file
    from opsdash.store import Store

    with Store(tmp_path / "ny.duckdb", timezone="America/New_York") as s:
        rows = [row("work_items", opened_at="2026-07-01 10:00", due_at="", completed_at=""),
                row("work_items", item_id="W2", opened_at="2026-07-01T10:00:00Z", due_at="", completed_at="")]
        load_file(s, write("w.csv", csv_text(rows)))
        got = s.fetchall("SELECT item_id, CAST(opened_at AS VARCHAR) FROM work_items ORDER BY item_id")
    assert got == [("W1", "2026-07-01 10:00:00"), ("W2", "2026-07-01 06:00:00")]
