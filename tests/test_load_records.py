"""What a load records about itself, and the values it accepts: when it finished, the contract's date range,
time zones, and invisible characters in keys and names."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from opsdash.ingest import loader
from tests.helpers import csv_text, rejects, row


def test_finished_at_is_when_the_commit_was_done(write, load, store, monkeypatch, tmp_path):
    """DuckDB's now() is the transaction's start: a load that spends time before committing must not look short."""
    monkeypatch.setenv(loader.FAULT_STAGE_ENV, "committing")
    monkeypatch.setenv(loader.FAULT_FILE_ENV, str(tmp_path / "stage"))
    monkeypatch.setenv(loader.FAULT_SECONDS_ENV, "1.5")
    before = time.time()
    rep = load(write("c.csv", csv_text([row("claims")])))
    after = time.time()
    assert rep.status == "loaded" and rep.seconds >= 1.5
    started, finished = store.fetchone("SELECT epoch(started_at), epoch(finished_at) FROM loads")
    offset = store.fetchone("SELECT epoch(now()::TIMESTAMP) - epoch(now())")[0]  # the session's zone, as stored
    assert finished - started >= 1.5
    assert before - 1 <= started - offset <= finished - offset <= after + 1


def test_the_date_range_is_the_settings_files_when_it_has_one(write, load, store, tmp_path, monkeypatch):
    conf = tmp_path / "opsdash.toml"
    conf.write_text("[ingest]\nearliest_date = 2020-01-01\nlatest_date = \"2026-06-30\"\n")
    monkeypatch.setenv("OPSDASH_SETTINGS", str(conf))
    rows = [row("claims", claim_id=f"C{i}", received_date=d, submitted_date="", adjudicated_date="",
                initial_outcome="") for i, d in enumerate(["2019-12-31", "2020-01-01", "2026-06-30", "2026-07-01"])]
    rep = load(write("c.csv", csv_text(rows)))
    assert (rep.rows_loaded, rep.rows_rejected) == (2, 2)
    reasons = [r[3] for r in rejects(store, rep.load_id)]
    assert all("expected a date from 2020-01-01 to 2026-06-30" in r for r in reasons), reasons
    # An explicit range wins over the file's.
    rep = load(write("d.csv", csv_text(rows).replace("C", "D")), date_range=(dt.date(2019, 1, 1), dt.date(2027, 1, 1)))
    assert (rep.rows_loaded, rep.rows_rejected) == (4, 0)


@pytest.mark.parametrize("ingest, words", [
    ("earliest_date = 2030-01-01\nlatest_date = 2020-01-01", "earliest_date 2030-01-01 is after latest_date 2020-01-01"),
    ("latest_date = \"31/12/2030\"", "[ingest] latest_date = '31/12/2030'; expected a date YYYY-MM-DD"),
    ("earliest = 2000-01-01", "unknown key(s) earliest in [ingest]"),
    ("earliest_date = 1850-01-01", "may narrow the contract's date range (1900-01-01 to 2100-12-31), not widen it"),
])
def test_a_bad_date_range_refuses_the_file_and_says_why(write, load, store, tmp_path, monkeypatch, ingest, words):
    conf = tmp_path / "bad.toml"
    conf.write_text(f"[ingest]\n{ingest}\n")
    monkeypatch.setenv("OPSDASH_SETTINGS", str(conf))
    rep = load(write("c.csv", csv_text([row("claims")])))
    assert rep.status == "refused" and words in rep.message and rep.message.startswith("c.csv: ")
    assert store.table_counts()["claims"] == 0


def test_timestamps_at_the_ends_of_the_range(write, load, store):
    rows = [row("work_items", item_id=f"W{i}", opened_at=t, due_at="", completed_at="")
            for i, t in enumerate(["1899-12-31 23:59:59", "1900-01-01 00:00:00", "2100-12-31 23:59:59",
                                   "2101-01-01 00:00:00", "2100-12-31T23:30:00-01:00"])]
    rep = load(write("w.csv", csv_text(rows)))
    assert sorted(r[0] for r in rejects(store, rep.load_id)) == [2, 5, 6]  # 2100-12-31 23:30 -01:00 is 2101 UTC
    assert store.fetchall("SELECT item_id FROM work_items ORDER BY 1") == [("W1",), ("W2",)]
