"""Opening a store for writing, above the gateway: the store makes its tables (store.py), and this module brings
what builds on them up to date — the KPI roll-ups (rollups.py) and the audit events kept while another process
held the file (audit.py). ``store.py`` imports neither, so the gateway stays at the bottom of the house."""

from __future__ import annotations

import os
from typing import Any

from opsdash import audit, rollups
from opsdash.store import Store


def prepare(store: Store) -> Store:
    """Bring a store opened for writing up to date: roll-ups made by these declarations, audit spool moved in."""
    if not store.read_only:
        with store.transaction() as tx:
            rollups.ensure(tx)
        audit.flush(store)
    return store


def open_store(path: str | os.PathLike[str] | None = None, **kw: Any) -> Store:
    """A store as every writer should open it (``Store`` arguments); a read-only one is opened as it is."""
    store = Store(path, **kw)
    try:
        return prepare(store)
    except BaseException:
        store.close()  # never keep the file's lock on a store the caller never got
        raise
