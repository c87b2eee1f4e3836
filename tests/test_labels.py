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
