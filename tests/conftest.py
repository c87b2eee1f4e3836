"""Shared fixtures."""

import pytest


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSDASH_DB", raising=False)
    monkeypatch.delenv("OPSDASH_TIMEZONE", raising=False)
