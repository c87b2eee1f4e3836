"""SLA adherence on the real ServiceNow incident log equals ServiceNow's own made_sla share.

Data: Amaral, C.; Fantinato, M.; Peres, S. (2018), UCI Machine Learning Repository, DOI 10.24432/C57S4H,
CC BY 4.0, read from ../shared/realdata.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from opsdash import metrics
from opsdash.ingest.loader import load_file
from opsdash.store import Store
from tests.conftest import ROOT, realdata

pytestmark = pytest.mark.slow


def test_sla_adherence_by_month_and_priority_is_the_made_sla_share_of_resolved_incidents(tmp_path):
    path = realdata("servicenow_incident_eventlog", "incident_event_log_full_headerfixed.csv.gz")
    with Store(tmp_path / "sn.duckdb") as s:
        load_file(s, path, mapping=ROOT / "mappings" / "servicenow_incidents.toml")
        got = metrics.series(s, "sla_adherence", grain="month", by=["priority"])

    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw["line"] = range(len(raw))
    raw["updated"] = pd.to_datetime(raw["sys_updated_at"], format="%d/%m/%Y %H:%M")
    last = raw.sort_values(["updated", "line"], kind="stable").groupby("number").tail(1)
    resolved = last[last["resolved_at"] != "?"].copy()
    resolved["month"] = pd.to_datetime(resolved["resolved_at"], format="%d/%m/%Y %H:%M").dt.to_period("M").dt.start_time.dt.date
    resolved["priority"] = resolved["priority"].map({"1": "critical", "2": "high", "3": "moderate", "4": "low"})
    want = resolved.groupby(["month", "priority"]).agg(met=("made_sla", lambda s: (s == "true").sum()),
                                                       n=("made_sla", "size")).reset_index()
    have = got.dropna(subset=["value"]).merge(want, left_on=["period_start", "priority"], right_on=["month", "priority"],
                                               how="outer", indicator=True)
    assert (have["_merge"] == "both").all(), have[have["_merge"] != "both"]
    assert (have["numerator"] == have["met"]).all() and (have["denominator"] == have["n"]).all()
    assert np.allclose(have["value"], have["met"] / have["n"])
    assert len(have) > 20
