"""opsdash kpis / kpi / scorecard / reconcile: the same numbers as the engine, clear errors with exit 2."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from opsdash import catalog, labels, metrics, sla, spc
from opsdash.cli import main
from opsdash.settings import load


@pytest.fixture
def cli(sample_store):
    def run(*args):
        return CliRunner().invoke(main, [*args, "--db", str(sample_store.path)], catch_exceptions=False)
    return run


def test_kpis_lists_the_catalogue():
    out = CliRunner().invoke(main, ["kpis", "--format", "csv"]).output
    df = pd.read_csv(io.StringIO(out))
    assert df["id"].tolist() == list(catalog.KPIS)


def test_kpi_csv_is_the_api_frame(cli, sample_store):
    r = cli("kpi", "clean_claim_rate", "--by", "vendor", "--by", "payer", "--grain", "quarter", "--format", "csv")
    assert r.exit_code == 0, r.output
    got = pd.read_csv(io.StringIO(r.output))
    want = metrics.series(sample_store, "clean_claim_rate", grain="quarter", by=["vendor", "payer"])
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    assert (got["numerator"].fillna(-1).to_numpy() == want["numerator"].astype("float").fillna(-1).to_numpy()).all()
    assert ((got["value"] - want["value"].astype(float)).abs().fillna(0) < 1e-12).all()


def test_kpi_where_from_to_as_of_and_thresholds(cli, sample_store):
    import datetime as dt

    r = cli("kpi", "service_level", "--where", "queue=scheduling", "--from", "2026-01-01", "--to", "2026-03-31",
            "--grain", "week", "--answer-threshold", "20", "--short-abandon", "3", "--as-of", "2026-11-01 12:00",
            "--format", "json")
    got = pd.DataFrame(json.loads(r.output))
    want = metrics.series(sample_store, "service_level", grain="week", where={"queue": ["scheduling"]},
                          start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31), answer_threshold_s=20,
                          short_abandon_s=3, as_of=dt.datetime(2026, 11, 1, 12))
    assert got["numerator"].tolist() == want["numerator"].tolist()
    assert got["denominator"].tolist() == want["denominator"].tolist()


def test_kpi_spc_columns_per_group(cli, sample_store):
    r = cli("kpi", "initial_denial_rate", "--by", "vendor", "--spc", "--format", "csv")
    df = pd.read_csv(io.StringIO(r.output))
    assert list(df.columns)[-5:] == ["spc_mean", "spc_lpl", "spc_upl", "spc_point_type", "spc_to_date"]
    assert set(df["spc_point_type"].dropna()) <= {"common_cause", "improvement", "concern", "neutral"}
    helix = df[df["vendor"] == "Helix Health Services"].sort_values("period_start")
    # The sample's claims run to 26 Nov: November is drawn to date, outside the limits, with no point type.
    assert helix["spc_to_date"].tolist() == [False] * (len(helix) - 1) + [True]
    assert pd.isna(helix["spc_point_type"].iloc[-1])
    complete = helix[~helix["spc_to_date"]]
    chart = spc.xmr(complete["value"].tolist(), direction="lower")
    assert complete["spc_point_type"].tolist() == chart["point_type"].tolist()
    assert complete["spc_mean"].to_numpy() == pytest.approx(chart["mean"].to_numpy(dtype=float))
    assert complete["spc_point_type"].iloc[-1] == "concern"  # the drift is a signal, not noise
    assert (complete["spc_upl"] - chart["upl"].to_numpy()).abs().max() < 1e-12
    assert helix["spc_upl"].iloc[-1] == pytest.approx(chart["upl"].iloc[-1])  # drawn on to the running month


def _no_machine_words(lines):
    import re

    from opsdash import labels

    tokens = labels.machine_tokens()
    for line in lines:
        assert not (set(re.findall(r"[a-z0-9]+(?:_[a-z0-9]+)+", line)) & tokens), line
        assert not re.search(r"\bNone\b|\bnan\b|\d{4}-\d{2}-\d{2}", line), line


def test_kpi_table_is_for_people(cli, sample_store):
    out = cli("kpi", "clean_claim_rate", "--by", "vendor").output
    assert out.startswith("Clean claim rate (clean_claim_rate), by month and vendor")
    lines = out.splitlines()
    assert lines[1].split() == ["Period", "Vendor", "Numerator", "Denominator", "Value"]
    _no_machine_words(lines[1:])
    want = metrics.series(sample_store, "clean_claim_rate", by=["vendor"])
    oct_ = want[(want["vendor"] == "Meridian Revenue Partners") & (want["period_start"].astype(str) == "2026-10-01")].iloc[0]
    row = next(line for line in lines if line.startswith("Oct 2026 Meridian") or " Oct 2026 Meridian" in line)
    assert f"{int(oct_['numerator']):,}" in row and catalog.format_value(catalog.KPIS["clean_claim_rate"], oct_["value"]) in row
    # The sample's claims run to 26 Nov: November is marked as to date, and the note says what to compare it with.
    assert sum("Nov 2026 (to 26 Nov)" in line for line in lines) == 2  # one row per vendor
    assert lines[-1] == ("Nov 2026 is to date (data to 26 Nov 2026): compare it like for like with 1–26 Oct, "
                         "not the whole month. Latest complete month: Oct 2026.")
    whole = cli("kpi", "clean_claim_rate", "--to", "2026-10-31").output.splitlines()
    assert whole[-1] == "Latest complete month: Oct 2026." and not any("to date" in line for line in whole[:-1])


def test_kpis_and_reconcile_tables_are_for_people(cli, sample_store):
    kpis = CliRunner().invoke(main, ["kpis"]).output.splitlines()
    assert "Higher" in kpis[4] and "95.0%" in kpis[4]  # clean claim rate: higher is better, its target
    rec = cli("reconcile").output.splitlines()
    _no_machine_words(rec)
    want = sla.reconcile(sample_store).iloc[0]
    assert catalog.format_value(catalog.KPIS[want["kpi"]], want["measured"]) in rec[1]  # 79.2%, not 0.7923
    assert "Discrepancy" in rec[1]


@pytest.mark.parametrize("args, words", [
    (("kpi", "happiness"), "unknown KPI 'happiness'; expected one of claim_volume"),
    (("kpi", "clean_claim_rate", "--by", "queue"), "--by: unknown column 'queue' for clean_claim_rate; expected one of vendor"),
    (("kpi", "clean_claim_rate", "--where", "colour=red"), "--where: unknown column 'colour'"),
    (("kpi", "clean_claim_rate", "--where", "vendor=Nobody Ltd"), "no value 'Nobody Ltd' in the data; expected one of"),
    (("kpi", "clean_claim_rate", "--where", "vendor"), "expected COLUMN=VALUE"),
    (("kpi", "clean_claim_rate", "--from", "2026-05-01", "--to", "2026-01-01"), "starts (2026-05-01) after it ends"),
    (("scorecard", "--vendor", "Nobody", "--period", "2026-10"), "unknown vendor 'Nobody'; expected one of"),
    (("scorecard", "--vendor", "Helix Health Services", "--period", "Oct"), "expected a month (2026-10)"),
    (("reconcile", "--vendor", "Nobody"), "unknown vendor 'Nobody'"),
])
def test_errors_list_what_is_valid_and_exit_2(cli, args, words):
    r = cli(*args)
    assert r.exit_code == 2 and words in r.output, r.output


def test_scorecard_matches_the_engine(cli, sample_store):
    r = cli("scorecard", "--vendor", "ClearView Diagnostics Reading", "--period", "2026-07", "--format", "json")
    got = json.loads(r.output)
    card = sla.scorecard(sample_store, "ClearView Diagnostics Reading", "2026-07", settings=load())
    assert got["summary"]["credits_due"] == card.summary["credits_due"] > 0
    assert [lv["status"] for lv in got["levels"]] == card.levels["status"].tolist()
    table = cli("scorecard", "--vendor", "ClearView Diagnostics Reading", "--period", "2026-07").output
    assert "critical levels missed: 2" in table and "credits due: USD 3,080.00 of 28,000.00 at risk" in table
    week = cli("scorecard", "--vendor", "ClearView Diagnostics Reading", "--period", "2026-W29").output
    assert "service credits are monthly" in week


def test_reconcile_csv_puts_discrepancies_first(cli, sample_store):
    df = pd.read_csv(io.StringIO(cli("reconcile", "--format", "csv").output))
    want = sla.reconcile(sample_store)
    assert df["flag"].tolist() == want["flag"].tolist()
    assert df["flag"].iloc[0] == "discrepancy" and (df["flag"] == "discrepancy").sum() == 5
    only = pd.read_csv(io.StringIO(cli("reconcile", "--vendor", "Helix Health Services", "--format", "csv").output))
    assert set(only["vendor"]) == {"Helix Health Services"}


def test_the_scorecard_table_is_in_words_and_csv_and_json_keep_machine_names(cli, sample_store):
    """Review of the issue 12 merge: `opsdash scorecard` printed kpi ids, below_minimum, radiology_read,
    consecutive_missed and 2026-07. Its table now reads as the pack and the page do; CSV and JSON do not change."""
    vendor = "ClearView Diagnostics Reading"
    card = sla.scorecard(sample_store, vendor, "2026-07", settings=load())
    out = cli("scorecard", "--vendor", vendor, "--period", "2026-07").output
    lines = out.splitlines()
    assert lines[0] == f"{vendor}: Jul 2026 (1 Jul 2026 to 31 Jul 2026)"
    header = next(x for x in lines if x.strip().startswith("KPI "))
    assert header.split() == ["KPI", "Process", "Priority", "Level", "Target", "Minimum", "Value", "Status", "Months",
                              "missed", "in", "a", "row", "Credit", "(USD)"]
    rows = lines[lines.index(header) + 1:]
    assert len(rows) == len(card.levels)
    for line, lv in zip(rows, card.levels.itertuples()):
        kpi = catalog.KPIS[lv.kpi]
        for words in (kpi.label, labels.value_word(lv.status), labels.value_word(lv.level),
                      catalog.format_value(kpi, lv.value), catalog.format_value(kpi, lv.target)):
            assert words in line, (words, line)
        if isinstance(lv.process, str):
            assert labels.value_word(lv.process) in line
        assert (labels.money(lv.credit) if pd.notna(lv.credit) else labels.EMPTY) in line
    assert "2,240.00" in out and "Radiology read" in out and "Below minimum" in out
    assert not [t for t in labels.machine_tokens() if t in out] and "2026-07" not in out
    assert not {"met", "key", "critical", "stat", "routine", "label", "status"} & {w for x in rows for w in x.split()}
    week = cli("scorecard", "--vendor", vendor, "--period", "2026-W29").output
    assert week.splitlines()[0] == f"{vendor}: Week of 13 Jul 2026 (13 Jul 2026 to 19 Jul 2026)"
    assert "Weeks missed in a row" in week and "2026-W29" not in week
    # Scripts read machine names and numbers.
    csv_out = pd.read_csv(io.StringIO(cli("scorecard", "--vendor", vendor, "--period", "2026-07", "--format",
                                          "csv").output))
    assert list(csv_out["kpi"]) == list(card.levels["kpi"]) and list(csv_out["status"]) == list(card.levels["status"])
    assert "below_minimum" in set(csv_out["status"]) and "consecutive_missed" in csv_out
    assert csv_out["value"].tolist() == pytest.approx(card.levels["value"].astype(float).tolist())
    got = json.loads(cli("scorecard", "--vendor", vendor, "--period", "2026-07", "--format", "json").output)
    assert [lv["status"] for lv in got["levels"]] == card.levels["status"].tolist()
    assert "radiology_read" in {lv["process"] for lv in got["levels"]}


def test_a_scorecard_for_a_period_after_the_data_is_refused_naming_the_latest_period(cli, sample_store):
    vendor = "Helix Health Services"
    latest = max(sample_store.fetchone(f"SELECT max(CAST({c} AS TIMESTAMP)) FROM {t} WHERE vendor = ?", [vendor])[0]
                 for t, cols in catalog.EVENT_TIMES.items() for c in cols
                 if sample_store.fetchone(f"SELECT max({c}) FROM {t} WHERE vendor = ?", [vendor])[0] is not None)
    month, (year, week, _) = f"{latest:%Y-%m}", latest.isocalendar()
    r = cli("scorecard", "--vendor", vendor, "--period", "2027-01")
    assert r.exit_code == 2, r.output
    assert (f"no data yet for {vendor} in month 2027-01: its data ends on {latest:%d %b %Y}, so the latest month "
            f"with data is {month}") in r.output
    r = cli("scorecard", "--vendor", vendor, "--period", f"{year + 1}-W01")
    assert r.exit_code == 2 and f"the latest week with data is {year}-W{week:02d}" in r.output, r.output
    assert cli("scorecard", "--vendor", vendor, "--period", month).exit_code == 0  # the latest period itself is scored


@pytest.mark.parametrize("typed", ["Helix", "helix health services", "Helx Health Servises", "health"])
def test_an_unknown_vendor_is_refused_with_the_name_it_likely_means(cli, typed):
    r = cli("scorecard", "--vendor", typed, "--period", "2026-10")
    assert r.exit_code == 2 and f"unknown vendor {typed!r}; did you mean 'Helix Health Services'? Expected one of" \
        in r.output, r.output


def test_loads_table_is_for_people(cli):
    out = cli("loads").output.splitlines()
    assert out[0].split()[:4] == ["Load", "File", "Table", "Mapping"]
    _no_machine_words(out)
    assert any("Quality audits" in line for line in out[1:])


def test_kpi_spc_rebases_at_a_vendors_process_change_as_the_dashboard_does(cli, sample_store):
    """Meridian's go-live of 15 Dec 2025 is a process change (sample events): its XmR chart starts afresh in
    December 2025, in the CLI as on the dashboard; the other vendors' charts are not cut there."""
    import datetime as dt

    from opsdash import views

    vendor = "Meridian Revenue Partners"
    one = pd.read_csv(io.StringIO(cli("kpi", "clean_claim_rate", "--where", f"vendor={vendor}", "--spc",
                                      "--format", "csv").output), parse_dates=["period_start"])
    change = pd.Timestamp(2025, 12, 1)
    # November runs to date (claims to 26 Nov): drawn against the limits, not part of them.
    assert one["spc_to_date"].tolist() == [False] * (len(one) - 1) + [True]
    before = one[one["period_start"] < change]
    after = one[(one["period_start"] >= change) & ~one["spc_to_date"]]
    assert len(before) >= 2 and len(after) >= 2
    # each segment's mean is the plain mean of its own values (pandas), and they differ
    assert before["spc_mean"].unique() == pytest.approx([before["value"].mean()], rel=1e-12)
    assert after["spc_mean"].unique() == pytest.approx([after["value"].mean()], rel=1e-12)
    assert (one["spc_upl"].dropna() <= 1).all() and (one["spc_lpl"].dropna() >= 0).all()  # a rate stays a rate
    view = views.spc_view(sample_store, "clean_claim_rate", views.Filters(vendors=(vendor,), grain="month"))
    assert one["spc_mean"].to_numpy() == pytest.approx(view.chart["mean"].to_numpy(dtype=float), rel=1e-12)
    assert one["spc_point_type"].fillna("").tolist() == view.chart["point_type"].fillna("").tolist()
    by = pd.read_csv(io.StringIO(cli("kpi", "clean_claim_rate", "--by", "vendor", "--spc", "--format", "csv").output),
                     parse_dates=["period_start"])
    mer = by[by["vendor"] == vendor].sort_values("period_start")
    assert mer["spc_mean"].to_numpy() == pytest.approx(one["spc_mean"].to_numpy(), rel=1e-12)
    helix = by[by["vendor"] == "Helix Health Services"].sort_values("period_start")
    assert helix["spc_mean"].nunique() == 1 and helix["spc_mean"].iloc[0] == pytest.approx(helix[~helix["spc_to_date"]]["value"].mean())
