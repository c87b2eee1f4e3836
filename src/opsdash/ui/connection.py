"""The dashboard's connection to its store: the file, one read-only pool per process, and the audit record.

The bottom of ``ui/``: ``auth`` and ``data`` both build on it and it builds on neither.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from opsdash import audit, lifecycle
from opsdash.store import ALL, ReadPool, Scope, Store, StoreError, default_db_path


@dataclass(frozen=True)
class Source:
    """A store file as one user may read it: the first argument of every cached query, so the scope is in
    every cache key."""

    path: str
    scope: Scope = ALL


@st.cache_resource(show_spinner=False)
def _pool(path: str) -> ReadPool:
    return ReadPool(Path(path), prepare=lifecycle.prepare)


def _store(src: Source) -> Store:
    return Store.shared(_pool(src.path), src.scope)


def path() -> str:
    return str(default_db_path())


_flushing = threading.Lock()


def record(event: audit.Event) -> None:
    """Keep an audit event, and move kept events into the store unless it is busy (then a later write does)."""
    p = Path(path())
    audit.record(p, event)
    if not p.exists() or not _flushing.acquire(blocking=False):
        return
    try:
        with _pool(str(p)).writer():  # opening for writing moves the spool into the audit table
            pass
    except StoreError:
        pass  # another process holds the store; its next writer (or ours) moves the events
    finally:
        _flushing.release()


