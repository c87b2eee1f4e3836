"""Events entered or removed by an administrator on the dashboard's Events page, and the process or queue codes
an event may name (offered on the page; an events file's words for one are read as its code).

An added event is written as a one-row CSV of the events table and loaded like any export (the contract's
validation, PHI screening and lineage apply; the load names who entered it), so the page has no write path of
its own. A removal deletes one event by its key (EventKey, the contract's) with bound parameters, in one
transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from opsdash import catalog, contract, labels, queries
from opsdash.store import Store

#: A store's or a transaction's ``fetchall(sql, params)``.
Fetch = queries.Fetch


class EventKey(NamedTuple):
    """What tells one event from another: the events table's key in the contract (empty KPI or process is None)."""

    vendor: str
    event_date: dt.date
    kpi: str | None
    process: str | None
    description: str

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> EventKey:
        """The key of an event as read from the store (a frame's NaN or "" is no value)."""
        def value(v: Any) -> Any:
            return None if v is None or v == "" or (isinstance(v, float) and v != v) else v

        return cls(*(value(row.get(k)) for k in cls._fields))


def entry_csv(vendor: str, event_date: dt.date, kpi: str | None, process: str | None, description: str,
              is_process_change: bool, entered_at: dt.datetime | None = None) -> bytes:
    """The event as a CSV file with the contract's headers. Its source says it was entered on the dashboard
    and when, so two entries of the same event are two files (a removed event can be entered again)."""
    entered_at = entered_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(contract.TABLES["events"].column_names)
    w.writerow([vendor, event_date.isoformat(), kpi or "", process or "", description,
                "true" if is_process_change else "false",
                f"entered on the dashboard {entered_at:%Y-%m-%d %H:%M:%S} UTC"])
    return buf.getvalue().encode("utf-8")


def write_entry(folder: Path, data: bytes, when: dt.datetime | None = None) -> Path:
    """The entry's file in `folder`, named by the time it was entered."""
    when = when or dt.datetime.now(dt.UTC)
    path = Path(folder) / f"event-entered-{when:%Y%m%d-%H%M%S-%f}.csv"
    path.write_bytes(data)
    return path


def remove(store: Store, key: EventKey) -> int:
    """Delete the one event with this key (an empty KPI or process matching empty); the number of rows removed.
    Another event of the same vendor on the same day stays."""
    return queries.remove_event(store, {k: getattr(key, k) for k in contract.TABLES["events"].key})


def process_codes(fetchall: Fetch, kpi: str | None, registry: bool = False) -> list[str] | None:
    """The process and queue codes stored in the records of `kpi` (of every table that has processes or queues
    when None), with the labels registry's when `registry`, sorted. None when the KPI's records have no process
    or queue: an event of it naming one concerns no chart (views.events_for)."""
    tables = [catalog.get(kpi).table] if kpi else list(catalog.PROCESS_COLUMN)
    columns = [(t, catalog.PROCESS_COLUMN[t]) for t in tables if t in catalog.PROCESS_COLUMN]
    if not columns:
        return None
    codes = set(queries.distinct_values(fetchall, columns)) | (set(labels.PROCESSES) if registry else set())
    return sorted(codes)


def code_for(value: str, codes: Sequence[str]) -> str | None:
    """The code `value` names among `codes`: itself, else the one code whose code or words (as the dashboard
    shows them) it is in any case; None when it names none, or several alike."""
    if value in codes:
        return value
    want = value.strip().casefold()
    hits = {c for c in codes if want in (c.casefold(), labels.value_word(c).casefold())}
    return hits.pop() if len(hits) == 1 else None
