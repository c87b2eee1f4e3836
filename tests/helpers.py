"""Small helpers for building input files in tests."""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from pathlib import Path

from opsdash.ingest.loader import load_file
from opsdash.store import Store

BASE_ROWS: dict[str, dict[str, Any]] = {
    "claims": {"claim_id": "C1", "vendor": "Acme", "received_date": "2026-01-05", "submitted_date": "2026-01-07",
               "adjudicated_date": "2026-01-20", "initial_outcome": "paid", "billed_amount": "100", "paid_amount": "80"},
    "qa_audits": {"audit_id": "A1", "vendor": "Acme", "process": "coding", "audit_date": "2026-01-05",
                  "opportunities": "10", "errors": "2", "critical_errors": "1"},
    "work_items": {"item_id": "W1", "vendor": "Acme", "process": "coding", "opened_at": "2026-01-05 08:00",
                   "due_at": "2026-01-06 08:00", "completed_at": "2026-01-05 17:00"},
    "calls": {"call_id": "K1", "vendor": "Acme", "queue": "scheduling", "offered_at": "2026-01-05 09:00:00",
              "answered_at": "2026-01-05 09:00:20", "handle_seconds": "240"},
    "sla_targets": {"vendor": "*", "kpi": "clean_claim_rate", "target": "0.95", "level": "critical",
                    "credit_pct": "0.05", "effective_from": "2026-01-01", "effective_to": "2026-12-31"},
    "reported_kpis": {"vendor": "Acme", "kpi": "clean_claim_rate", "period_start": "2026-01-01",
                      "period_end": "2026-01-31", "value": "0.96"},
    "events": {"vendor": "Acme", "event_date": "2026-01-12", "description": "New coding tool went live",
               "is_process_change": "true"},
    "staffing": {"vendor": "Acme", "process": "scheduling", "interval_start": "2026-01-05 09:00",
                 "interval_minutes": "30", "scheduled_staff": "12", "shrinkage": "0.3"},
}


def csv_text(rows: list[dict[str, Any]], delimiter: str = ",", columns: list[str] | None = None) -> str:
    cols = columns or list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, delimiter=delimiter, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    return buf.getvalue()


def row(table: str, **changes: Any) -> dict[str, Any]:
    r = dict(BASE_ROWS[table])
    r.update(changes)
    return r


def rejects(store: Store, load_id: int | None = None) -> list[tuple]:
    sql = "SELECT line, column_name, kind, reason FROM rejects"
    if load_id is not None:
        return store.fetchall(sql + " WHERE load_id = ? ORDER BY line", [load_id])
    return store.fetchall(sql + " ORDER BY load_id, line")


def table_csv(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    """CSV text from column names and row tuples."""
    return csv_text([dict(zip(columns, map(str, r))) for r in rows], columns=list(columns))


def load_clean(store: Store, folder: Path, files: dict[str, str]) -> None:
    """Write each text as a file in folder and load it; every file must load with no row rejected."""
    for name, text in files.items():
        (folder / name).write_text(text)
        rep = load_file(store, folder / name)
        assert rep.status == "loaded" and rep.rows_rejected == 0, rep.message


def loaded_since_kept(kept_from: Path, to: Path) -> Path:
    """A copy of a store with one more load recorded: what was kept for the store (outlooks, denial models) is no
    longer for the store as it stands."""
    shutil.copy(kept_from, to)
    with Store(to) as s, s.transaction() as tx:
        tx.execute("INSERT INTO loads (load_id, file_name, table_name, rows_read, rows_loaded, rows_rejected, "
                   "started_at, finished_at) VALUES (9999, 'x.csv', 'claims', 0, 0, 0, "
                   "TIMESTAMP '2026-12-01 00:00:00', TIMESTAMP '2026-12-01 00:00:01')")
    return to


@contextlib.contextmanager
def held(db: Path, read_only: bool = False, release_after: float | None = None) -> Iterator[None]:
    """Another process holds the store file (as `opsdash ingest` or a dashboard would) for the block, or until
    `release_after` seconds have passed."""
    release = f"time.sleep({release_after}); s.close(); " if release_after is not None else ""
    holder = subprocess.Popen([sys.executable, "-c", f"from opsdash.store import Store; import time; "
                               f"s = Store({str(db)!r}, read_only={read_only}); print('open', flush=True); "
                               f"{release}time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        yield
    finally:
        holder.kill()
        holder.wait()


def overview_tiles(at: Any) -> dict[str, dict[str, str | None]]:
    """The Overview's tiles as an AppTest run rendered them: per KPI id, the status (its data attribute), the
    value as written and the tile's visible text (tags stripped)."""
    import html
    import re

    out: dict[str, dict[str, str | None]] = {}
    for m in [*at.markdown, *at.get("html")]:  # the tiles are one st.html element
        for chunk in m.value.split('<div class="opsdash-tile" ')[1:]:
            kpi_id = re.match(r'data-kpi="([^"]+)"', chunk)[1]  # type: ignore[index]
            body = chunk.split(">", 1)[1]
            text = html.unescape(re.sub(r"<[^>]+>", " ", body))
            value = re.search(r'class="opsdash-tile-value">([^<]*)<', body)
            out[kpi_id] = {"status": re.search(r'data-status="([^"]+)"', body)[1],  # type: ignore[index]
                           "value": html.unescape(value[1]) if value else None, "text": " ".join(text.split())}
    return out


def plotted(at: Any, index: int = 0) -> list[dict[str, Any]]:
    """The traces of the `index`-th Plotly chart an AppTest run drew, as drawn: name, x and y as plain lists
    (Plotly's typed arrays, {'dtype', 'bdata'}, decoded)."""
    import base64
    import json

    import numpy as np

    def values(v: Any) -> Any:
        if isinstance(v, dict) and "bdata" in v:
            return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
        return v

    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return [{"name": t.get("name"), "x": values(t.get("x")), "y": values(t.get("y")),
             "customdata": values(t.get("customdata"))} for t in spec["data"]]
