"""Words for people: every contract column, code and KPI has a label; frames read without machine names."""

import datetime as dt
import re

import pandas as pd

from opsdash import catalog, contract, labels

SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")


def test_every_contract_column_has_a_human_label() -> None:
    for table in contract.TABLES.values():
        for col in table.columns:
            lab = labels.column(col.name)
            assert not SNAKE.search(lab.label), (table.name, col.name, lab.label)
            assert lab.kind in labels.KINDS


def test_codes_read_as_words() -> None:
    assert labels.value_word("below_minimum") == "Below minimum"
    assert labels.value_word("prior_auth") == "Prior authorisation"
    assert labels.value_word("clean_claim_rate") == catalog.KPIS["clean_claim_rate"].label
    assert labels.value_word("some_new_code") == "Some new code"  # a vendor's code never shows its underscores
    assert labels.value_word(None) == labels.EMPTY
    assert labels.value_word("Helix Health Services") == "Helix Health Services"


def test_a_frame_as_people_read_it() -> None:
    df = pd.DataFrame({"kpi": ["clean_claim_rate", "claim_turnaround_days", "unbilled_backlog"],
                       "period_start": [dt.date(2026, 11, 1)] * 3, "value": [0.7923, 3.25, 47064.0],
                       "status": ["met", "below_minimum", None], "consecutive_missed": [0, 2, None],
                       "credit_pct": [None, 0.04, None]})
    out = labels.frame(df)
    assert list(out.columns) == ["KPI", "Period", "Value", "Status", "Periods missed in a row",
                                 "Credit (% of amount at risk)"]
    assert out["Value"].tolist() == ["79.2%", "3.2 days", "47,064"]
    assert out["Period"].tolist() == ["Nov 2026"] * 3
    assert out["Status"].tolist() == ["Met", "Below minimum", labels.EMPTY]
    assert out["Credit (% of amount at risk)"].tolist() == [labels.EMPTY, "4.0%", labels.EMPTY]
    text = out.to_string()
    assert "None" not in text and "nan" not in text.lower() and not SNAKE.search(text)
    weekly = labels.frame(df.head(1), grain="week")
    assert weekly["Period"].iloc[0] == "Week of 1 Nov 2026"


def test_machine_tokens_come_from_the_declarations() -> None:
    tokens = labels.machine_tokens()
    assert {"claim_id", "below_minimum", "partially_paid", "clean_claim_rate", "period_start"} <= tokens
    assert all("_" in t for t in tokens)


def test_a_frame_of_one_kpi_marks_the_period_the_data_does_not_cover_whole() -> None:
    df = pd.DataFrame({"period_start": [dt.date(2026, 10, 1), dt.date(2026, 11, 1)], "numerator": [1090, 1043],
                       "value": [0.9646, 0.9693]})
    out = labels.frame(df, kpi_col=None, kpi="clean_claim_rate", as_of=dt.date(2026, 11, 26))
    assert out["Period"].tolist() == ["Oct 2026", "Nov 2026 (to 26 Nov)"]
    assert out["Value"].tolist() == ["96.5%", "96.9%"] and out["Numerator"].tolist() == ["1,090", "1,043"]
    assert labels.frame(df, kpi_col=None, kpi="clean_claim_rate")["Period"].tolist() == ["Oct 2026", "Nov 2026"]


def test_differences_are_signed_in_points_for_rates() -> None:
    df = pd.DataFrame({"kpi": ["sla_adherence", "claim_turnaround_days"], "difference": [0.17, -1.25]})
    assert labels.frame(df)["Difference"].tolist() == ["+17.0 pts", "-1.2 days"]


def test_prose_writes_machine_names_as_words() -> None:
    text = labels.prose(catalog.KPIS["claim_turnaround_days"].description)
    assert "received date" in text and "submitted date" in text and not SNAKE.search(text)
    assert labels.prose("judged by sla_adherence, placed by due_at") == "judged by sla adherence, placed by due"
    assert labels.prose("claim_id and prior_auth") == "claim ID and prior authorisation"


def test_downloads_keep_machine_names_and_numbers_with_the_unit_in_the_header() -> None:
    one = pd.DataFrame({"kpi": ["clean_claim_rate"] * 2, "period_start": [dt.date(2026, 10, 1)] * 2,
                        "value": [0.7923, 0.81], "reject_rate": [0.01, 0.02]})
    out = labels.download_frame(one)
    assert list(out.columns) == ["kpi", "period_start", "value_fraction", "reject_rate_fraction"]
    assert out["value_fraction"].tolist() == [0.7923, 0.81]  # numbers, as fractions: the header says so
    assert list(labels.download_frame(one.drop(columns="kpi"), unit="days").columns)[1] == "value_days"
    mixed = pd.DataFrame({"kpi": ["clean_claim_rate", "claim_turnaround_days"], "value": [0.95, 3.0]})
    out = labels.download_frame(mixed)
    assert list(out.columns) == ["kpi", "unit", "value"] and out["unit"].tolist() == ["fraction", "days"]


# -- the SPC readings: one wording, in labels.py only (review of the issue 12 merge) -------------------------

READINGS = ("improvement", "concern", "neutral", "common_cause", "too_coarse", "consistently_pass",
            "consistently_fail", "hit_and_miss")


def test_the_spc_readings_are_worded_in_labels_py_only() -> None:
    """The variation and assurance words existed three times with three wordings (ui/widgets.py, icons.py,
    labels.py): no module or page but labels.py may word a reading again, by a map of readings to words or by
    repeating a phrase of the registry."""
    from tests.conftest import ROOT

    phrases = {w.lower() for w in (*labels.VARIATION_WORDS.values(), *labels.ASSURANCE_WORDS.values())}
    a_map = re.compile(r'"(?:%s)"\s*:\s*"[^"#]* [^"]*"' % "|".join(READINGS))  # "concern": "some words"
    registry = ROOT / "src" / "opsdash" / "labels.py"
    files = [p for p in [*(ROOT / "src").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
             if p != registry]
    assert len(files) > 30
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not a_map.search(text), (path.name, a_map.search(text)[0])
        assert not [p for p in phrases if p in text.lower()], (path.name, [p for p in phrases if p in text.lower()])
    assert set(labels.VARIATION_WORDS) | set(labels.ASSURANCE_WORDS) == set(READINGS)
    assert all(labels.value_word(r) in (labels.VARIATION_WORDS.get(r), labels.ASSURANCE_WORDS.get(r)) for r in READINGS)


def test_a_reading_reads_the_same_on_tile_icons_chart_pack_and_cli(sample_store) -> None:
    """Helix's initial denial rate is a special cause of concern in Oct 2026 whose process will hit and miss
    its target: every place a person reads that says it in the registry's words."""
    import html

    from click.testing import CliRunner

    from opsdash import charts, icons, report, views
    from opsdash.cli import main
    from opsdash.settings import load
    from opsdash.ui import widgets
    from tests.conftest import ROOT

    vendor, kpi_id = "Helix Health Services", "initial_denial_rate"
    f = views.Filters(None, dt.date(2026, 10, 31), "month", (vendor,))
    t = views.tile(sample_store, kpi_id, f)
    assert (t.variation, t.assurance, t.side) == ("concern", "hit_and_miss", "higher")
    variation, assurance = labels.VARIATION_WORDS["concern"], labels.ASSURANCE_WORDS["hit_and_miss"]
    with_side = f"{variation} (values higher)"
    assert labels.variation_words("concern", "higher") == with_side
    # the tile's line and its icons' titles
    tile = html.unescape(widgets.tile_html(t, "month"))
    assert f"SPC: {with_side}; {assurance[:1].lower()}{assurance[1:]}" in tile
    assert f"<title>{with_side}</title>" in tile and f"<title>{assurance}</title>" in tile
    # the icons' legend and the chart's legend
    legend = [w for _, w in icons.legend()]
    assert f"{variation}, values higher (H)" in legend and assurance in legend
    view = views.spc_view(sample_store, kpi_id, f)
    assert variation in {tr.name for tr in charts.spc(view.chart, view.series["period_start"], view.kpi).data}
    # the pack's headline table
    pk = report.build(sample_store, vendor, "2026-10", settings=load(ROOT / "opsdash.toml"))
    row = pk.tables["headline"].shown.set_index("KPI").loc[catalog.KPIS[kpi_id].label]
    assert (row["Variation"], row["Assurance"]) == (variation, assurance)
    assert row["In words"].startswith(f"{variation} (")
    # the command line's table
    out = CliRunner().invoke(main, ["kpi", kpi_id, "--where", f"vendor={vendor}", "--to", "2026-10-31", "--spc",
                                    "--db", str(sample_store.path)]).output
    last = [x for x in out.splitlines() if x.strip().startswith("Oct 2026")]
    assert len(last) == 1 and last[0].rstrip().endswith(variation), out


def test_a_name_ending_in_s_takes_a_bare_apostrophe() -> None:
    assert labels.possessive("Helix Health Services") == "Helix Health Services'"
    assert labels.possessive("Northwind") == "Northwind's"
    assert labels.possessive("Meridian Revenue Partners") == "Meridian Revenue Partners'"
