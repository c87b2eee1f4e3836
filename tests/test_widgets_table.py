"""The shared table path (ui/widgets.py `table(..., labels=True)`): what st.dataframe is given has no null
(it would draw "None"), full columns stay numbers and dates so they sort, and the downloads keep machine names,
numbers and empty cells empty."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from opsdash import labels
from opsdash.ui import widgets


@pytest.fixture
def drawn(monkeypatch):
    """What `widgets.table` hands st.dataframe and the download buttons."""
    got: dict = {}
    monkeypatch.setattr(widgets.st, "dataframe", lambda df, **kw: got.update(shown=df, kw=kw))
    monkeypatch.setattr(widgets, "download_buttons", lambda df, *a, **kw: got.update(download=df() if callable(df) else df))
    return got


FRAME = pd.DataFrame({
    "kpi": ["clean_claim_rate", None, "denial_rate"],
    "process": ["prior_auth", None, "coding"],
    "credit_pct": [0.05, None, 0.1],           # percent with a gap
    "at_risk": [1000.0, 2000.0, 3000.0],       # money, full
    "consecutive_missed": [1, None, 3],        # count with a gap
    "event_date": [dt.date(2026, 1, 5), None, dt.date(2026, 2, 1)],
    "opened_at": pd.to_datetime(["2026-01-05 10:00", "2026-01-06 11:00", "2026-01-07 12:00"]),
    "stale": [True, None, False],
    "vendor": ["A", None, "C"],
})


def test_no_cell_given_to_the_grid_is_empty_and_full_columns_stay_numbers(drawn):
    widgets.table(FRAME, "t", {}, "T", key="t", labels=True)
    shown, cfg = drawn["shown"], drawn["kw"]["column_config"]
    assert not shown.isna().any().any(), shown.isna().sum()
    assert shown["kpi"].tolist() == ["Clean claim rate", "Every KPI", "Denial rate"]
    assert shown["process"].tolist() == ["Prior authorisation", "Every process", "Coding"]
    assert shown["credit_pct"].tolist() == ["5.0%", labels.EMPTY, "10.0%"]
    assert shown["consecutive_missed"].tolist() == ["1", labels.EMPTY, "3"]
    assert shown["event_date"].tolist() == ["5 Jan 2026", labels.EMPTY, "1 Feb 2026"]
    assert shown["stale"].tolist() == ["Yes", labels.EMPTY, "No"]
    assert shown["vendor"].tolist() == ["A", labels.EMPTY, "C"]
    # full columns keep their type (they sort as numbers and dates), with the format in the config
    assert shown["at_risk"].dtype == float and cfg["at_risk"]["type_config"]["format"] == "%,.2f"
    assert pd.api.types.is_datetime64_any_dtype(shown["opened_at"])
    assert cfg["credit_pct"]["label"] == "Credit (% of amount at risk)"


def test_downloads_keep_machine_names_numbers_and_empty_cells(drawn):
    widgets.table(FRAME, "t", {}, "T", key="t", labels=True, headers={"at_risk": "Amount at risk (EUR)"})
    down = drawn["download"]
    assert down["kpi"].tolist()[0] == "clean_claim_rate" and pd.isna(down["kpi"].iloc[1])
    assert down["credit_pct_fraction"].iloc[0] == 0.05 and pd.isna(down["credit_pct_fraction"].iloc[1])
    assert pd.isna(down["consecutive_missed"].iloc[1])
    assert drawn["kw"]["column_config"]["at_risk"]["label"] == "Amount at risk (EUR)"
    assert drawn["kw"]["column_config"]["at_risk"]["type_config"]["format"] == "%,.2f"


def test_a_rejects_reason_reads_in_words():
    assert labels.cell("submitted_date: found 2025-03-30, expected on or after received_date", "prose") == (
        "Submitted date: found 2025-03-30, expected on or after received date")
