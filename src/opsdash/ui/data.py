"""Cached, read-only access to the store for pages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from opsdash.store import Store, StoreError, default_db_path


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    return Store(path, read_only=True)


def store() -> Store | None:
    """The shared read-only store, or None (with a message on the page) when there is none yet."""
    path = default_db_path()
    try:
        return _store(str(path))
    except StoreError as exc:
        st.info(f"{exc}")
        return None


@st.cache_data(show_spinner=False, ttl=60)
def load_history(path: str) -> pd.DataFrame:
    return _store(path).query(
        "SELECT load_id AS \"Load\", file_name AS \"File\", table_name AS \"Table\", mapping_name AS \"Mapping\", "
        "rows_read AS \"Rows read\", rows_loaded AS \"Loaded\", rows_rejected AS \"Rejected\", "
        "rows_replaced AS \"Replaced\", array_to_string(phi_columns_dropped, ', ') AS \"PHI columns dropped\", "
        "finished_at AS \"Loaded at\" FROM loads ORDER BY load_id DESC")


@st.cache_data(show_spinner=False, ttl=60)
def rejected_rows(path: str) -> pd.DataFrame:
    return _store(path).query(
        "SELECT load_id AS \"Load\", file_name AS \"File\", line AS \"Line\", column_name AS \"Column\", "
        "kind AS \"Kind\", reason AS \"Reason\" FROM rejects ORDER BY load_id, line")


@st.cache_data(show_spinner=False, ttl=60)
def row_counts(path: str) -> dict[str, int]:
    return _store(path).table_counts()
