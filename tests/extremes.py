"""A store holding the extreme dates and times DuckDB can hold, written straight into every date and time
column of every table (bypassing ingest, which rejects them): for the read side's 'no stored value breaks a
page' tests (issue 11)."""

from __future__ import annotations

from pathlib import Path

from opsdash import contract, lifecycle
from opsdash.store import Store
from opsdash.store import quote_ident as qi

EXTREME_DATES = ("5877642-06-25 (BC)", "5881580-07-10", "infinity", "-infinity", "0045-03-15 (BC)", "10000-01-01",
                 "0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01")
EXTREME_TIMESTAMPS = ("290309-12-22 (BC) 00:00:00", "294247-01-10 04:00:54.775806", "infinity", "-infinity",
                      "0045-03-15 (BC) 12:00:00", "10000-01-01 00:00:00", "0001-01-01 00:00:00",
                      "9999-12-31 23:59:59.999999", "1899-12-31 23:59:59", "2101-01-01 00:00:00")
KEYS = {"claims": "claim_id", "qa_audits": "audit_id", "work_items": "item_id", "calls": "call_id"}
#: The load the extreme rows claim to come from, so pages can name it.
EXTREME_FILE = "extremes.csv"


def add_extremes(path: Path, values: dict[str, tuple[str, ...]] | None = None) -> int:
    """Copy one stored row of every table once per time column and extreme value, with that value in that
    column; give loads and audit events extreme times too. Returns how many data rows were written."""
    values = values or {"date": EXTREME_DATES, "timestamp": EXTREME_TIMESTAMPS}
    written = 0
    with Store(path) as s, s.transaction() as tx:
        load_id = tx.fetchone("SELECT coalesce(max(load_id), 0) + 1 FROM loads")[0]
        tx.execute("INSERT INTO loads (load_id, file_name, table_name, rows_read, rows_loaded, rows_rejected, "
                   "started_at, finished_at) VALUES (?, ?, 'claims', 0, 0, 0, TIMESTAMP '-infinity', "
                   "TIMESTAMP '294247-01-10 04:00:54.775806')", [load_id, EXTREME_FILE])
        for ts in values["timestamp"]:
            tx.execute("INSERT INTO audit (event_id, event_at, user_name, role, action, page, what) "
                       "VALUES (?, CAST(? AS TIMESTAMP), 'x', 'admin', 'download', 'Overview', 'x.csv')",
                       [f"extreme-{ts}", ts])
        tx.execute("UPDATE loads SET started_at = TIMESTAMP '0001-01-01 00:00:00' WHERE load_id = 1")
        for table, spec in contract.TABLES.items():
            names = spec.column_names
            for col, kind in ((c.name, str(c.type)) for c in spec.columns if str(c.type) in ("date", "timestamp")):
                for i, v in enumerate(values[kind]):
                    cast = "DATE" if kind == "date" else "TIMESTAMP"
                    replace = {col: f"CAST('{v}' AS {cast})", "_load_id": str(load_id)}
                    if table in KEYS:
                        replace[KEYS[table]] = f"{qi(KEYS[table])} || '-x{col}{i}'"
                    sel = ", ".join(replace.get(c, qi(c)) for c in (*names, "_load_id", "_line"))
                    tx.execute(f"INSERT INTO {qi(table)} ({', '.join(qi(c) for c in (*names, '_load_id', '_line'))}) "
                               f"SELECT {sel} FROM (SELECT * FROM {qi(table)} LIMIT 1)")
                    written += 1
        tx.execute("DELETE FROM meta WHERE key = 'rollups'")  # the next writer rebuilds them from every row
    lifecycle.open_store(path).close()
    return written
