"""Real exports written elsewhere, through mapping files.

ServiceNow incident event log: Amaral, C.; Fantinato, M.; Peres, S. (2018), "Incident management process
enriched event log", UCI Machine Learning Repository, DOI 10.24432/C57S4H, CC BY 4.0. Read from
../shared/realdata, never copied into the project.
"""

from __future__ import annotations

import pandas as pd
import pytest

from opsdash.ingest.loader import load_file
from tests.conftest import ROOT, realdata

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def servicenow(tmp_path_factory):
    from opsdash.store import Store

    path = realdata("servicenow_incident_eventlog", "incident_event_log_full_headerfixed.csv.gz")
    s = Store(tmp_path_factory.mktemp("sn") / "sn.duckdb")
    report = load_file(s, path, mapping=ROOT / "mappings" / "servicenow_incidents.toml")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    yield s, report, raw
    s.close()


def test_every_row_is_accounted_for(servicenow):
    s, rep, raw = servicenow
    assert rep.status == "loaded", rep.message
    assert rep.rows_read == len(raw) == 141_712
    assert rep.rows_read == rep.rows_loaded + rep.rows_rejected + rep.rows_skipped
    assert s.fetchone("SELECT count(*) FROM rejects")[0] == rep.rows_rejected


def test_one_item_per_incident_holding_its_last_state(servicenow):
    s, rep, raw = servicenow
    raw = raw.assign(line=range(2, len(raw) + 2),
                     updated=pd.to_datetime(raw["sys_updated_at"], format="%d/%m/%Y %H:%M"))
    last = raw.sort_values(["updated", "line"], kind="stable").groupby("number").tail(1).set_index("number")
    stored = s.query("SELECT item_id, process, priority, CAST(completed_at AS VARCHAR) AS completed, sla_met, _line "
                     "FROM work_items").set_index("item_id")
    assert len(stored) == raw["number"].nunique() == 24_918
    last = last.loc[stored.index]
    assert (stored["_line"] == last["line"]).all()
    assert (stored["sla_met"] == (last["made_sla"] == "true")).all()
    want_completed = pd.to_datetime(last["resolved_at"].replace("?", None), format="%d/%m/%Y %H:%M")
    got_completed = pd.to_datetime(stored["completed"])
    assert ((got_completed == want_completed) | (got_completed.isna() & want_completed.isna())).all()
    want_process = last["category"].replace("?", "uncategorised")
    assert (stored["process"] == want_process).all()
    assert stored["priority"].map({"critical": "1", "high": "2", "moderate": "3", "low": "4"}).eq(last["priority"]).all()


def test_made_sla_share_matches_the_source_description(servicenow):
    s, _rep, _raw = servicenow
    share = s.fetchone("SELECT avg(CAST(sla_met AS INTEGER)) FROM work_items")[0]
    assert round(share, 3) == 0.634  # SOURCE.txt: made_sla TRUE 63.4% (last event per incident)
