"""Commit a validated load, inside its transaction: keep the rejected and skipped rows with their lines, replace
stored rows by key (within the file the later row wins), insert the rows with their lineage (load and line),
write the load's record (store.LoadRecord) and bring the roll-ups up to date."""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import time
from collections.abc import Iterator

import pyarrow as pa

from opsdash import __version__, contract, phi, rollups
from opsdash.ingest import readers
from opsdash.ingest.mapping import Mapping
from opsdash.ingest.plan import Plan
from opsdash.ingest.report import LoadReport
from opsdash.ingest.stage import Staged
from opsdash.ingest.validate import VALID
from opsdash.store import LoadRecord, Store, StoreError, Tx
from opsdash.store import quote_ident as qi

#: The checkpoint (see checkpoints.py) after everything is written, before COMMIT.
CHECKPOINT = "committing"

#: Kept in rejects instead of a malformed line of a file with patient-identifier columns.
WITHHELD_LINE = ("(not kept: the file has patient-identifier columns, and the fields of a line with the wrong "
                 "number of them cannot be told apart)")

#: Who loads, when not the operating-system user (the dashboard's signed-in user on the Upload page).
LOADED_BY: contextvars.ContextVar[str | None] = contextvars.ContextVar("loaded_by", default=None)


@contextlib.contextmanager
def loaded_by(user: str) -> Iterator[None]:
    """Loads in this block record `user` as who loaded them."""
    token = LOADED_BY.set(user)
    try:
        yield
    finally:
        LOADED_BY.reset(token)


def _user() -> str:
    if LOADED_BY.get():
        return LOADED_BY.get()  # type: ignore[return-value]
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name is not a reason to refuse a file
        return "unknown"


def mask_malformed(text: str, has_phi: bool = False) -> str:
    """A malformed line as kept in rejects: identifier shapes masked, then cut; withheld whole when the file
    has PHI columns (its fields cannot be matched to the headers, so the PHI cannot be left out)."""
    return WITHHELD_LINE if has_phi else phi.capped(text)


def commit(tx: Tx, load_id: int, info: readers.FileInfo, plan: Plan, mapping: Mapping | None, staged: Staged,
           report: LoadReport, started: float) -> None:
    """Write everything the load keeps; `report` gains the rows replaced and superseded."""
    insert_rejects(tx, load_id, info.name, staged, bool(plan.phi_indexes))
    captured = upsert(tx, plan.table, load_id, staged, report)
    assert report.rows_read == report.rows_loaded + report.rows_rejected + report.rows_skipped
    record = LoadRecord(
        load_id=load_id, file_name=info.name, file_path=str(info.path.resolve()), sha256=info.sha256,
        file_bytes=info.size, table_name=plan.table.name, file_format=info.format,
        encoding=info.encoding if info.format == "csv" else None, delimiter=info.delimiter,
        mapping_name=mapping.name if mapping else None, mapping_sha256=mapping.sha256 if mapping else None,
        rows_read=report.rows_read, rows_loaded=report.rows_loaded, rows_rejected=report.rows_rejected,
        rows_skipped=report.rows_skipped, rows_replaced=report.rows_replaced,
        rows_superseded=report.rows_superseded, phi_columns_dropped=plan.phi_columns,
        ignored_columns=plan.ignored, warnings=info.warnings, columns_present=sorted(plan.bindings),
        started_at=started, finished_at=time.time(), loaded_by=_user(), opsdash_version=__version__)
    tx.execute(LoadRecord.insert_sql(), record.values())
    rollups.refresh(tx, plan.table.name, load_id, captured)  # after the load's record: a roll-up may read columns_present


def insert_rejects(tx: Tx, load_id: int, name: str, staged: Staged, has_phi: bool) -> None:
    """Rejected and skipped rows with their lines and raw values (identifier shapes masked), and the lines that
    could not be split into columns."""
    tx.execute(
        f"INSERT INTO rejects SELECT ?, ?, {staged.line_sql}, CASE WHEN _skip IS NULL THEN _column END, "
        "CASE WHEN _skip IS NULL THEN 'invalid' ELSE 'skipped' END, coalesce(_skip, _reason), _raw "
        f"FROM _stage s {staged.line_join} WHERE _skip IS NOT NULL OR _reason IS NOT NULL",
        [load_id, name],
    )
    if staged.malformed:
        lines, cols, reasons, raws = zip(*staged.malformed)
        batch = pa.table({"line": pa.array(lines, pa.int64()), "col": pa.array(cols, pa.string()),
                          "reason": pa.array(reasons, pa.string()),
                          "raw": pa.array([mask_malformed(r, has_phi) for r in raws], pa.string())})
        tx.register("_malformed", batch)
        tx.execute("INSERT INTO rejects SELECT ?, ?, line, col, 'malformed', reason, "
                   "CAST(json_object('line', raw) AS VARCHAR) FROM _malformed", [load_id, name])
        tx.unregister("_malformed")


def upsert(tx: Tx, t: contract.Table, load_id: int, staged: Staged, report: LoadReport) -> bool:
    """Replace stored rows whose key is in the file, then insert the valid rows (the later of two with one key)
    with their lineage; drops the staging tables. True when the replaced rows' days were captured for the
    roll-ups (rollups.capture_days)."""
    target = qi(t.name)
    has_rows = tx.fetchone(f"SELECT count(*) > 0 FROM (SELECT 1 FROM {target} LIMIT 1)")[0]  # type: ignore[index]
    replaced = 0
    captured = False
    if has_rows and report.rows_loaded:
        cond = " AND ".join(
            f"t.{qi(k)} = k.{qi(k)}" if t.column(k).required else f"t.{qi(k)} IS NOT DISTINCT FROM k.{qi(k)}"
            for k in t.key)
        keys = ", ".join(qi(k) for k in t.key)
        incoming = f"(SELECT DISTINCT {keys} FROM _stage WHERE {VALID}) k"
        captured = rollups.capture_days(tx, t.name, f"SELECT t.* FROM {target} t, {incoming} WHERE {cond}")
        row = tx.fetchone(f"DELETE FROM {target} t USING {incoming} WHERE {cond}")
        replaced = int(row[0]) if row else 0
    cols = ", ".join(qi(c) for c in t.column_names)
    scols = ", ".join(f"s.{qi(c)}" for c in t.column_names)
    part = ", ".join(f"s.{qi(k)}" for k in t.key)
    # Most files repeat no key: a hash aggregate finds that faster than the window that picks the latest row.
    # It groups the keys' 64-bit hash (twice as fast as the key text): two keys with one hash only make the
    # window run when it was not needed, and the window's answer is right either way.
    repeated = tx.fetchone(f"SELECT count(*) FROM (SELECT 1 FROM _stage s WHERE {VALID} GROUP BY hash({part}) "
                           "HAVING count(*) > 1 LIMIT 1)")[0]  # type: ignore[index]
    latest = (f"QUALIFY row_number() OVER (PARTITION BY {part} ORDER BY s._order DESC NULLS LAST, "
              f"{staged.line_sql} DESC) = 1") if repeated else ""
    row = tx.fetchone(
        f"INSERT INTO {target} ({cols}, _load_id, _line) SELECT {scols}, ?, {staged.line_sql} "
        f"FROM _stage s {staged.line_join} WHERE {VALID} {latest}",
        [load_id],
    )
    inserted = int(row[0]) if row else 0
    report.rows_replaced = replaced
    report.rows_superseded = report.rows_loaded - inserted
    tx.execute("DROP TABLE _stage")
    tx.execute("DROP TABLE IF EXISTS _shift")
    return captured


def mark_finished(store: Store, load_id: int) -> None:
    """Record when the load's COMMIT was done: DuckDB's now() is the transaction's start, so this is its own
    step, after it. The load stands even if this fails."""
    with contextlib.suppress(StoreError), store.transaction() as tx:
        tx.execute("UPDATE loads SET finished_at = to_timestamp(?)::TIMESTAMP WHERE load_id = ?",
                   [time.time(), load_id])
