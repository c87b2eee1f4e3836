"""Events entered or removed by an administrator on the dashboard's Events page.

An added event is written as a one-row CSV of the events table and loaded like any export (the contract's
validation, PHI screening and lineage apply; the load names who entered it), so the page has no write path of
its own. A removal deletes one event by its key with bound parameters, in one transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from opsdash import contract
from opsdash.store import Store


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


def remove(store: Store, vendor: str, event_date: dt.date, kpi: str | None, process: str | None) -> int:
    """Delete the event with this key (empty KPI or process matching empty); the number of rows removed."""
    cond = ("vendor = ? AND event_date = ? AND kpi IS NOT DISTINCT FROM ? AND process IS NOT DISTINCT FROM ?")
    params = [vendor, event_date, kpi or None, process or None]
    with store.transaction() as tx:
        n = tx.fetchone(f"SELECT count(*) FROM events WHERE {cond}", params)
        tx.execute(f"DELETE FROM events WHERE {cond}", params)
    return int(n[0]) if n else 0
