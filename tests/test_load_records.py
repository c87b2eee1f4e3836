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
