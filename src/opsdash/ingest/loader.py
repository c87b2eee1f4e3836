"""Load export files into the store, one transaction per file, exactly as the contract's loading rules say.

A load runs in stages, each its own module:

1. plan (plan.py): read the header; which table, where each column comes from, which columns are PHI or
   ignored; nothing is stored for a file that cannot be planned;
2. stage (stage.py): read every row into ``_stage``, typed and checked by the SELECT validate.stage_select
   compiles (the CSV fast path, or the Python path that numbers every line);
3. validate (validate.py): count, refuse a file with too many rejected rows, read process names as codes;
4. commit (commit.py): rejects, upsert by key, lineage, the load's record, roll-ups.

Stages 2-4 run in one transaction, with a checkpoint (checkpoints.py) before each for the crash tests.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from opsdash import settings
from opsdash.ingest import commit, readers, stage, validate
from opsdash.ingest.checkpoints import FAULT_FILE_ENV, FAULT_SECONDS_ENV, FAULT_STAGE_ENV, Progress, Ticker, checkpoint
from opsdash.ingest.commit import WITHHELD_LINE, loaded_by
from opsdash.ingest.errors import FileRefused
from opsdash.ingest.mapping import Mapping, load_mapping
from opsdash.ingest.params import Params
from opsdash.ingest.plan import Plan, plan_columns, read_source
from opsdash.ingest.report import REJECT_WARN_RATE, LoadReport, reject_warning
from opsdash.store import Store, StoreError

__all__ = ["FAULT_FILE_ENV", "FAULT_SECONDS_ENV", "FAULT_STAGE_ENV", "REJECT_WARN_RATE", "WITHHELD_LINE", "LoadReport",
           "Plan", "load_file", "load_files", "loaded_by", "reject_warning"]


def load_file(store: Store, path: str | Path, *, table: str | None = None, mapping: Mapping | str | Path | None = None,
              progress: Progress | None = None, date_range: tuple[dt.date, dt.date] | None = None,
              max_reject_rate: float | None = None) -> LoadReport:
    """Load one file. Never raises for bad input: a refused file comes back with status ``refused``.

    ``date_range`` is the first and last day a date or timestamp may fall on; by default the settings file's
    (``[ingest]``), else the contract's. ``max_reject_rate`` (0 to 1) refuses the whole file, storing nothing,
    when a larger share of its rows would be rejected (for unattended loads).
    """
    path = Path(path)
    started = time.time()
    report = LoadReport(file=path.name, status="refused")
    say = progress or (lambda _msg: None)
    try:
        if mapping is not None and not isinstance(mapping, Mapping):
            mapping = load_mapping(mapping)
        report.mapping = mapping.name if mapping else None
        if date_range is None:
            try:
                date_range = settings.load().date_range
            except settings.SettingsError as exc:
                raise FileRefused(f"{path.name}: not loaded: {exc}") from exc
        say("checking")
        info = readers.sniff_file(path, mapping.encoding if mapping else None)
        digest = stage.Digest(info)
        if store.fetchone("SELECT 1 FROM loads WHERE file_bytes = ? LIMIT 1", [info.size]):
            # A file of this size was loaded before: settle the hash first rather than redo a long load.
            digest.wait()
            _refuse_if_loaded(store.fetchone, info)
        # A private folder for what DuckDB reads instead of the file itself: a literal link to a file whose path
        # holds a pattern character, or the file rewritten as UTF-8. It goes when the load ends, however it ends.
        with tempfile.TemporaryDirectory(prefix="opsdash-load-") as work:
            _load(store, info, table, mapping, report, say, started, digest, Path(work), date_range, max_reject_rate)
    except _AlreadyLoaded as dup:
        report.status, report.load_id, report.table, report.message = "duplicate", dup.load_id, dup.table, str(dup)
        report.sha256 = dup.sha256
    except FileRefused as exc:
        report.status, report.message = "refused", str(exc)
    except StoreError as exc:
        report.status, report.message = "refused", f"{path.name}: could not be loaded: {exc}"
    finally:
        report.seconds = round(time.time() - started, 3)
    return report


class _AlreadyLoaded(Exception):
    def __init__(self, info: readers.FileInfo, load_id: int, table: str, when: str) -> None:
        super().__init__(f"{info.name}: the same file (SHA-256 {info.sha256[:12]}…) was already loaded as "
                         f"load {load_id} into {table} on {when}; not loaded again")
        self.load_id, self.table, self.sha256 = load_id, table, info.sha256


def _refuse_if_loaded(fetchone: Callable[..., Any], info: readers.FileInfo) -> None:
    earlier = fetchone("SELECT load_id, table_name, strftime(finished_at, '%Y-%m-%d %H:%M') FROM loads "
                       "WHERE sha256 = ? ORDER BY load_id LIMIT 1", [info.sha256])
    if earlier:
        raise _AlreadyLoaded(info, *earlier)


def _load(store: Store, info: readers.FileInfo, table_name: str | None, mapping: Mapping | None,
          report: LoadReport, say: Progress, started: float, digest: stage.Digest, work: Path,
          date_range: tuple[dt.date, dt.date], max_reject_rate: float | None = None) -> None:
    """Plan the file, then stage, validate and commit it in one transaction (again with the Python reader when
    DuckDB's bulk read fails)."""
    forced_encoding = mapping.encoding if mapping else None
    lim = readers.limits()
    source = read_source(store, info, mapping, work, lim)
    try:
        plan = plan_columns(info.name, source.headers, table_name, mapping)
        report.table = plan.table.name
        report.phi_columns_dropped = plan.phi_columns
        report.ignored_columns = plan.ignored
        tz = store.timezone

        def select(params: Params, source_sql: str, extra: tuple[str, ...]) -> str:
            return validate.stage_select(params, plan.table, plan.bindings, source.headers, plan.phi_indexes,
                                         mapping, tz, source_sql, plan.skip_indexes, plan.order_index, extra,
                                         date_range)

        python_reader = False
        while True:
            try:
                with store.transaction() as tx:
                    load_id = tx.fetchone("SELECT nextval('load_id_seq')")[0]  # type: ignore[index]
                    for sql in validate.phi_macros():  # the identifier screening the staging SELECT calls
                        tx.execute(sql)
                    checkpoint(stage.CHECKPOINT, say)
                    with Ticker(tx, say):
                        staged = stage.stage(tx, info, source, select, digest, forced_encoding, say, work, lim,
                                             python_reader)
                    digest.wait()
                    _refuse_if_loaded(tx.fetchone, info)
                    report.sha256 = info.sha256
                    report.encoding = info.encoding if info.format == "csv" else None
                    if info.format == "csv" and info.encoding in ("windows-1252", "latin-1") and not forced_encoding:
                        info.warnings.append(f"not valid UTF-8: read as {readers.ENCODING_WORDS[info.encoding]}")
                    checkpoint(validate.CHECKPOINT, say)
                    validate.validate(tx, info.name, plan, staged, report, info.warnings, max_reject_rate)
                    commit.commit(tx, load_id, info, plan, mapping, staged, report, started)
                    report.load_id = load_id
                    checkpoint(commit.CHECKPOINT, say)
                break
            except stage.FastReadFailed:
                if python_reader:
                    raise
                python_reader = True  # the transaction was rolled back; read again, line by line
            except StoreError as exc:
                if "out of memory" not in str(exc).lower():
                    raise
                limit = store.fetchone("SELECT current_setting('memory_limit')")
                raise FileRefused(
                    f"{info.name}: loading it needs more memory than DuckDB may use ({limit[0] if limit else '?'}, "
                    "OPSDASH_MEMORY_LIMIT); nothing was stored. Expected a file that fits: raise "
                    "OPSDASH_MEMORY_LIMIT if the machine has the memory, or split the file") from exc
        commit.mark_finished(store, load_id)
        report.status = "loaded"
        report.warnings = info.warnings
    finally:
        source.close()


def load_files(store: Store, paths: Iterable[str | Path], *, table: str | None = None,
               mapping: Mapping | str | Path | None = None,
               on_file: Callable[[Path, LoadReport], None] | None = None,
               progress: Callable[[Path, str], None] | None = None,
               date_range: tuple[dt.date, dt.date] | None = None,
               max_reject_rate: float | None = None) -> list[LoadReport]:
    """Load several files in order, one transaction each."""
    if mapping is not None and not isinstance(mapping, Mapping):
        try:
            mapping = load_mapping(mapping)
        except FileRefused as exc:
            return [LoadReport(file=Path(p).name, status="refused", message=str(exc)) for p in paths]
    reports = []
    for p in paths:
        p = Path(p)
        rep = load_file(store, p, table=table, mapping=mapping,
                        progress=(lambda msg, p=p: progress(p, msg)) if progress else None, date_range=date_range,
                        max_reject_rate=max_reject_rate)
        reports.append(rep)
        if on_file:
            on_file(p, rep)
    return reports
