"""Load export files into the store, one transaction per file, exactly as the contract's loading rules say."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import getpass
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from opsdash import __version__, annotations, catalog, contract, labels, phi, rollups, settings
from opsdash.ingest import readers
from opsdash.ingest.errors import FileRefused
from opsdash.ingest.mapping import Mapping, load_mapping
from opsdash.ingest.validate import MESSAGE_VALUE_CHARS, Binding, phi_macros, stage_select
from opsdash.store import Store, StoreError, Tx
from opsdash.store import quote_ident as qi
from opsdash.store import quote_literal as ql

#: Fault injection for the crash tests: at stage OPSDASH_FAULT_STAGE (reading, validating or committing,
#: all inside the file's transaction) the loader writes OPSDASH_FAULT_FILE and waits OPSDASH_FAULT_SECONDS
#: (default 120), so a test can kill the process at a known point.
FAULT_STAGE_ENV, FAULT_FILE_ENV, FAULT_SECONDS_ENV = "OPSDASH_FAULT_STAGE", "OPSDASH_FAULT_FILE", "OPSDASH_FAULT_SECONDS"


MAX_LINE_BYTES = readers.MAX_LINE_BYTES
#: Rows that cannot be split into the header's columns are kept as rejects up to this many; a file with more is
#: not delimited text of this table, and refusing it keeps memory bounded whatever the input.
MAX_MALFORMED = 100_000
#: Characters of a malformed line kept in its reject (masked before it is cut).
MALFORMED_KEEP = 4096

Progress = Callable[[str], None]

#: A file with more than this share of its rows rejected loads with a warning (and `--max-reject-rate` may refuse
#: it whole): a vendor's changed export format rejects most rows, which a bare "loaded" would hide.
REJECT_WARN_RATE = 0.05


def reject_warning(rows_read: int, rows_rejected: int) -> str | None:
    """The warning for a file whose rejected rows exceed REJECT_WARN_RATE of its rows, or None."""
    if not rows_read or rows_rejected / rows_read <= REJECT_WARN_RATE:
        return None
    return (f"{rows_rejected:,} of {rows_read:,} rows rejected ({rows_rejected / rows_read:.1%}, more than "
            f"{REJECT_WARN_RATE:.0%}): check the export against the contract or its mapping file")


def _checkpoint(stage: str, say: Progress) -> None:
    """Report a stage; in the crash tests, pause here so the process can be killed at a known point."""
    say(stage)
    if os.environ.get(FAULT_STAGE_ENV) == stage and os.environ.get(FAULT_FILE_ENV):
        Path(os.environ[FAULT_FILE_ENV]).write_text(stage)
        time.sleep(float(os.environ.get(FAULT_SECONDS_ENV, "120")))


@dataclass
class LoadReport:
    file: str
    status: str  # loaded | duplicate | refused
    table: str | None = None
    load_id: int | None = None
    sha256: str | None = None
    mapping: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    rows_replaced: int = 0
    rows_superseded: int = 0
    encoding: str | None = None  # a CSV's encoding as detected (or as the mapping forced it)
    phi_columns_dropped: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    """How a file's columns map onto one contract table."""

    table: contract.Table
    bindings: dict[str, Binding]
    phi_indexes: set[int]
    phi_columns: list[str]
    ignored: list[str]
    skip_indexes: dict[int, tuple[str, ...]]
    order_index: int | None


def closest_hint(closest: contract.Closest, headers: list[str]) -> str:
    """The refusal for a file that looks like one table but lacks required columns: which, and which header is
    likely each (so a mapping file is a line away)."""
    one = len(closest.missing) == 1
    guesses = " ".join(f"is `{readers.printable(h)}` {'it' if one else c}?" for c, h in closest.likely.items())
    fix = ("use a mapping file that reads " + ", ".join(f"`{readers.printable(h)}` as {c}" for c, h in closest.likely.items())
           + (", or rename the headers" if len(closest.likely) > 1 else ", or rename the header") if closest.likely else "add it, or map a column to it with a mapping file")
    listed = ", ".join(readers.printable(h) for h in headers[:16]) + (", ..." if len(headers) > 16 else "")
    return (f"looks like {closest.table}; missing required column(s) {', '.join(closest.missing)}"
            f"{' — ' + guesses if guesses else ''} ({fix}). Its headers: {listed} (any case; spaces, dashes and "
            "underscores alike)")


def plan_columns(name: str, headers: list[str], table_name: str | None, mapping: Mapping | None) -> Plan:
    """Resolve table, bindings, PHI and ignored columns from headers; refuse with a clear message."""
    norm = [contract.normalise_header(h) for h in headers]
    phi_indexes = {i for i, h in enumerate(headers) if h.strip() and contract.is_phi_header(h)}
    usable = {i for i in range(len(headers)) if i not in phi_indexes and norm[i]}

    if mapping and table_name and mapping.table != table_name:
        raise FileRefused(f"{name}: --table {table_name} disagrees with mapping {mapping.name} (table {mapping.table})")
    table_name = (mapping.table if mapping else None) or table_name
    if table_name is None:
        table_name, _missing = contract.table_for_headers([headers[i] for i in usable])
        closest = contract.closest_table([headers[i] for i in usable]) if table_name is None else None
        if closest is not None:
            raise FileRefused(f"{name}: {closest_hint(closest, headers)}")
        if table_name is None:
            hint = ""
            if len(headers) == 1 and any(d in headers[0] for d in ":~^#"):
                hint = " Only one column was found: the delimiter must be a comma, semicolon, pipe or tab."
            expected = "; ".join(f"{t}: {', '.join(contract.TABLES[t].required)}" for t in contract.TABLES)
            raise FileRefused(
                f"{name}: cannot tell which table this file holds: its headers "
                f"({', '.join(readers.printable(h) for h in headers[:12])}"
                f"{', ...' if len(headers) > 12 else ''}) lack the required columns of every table.{hint} "
                f"Expected the required columns of one table ({expected}), or use --table / a mapping file."
            )
    if table_name not in contract.TABLES:
        raise FileRefused(f"{name}: unknown table {table_name!r}; expected one of {', '.join(contract.TABLES)}")
    table = contract.TABLES[table_name]

    def find(source: str, purpose: str) -> int:
        want = contract.normalise_header(source)
        hits = [i for i, h in enumerate(norm) if h == want]
        if not hits:
            raise FileRefused(f"{name}: mapping {mapping.name if mapping else ''} reads column {source!r} for {purpose}, "
                              f"but the file has no such column; its headers are {', '.join(headers)}")
        if len(hits) > 1:
            raise FileRefused(f"{name}: column {source!r} appears {len(hits)} times (columns "
                              f"{', '.join(str(i + 1) for i in hits)}); expected it once")
        if hits[0] in phi_indexes:
            raise FileRefused(f"{name}: {purpose} would be read from {headers[hits[0]]!r}, which names a patient "
                              "identifier; such columns are never stored")
        return hits[0]

    bindings: dict[str, Binding] = {}
    used: set[int] = set()
    for col in table.columns:
        spec = mapping.columns.get(col.name) if mapping else None
        if spec is None:
            hits = [i for i in usable if norm[i] == col.name]
            if len(hits) > 1:
                raise FileRefused(f"{name}: column {col.name!r} appears {len(hits)} times (columns "
                                  f"{', '.join(str(i + 1) for i in hits)}); expected it once")
            if hits:
                bindings[col.name] = Binding("source", index=hits[0])
                used.add(hits[0])
        elif spec.const is not None:
            bindings[col.name] = Binding("const", value=spec.const)
        elif spec.template is not None:
            fields = tuple((f, find(f, col.name)) for f in spec.template_fields)
            bindings[col.name] = Binding("template", value=spec.template, fields=fields)
            used.update(i for _, i in fields)
        else:
            idx = find(spec.source or "", col.name)
            bindings[col.name] = Binding("source", index=idx)
            used.add(idx)

    missing = [c for c in table.required if c not in bindings]
    if missing:
        raise FileRefused(
            f"{name}: missing required column(s) {', '.join(missing)} for table {table.name}; found headers "
            f"{', '.join(readers.printable(h) for h in headers)}. Accepted header names: {', '.join(missing)} (any case; spaces, dashes and "
            "underscores alike), or map them with a mapping file"
        )

    skip_indexes: dict[int, tuple[str, ...]] = {}
    for rule in mapping.skip if mapping else ():
        idx = find(rule.column, "a skip rule")
        skip_indexes[idx] = skip_indexes.get(idx, ()) + rule.values
        used.add(idx)
    order_index = None
    if mapping and mapping.order_by:
        order_index = find(mapping.order_by, "order_by")
        used.add(order_index)

    ignored = [headers[i] for i in sorted(usable - used)]
    # A dropped column's header is reported (what was dropped), masked where it is itself an identifier value.
    return Plan(table, bindings, phi_indexes, [phi.mask(headers[i]) for i in sorted(phi_indexes)], ignored,
                skip_indexes, order_index)


class _Staged:
    """What the staging step produced: how to number lines, and the rows DuckDB could not parse."""

    def __init__(self, line_sql: str, line_join: str, malformed: list[tuple[int, str | None, str, str]]) -> None:
        self.line_sql = line_sql
        self.line_join = line_join
        self.malformed = malformed  # (line, column, reason, raw line)


def _malformed_reason(expected: int, found: int) -> str:
    return f"expected {expected} columns (as in the header), found {found}"


class _FastReadFailed(Exception):
    """DuckDB's bulk CSV read failed; the transaction is aborted and the load is retried with the Python reader."""


def _add_malformed(malformed: list[tuple[int, str | None, str, str]], name: str, ncols: int, line: int,
                   column: str | None, reason: str, raw: str, length: int | None = None) -> None:
    """Keep one malformed line (its text masked, then cut); refuse a file with more than MAX_MALFORMED of them."""
    if len(malformed) >= MAX_MALFORMED:
        first = malformed[0]
        raise FileRefused(f"{name}: more than {MAX_MALFORMED:,} lines cannot be split into the header's {ncols} "
                          f"columns (the first is line {first[0]}: {first[2]}); expected delimited text with the "
                          "header's columns: check the delimiter and the quotes")
    length = max(length or 0, len(raw))
    if length > phi.MAX_RAW_CHARS:
        # Only the start is looked at (a line may be 16 MB), masked before it is cut, so no piece of an identifier
        # is left behind; the note says how long the whole line was.
        raw = phi.capped(raw[:MALFORMED_KEEP], length)
    malformed.append((line, column, reason, raw))


def _stage_csv_fast(tx: Tx, info: readers.FileInfo, delim: str, headers: list[str],
                    select: Callable[[str], str], digest: _Digest) -> _Staged | None:
    """Bulk-read a CSV with DuckDB; None when line numbers could not be exact (use the Python reader)."""
    ncols = len(headers)
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(ncols))
    # The path is a bound parameter, and a literal one (readers.literal_path): DuckDB would expand a pattern.
    assert info.read_path is not None and info.encoding == "utf-8" and not info.gzip
    src = (f"SELECT {', '.join(f'c{i}' for i in range(ncols))} FROM read_csv(?, header=false, skip=1, "
           f"auto_detect=false, columns={{{cols}}}, delim={ql(delim)}, quote='\"', escape='\"', "
           "encoding='utf-8', compression='none', "
           f"store_rejects=true, rejects_table='_rej_err', rejects_scan='_rej_scan', "
           f"max_line_size={MAX_LINE_BYTES}, strict_mode=true, null_padding=false)")
    try:
        tx.execute(f"CREATE TEMP TABLE _stage AS {select(src)}", [str(info.read_path)])
    except StoreError as exc:
        # DuckDB's CSV errors (mixed line endings, an over-long line, bytes that are not UTF-8) name no line
        # a person can use, and leave the transaction aborted: the load starts again with the Python reader,
        # which reads what DuckDB cannot and names the line of what it cannot either.
        raise _FastReadFailed(str(exc)) from exc
    staged = tx.fetchone("SELECT count(*) FROM _stage")[0]  # type: ignore[index]
    n_rej = tx.fetchone("SELECT count(DISTINCT line) FROM _rej_err")[0]  # type: ignore[index]
    rej = tx.fetchall("SELECT line, min(column_name), list(DISTINCT error_type), list(error_message)[1], "
                      f"left(any_value(csv_line), {MALFORMED_KEEP}), max(length(csv_line)) FROM _rej_err "
                      "GROUP BY line ORDER BY line "
                      f"LIMIT {MAX_MALFORMED + 1}")
    tx.execute("DROP TABLE IF EXISTS _rej_err")
    tx.execute("DROP TABLE IF EXISTS _rej_scan")
    digest.wait()
    if (not info.utf8_valid and info.encoding == "utf-8") or info.lone_cr:
        tx.execute("DROP TABLE _stage")
        return None
    single_line = all("\n" not in (r[4] or "").rstrip("\r\n") for r in rej)
    if info.lines - info.trailing_blank_lines != 1 + staged + n_rej or not single_line:
        tx.execute("DROP TABLE _stage")
        return None
    malformed: list[tuple[int, str | None, str, str]] = []
    for line, column, types, message, raw, length in rej:
        found = message.rsplit("Found:", 1)[-1].strip() if "Found:" in message else None
        if found and found.isdigit():
            reason = _malformed_reason(ncols, int(found))
        elif "LINE SIZE OVER MAXIMUM" in types:
            reason = f"the line is longer than {MAX_LINE_BYTES >> 20} MB; expected lines of at most {MAX_LINE_BYTES >> 20} MB"
        elif "UNQUOTED VALUE" in types or "UNTERMINATED QUOTES" in types:
            reason = "a quote is not closed or stray text follows a quoted value; expected fields quoted with \" and quotes doubled inside"
        else:
            reason = f"cannot be parsed ({', '.join(types).lower()}); expected {ncols} delimited fields"
        header = headers[int(column[1:])] if column and column[1:].isdigit() and int(column[1:]) < ncols else None
        _add_malformed(malformed, info.name, ncols, int(line), header, reason, (raw or "").rstrip("\r\n"), length)
    # Rows of a table created inside a transaction have offset rowids: number lines from the first one.
    base = tx.fetchone("SELECT coalesce(min(rowid), 0) FROM _stage")[0]  # type: ignore[index]
    if not malformed:
        return _Staged(f"(s.rowid - {base} + 2)", "", [])
    # Survivor i sits after every rejected line j whose position among data lines is <= i.
    shifts: dict[int, int] = {}
    for j, (line, *_rest) in enumerate(malformed, start=1):
        shifts[base + line - 1 - j] = j
    tx.execute("CREATE TEMP TABLE _shift (pos BIGINT, shift BIGINT)")
    tx.execute("INSERT INTO _shift SELECT * FROM (VALUES " + ", ".join(f"({p}, {s})" for p, s in shifts.items()) + ")")
    return _Staged(f"(s.rowid - {base} + 2 + coalesce(sh.shift, 0))", "ASOF LEFT JOIN _shift sh ON s.rowid >= sh.pos",
                   malformed)


def _stage_python(tx: Tx, records: Iterable[tuple[int, list[Any]]], ncols: int, headers: list[str],
                  delim: str, select: Callable[[str], str], name: str) -> _Staged:
    """Stage rows that Python read (worksheets, and CSV files with blank lines or line breaks inside quotes)."""
    cols = ", ".join(f"c{i} VARCHAR" for i in range(ncols))
    tx.execute(f"CREATE TEMP TABLE _src ({cols}, _line BIGINT)")
    malformed: list[tuple[int, str | None, str, str]] = []

    def ragged(line: int, rec: list[Any]) -> None:
        column = headers[len(rec)] if len(rec) < ncols else None
        reason = _malformed_reason(ncols, len(rec))
        spans = delim.join("" if v is None else str(v) for v in rec).rstrip("\r\n").count("\n")
        if spans:
            reason += f"; a quoted field opened on line {line} runs to line {line + spans} (a quote is not closed)"
        _add_malformed(malformed, name, ncols, line, column, reason, delim.join("" if v is None else str(v) for v in rec))

    for batch in readers.arrow_batches(iter(records), ncols, ragged):
        if batch.num_rows:
            tx.register("_batch", batch)
            tx.execute("INSERT INTO _src SELECT * FROM _batch")
            tx.unregister("_batch")
    tx.execute(f"CREATE TEMP TABLE _stage AS {select('SELECT * FROM _src ORDER BY _line')}")
    tx.execute("DROP TABLE _src")
    return _Staged("s._line", "", malformed)


#: Kept in rejects instead of a malformed line of a file with patient-identifier columns.
WITHHELD_LINE = ("(not kept: the file has patient-identifier columns, and the fields of a line with the wrong "
                 "number of them cannot be told apart)")


def _mask(text: str, has_phi: bool = False) -> str:
    """A malformed line as kept in rejects: identifier shapes masked, then cut; withheld whole when the file
    has PHI columns (its fields cannot be matched to the headers, so the PHI cannot be left out)."""
    return WITHHELD_LINE if has_phi else phi.capped(text)


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
        digest = _Digest(info)
        if store.fetchone("SELECT 1 FROM loads WHERE file_bytes = ? LIMIT 1", [info.size]):
            # A file of this size was loaded before: settle the hash first rather than redo a long load.
            digest.wait()
            _refuse_if_loaded(store.fetchone, info)
        _load(store, info, table, mapping, report, say, started, digest, date_range, max_reject_rate)
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


class _Ticker:
    """Reports DuckDB's progress on the running statement as "reading 42%" while a file is staged."""

    def __init__(self, tx: Tx, say: Progress, every: float = 0.25) -> None:
        self._tx, self._say, self._every = tx, say, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            pct = self._tx.progress()
            if pct >= 0:
                self._say(f"reading {pct:.0f}%")

    def __enter__(self) -> _Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


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


class _Digest:
    """The file's full pass (SHA-256, line count, UTF-8 check) in a thread beside DuckDB's read."""

    def __init__(self, info: readers.FileInfo) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(info,), daemon=True)
        self._thread.start()

    def _run(self, info: readers.FileInfo) -> None:
        try:
            readers.digest_file(info)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the loading thread by wait()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def _load(store: Store, info: readers.FileInfo, table_name: str | None, mapping: Mapping | None,
          report: LoadReport, say: Progress, started: float, digest: _Digest,
          date_range: tuple[dt.date, dt.date], max_reject_rate: float | None = None) -> None:
    # A private folder for what DuckDB reads instead of the file itself: a literal link to a file whose path
    # holds a pattern character, or the file rewritten as UTF-8. It goes when the load ends, however it ends.
    with tempfile.TemporaryDirectory(prefix="opsdash-load-") as work:
        _load_in(store, info, table_name, mapping, report, say, started, digest, Path(work), date_range,
                 max_reject_rate)


def _load_in(store: Store, info: readers.FileInfo, table_name: str | None, mapping: Mapping | None,
             report: LoadReport, say: Progress, started: float, digest: _Digest, work: Path,
             date_range: tuple[dt.date, dt.date], max_reject_rate: float | None = None) -> None:
    name = info.name
    close: Callable[[], None] = lambda: None
    xlsx_rows = None
    delim = ","
    forced_encoding = mapping.encoding if mapping else None
    lim = readers.limits()
    sql_names: list[str] = []
    if info.format == "csv":
        headers, delim = readers.read_csv_header(info, mapping.delimiter if mapping else None)
        info.delimiter = readers.DELIMITER_NAMES.get(delim, delim)
    elif info.format == "parquet":
        headers = readers.parquet_columns(info)
        info.read_path = readers.literal_path(info.path, work)
        try:
            sql_names = [r[0] for r in store.fetchall("DESCRIBE SELECT * FROM read_parquet(?)", [str(info.read_path)])]
        except StoreError as exc:
            raise FileRefused(f"{name}: not a readable Parquet file ({exc}); expected a complete Parquet file") from exc
        if len(sql_names) != len(headers):
            raise FileRefused(f"{name}: not a readable Parquet file (its schema lists {len(headers)} columns, its "
                              f"data {len(sql_names)}); expected a complete Parquet file")
    else:
        headers, xlsx_rows, close = readers.open_xlsx(info, mapping.sheet if mapping else None, lim)
    try:
        plan = plan_columns(name, headers, table_name, mapping)
        report.table = plan.table.name
        report.phi_columns_dropped = plan.phi_columns
        report.ignored_columns = plan.ignored
        tz = store.timezone
        ncols = len(headers)

        def select(source_sql: str, extra: tuple[str, ...] = ()) -> str:
            return stage_select(plan.table, plan.bindings, headers, plan.phi_indexes, mapping, tz, source_sql,
                                plan.skip_indexes, plan.order_index, extra, date_range)

        python_reader = False
        while True:
            try:
                with store.transaction() as tx:
                    load_id = tx.fetchone("SELECT nextval('load_id_seq')")[0]  # type: ignore[index]
                    for sql in phi_macros():  # the identifier screening the staging SELECT calls
                        tx.execute(sql)
                    _checkpoint("reading", say)
                    with _Ticker(tx, say):
                        staged = _stage(tx, info, delim, headers, ncols, select, digest, forced_encoding, xlsx_rows,
                                        say, work, lim, python_reader, sql_names)
                    digest.wait()
                    _refuse_if_loaded(tx.fetchone, info)
                    report.sha256 = info.sha256
                    report.encoding = info.encoding if info.format == "csv" else None
                    if info.format == "csv" and info.encoding in ("windows-1252", "latin-1") and not forced_encoding:
                        info.warnings.append(f"not valid UTF-8: read as {readers.ENCODING_WORDS[info.encoding]}")
                    _checkpoint("validating", say)
                    _finish(tx, load_id, info, plan, mapping, staged, report, started, max_reject_rate)
                    report.load_id = load_id
                    _checkpoint("committing", say)
                break
            except _FastReadFailed:
                if python_reader:
                    raise
                python_reader = True  # the transaction was rolled back; read again, line by line
            except StoreError as exc:
                if "out of memory" not in str(exc).lower():
                    raise
                limit = store.fetchone("SELECT current_setting('memory_limit')")
                raise FileRefused(
                    f"{name}: loading it needs more memory than DuckDB may use ({limit[0] if limit else '?'}, "
                    "OPSDASH_MEMORY_LIMIT); nothing was stored. Expected a file that fits: raise "
                    "OPSDASH_MEMORY_LIMIT if the machine has the memory, or split the file") from exc
        # DuckDB's now() is the transaction's start: the record says when the commit was done, in its own step.
        with contextlib.suppress(StoreError), store.transaction() as tx:  # the load stands even if this fails
            tx.execute("UPDATE loads SET finished_at = to_timestamp(?)::TIMESTAMP WHERE load_id = ?",
                       [time.time(), load_id])
        report.status = "loaded"
        report.warnings = info.warnings
    finally:
        close()


def _stage(tx: Tx, info: readers.FileInfo, delim: str, headers: list[str], ncols: int,
           select: Callable[..., str], digest: _Digest, forced_encoding: str | None,
           xlsx_rows: Any, say: Progress, work: Path, lim: readers.Limits, python_reader: bool,
           sql_names: list[str]) -> _Staged:
    """Read the file into the temporary table _stage (typed columns plus checks)."""
    staged: _Staged | None = None
    if info.format == "csv":
        view = _readable(info, work, lim, digest, say)
        if not python_reader and not view.lone_cr:
            staged = _stage_csv_fast(tx, view, delim, headers, select, digest)
            if staged is None and not view.utf8_valid and not forced_encoding:
                # The first chunk looked like UTF-8 but the rest is not: it is Windows-1252 (or Latin-1).
                info.encoding = "windows-1252"
                view = _readable(info, work, lim, digest, say)
                staged = _stage_csv_fast(tx, view, delim, headers, select, digest)
        if staged is None:
            digest.wait()
            if not view.utf8_valid and not forced_encoding:
                info.encoding = "windows-1252"
                view = _readable(info, work, lim, digest, say)
            say("reading (exact line numbers)")
            staged = _stage_python(tx, readers.iter_csv_records(view, delim), ncols, headers, delim,
                                   lambda s: select(s, ("_line",)), info.name)
    elif info.format == "parquet":
        src = ", ".join(f"CAST({qi(h)} AS VARCHAR) AS c{i}" for i, h in enumerate(sql_names))
        sql = select(f"SELECT {src}, file_row_number + 1 AS _line FROM read_parquet(?, file_row_number=true)",
                     ("_line",))
        tx.execute(f"CREATE TEMP TABLE _stage AS {sql}", [str(info.read_path)])
        staged = _Staged("s._line", "", [])
    else:
        assert xlsx_rows is not None
        staged = _stage_python(tx, xlsx_rows, ncols, headers, "\t", lambda s: select(s, ("_line",)), info.name)
    return staged


def _readable(info: readers.FileInfo, work: Path, lim: readers.Limits, digest: _Digest,
              say: Progress) -> readers.FileInfo:
    """The CSV as DuckDB can read it: plain UTF-8 at a literal path (rewritten into `work` when it is not)."""
    if info.gzip or info.encoding != "utf-8":
        say("reading (as UTF-8)")
        return readers.transcode(info, work / "utf8.csv", lim)
    info.read_path = readers.literal_path(info.path, work)
    return info


def _finish(tx: Tx, load_id: int, info: readers.FileInfo, plan: Plan, mapping: Mapping | None,
            staged: _Staged, report: LoadReport, started: float, max_reject_rate: float | None = None) -> None:
    t = plan.table
    counts = tx.fetchone("SELECT count(*), count(*) FILTER (_skip IS NOT NULL), "
                         "count(*) FILTER (_reason IS NOT NULL AND _skip IS NULL) FROM _stage")
    assert counts is not None
    staged_rows, skipped, invalid = counts
    report.rows_read = staged_rows + len(staged.malformed)
    report.rows_skipped = skipped
    report.rows_rejected = invalid + len(staged.malformed)
    report.rows_loaded = staged_rows - skipped - invalid
    if report.rows_read == 0:
        info.warnings.append("the file has a header but no data rows")

    # Rejected and skipped rows, with their lines and raw values (SSN-like text masked).
    tx.execute(
        f"INSERT INTO rejects SELECT ?, ?, {staged.line_sql}, CASE WHEN _skip IS NULL THEN _column END, "
        "CASE WHEN _skip IS NULL THEN 'invalid' ELSE 'skipped' END, coalesce(_skip, _reason), _raw "
        f"FROM _stage s {staged.line_join} WHERE _skip IS NOT NULL OR _reason IS NOT NULL",
        [load_id, info.name],
    )
    if staged.malformed:
        lines, cols, reasons, raws = zip(*staged.malformed)
        batch = pa.table({"line": pa.array(lines, pa.int64()), "col": pa.array(cols, pa.string()),
                          "reason": pa.array(reasons, pa.string()),
                          "raw": pa.array([_mask(r, bool(plan.phi_indexes)) for r in raws], pa.string())})
        tx.register("_malformed", batch)
        tx.execute("INSERT INTO rejects SELECT ?, ?, line, col, 'malformed', reason, "
                   "CAST(json_object('line', raw) AS VARCHAR) FROM _malformed", [load_id, info.name])
        tx.unregister("_malformed")
    if max_reject_rate is not None and report.rows_read and report.rows_rejected / report.rows_read > max_reject_rate:
        _refuse_rejects(tx, load_id, info.name, report, max_reject_rate)  # raises: the transaction rolls back
    if warning := reject_warning(report.rows_read, report.rows_rejected):
        info.warnings.append(warning)

    for codes in t.codes:  # values read as the codes they name before keys are matched, so a key holds the code
        _read_process_codes(tx, codes, info.name, staged, info.warnings)

    # Upsert by key: stored rows with a key in this file are replaced; within the file the later row wins.
    valid = "_reason IS NULL AND _skip IS NULL"
    target = qi(t.name)
    has_rows = tx.fetchone(f"SELECT count(*) > 0 FROM (SELECT 1 FROM {target} LIMIT 1)")[0]  # type: ignore[index]
    replaced = 0
    captured = False
    if has_rows and report.rows_loaded:
        cond = " AND ".join(
            f"t.{qi(k)} = k.{qi(k)}" if t.column(k).required else f"t.{qi(k)} IS NOT DISTINCT FROM k.{qi(k)}"
            for k in t.key)
        keys = ", ".join(qi(k) for k in t.key)
        incoming = f"(SELECT DISTINCT {keys} FROM _stage WHERE {valid}) k"
        captured = rollups.capture_days(tx, t.name, f"SELECT t.* FROM {target} t, {incoming} WHERE {cond}")
        row = tx.fetchone(f"DELETE FROM {target} t USING {incoming} WHERE {cond}")
        replaced = int(row[0]) if row else 0
    cols = ", ".join(qi(c) for c in t.column_names)
    scols = ", ".join(f"s.{qi(c)}" for c in t.column_names)
    part = ", ".join(f"s.{qi(k)}" for k in t.key)
    # Most files repeat no key: a hash aggregate finds that faster than the window that picks the latest row.
    repeated = tx.fetchone(f"SELECT count(*) FROM (SELECT 1 FROM _stage s WHERE {valid} GROUP BY {part} "
                           "HAVING count(*) > 1 LIMIT 1)")[0]  # type: ignore[index]
    latest = (f"QUALIFY row_number() OVER (PARTITION BY {part} ORDER BY s._order DESC NULLS LAST, "
              f"{staged.line_sql} DESC) = 1") if repeated else ""
    row = tx.fetchone(
        f"INSERT INTO {target} ({cols}, _load_id, _line) SELECT {scols}, ?, {staged.line_sql} "
        f"FROM _stage s {staged.line_join} WHERE {valid} {latest}",
        [load_id],
    )
    inserted = int(row[0]) if row else 0
    report.rows_replaced = replaced
    report.rows_superseded = report.rows_loaded - inserted
    tx.execute("DROP TABLE _stage")
    tx.execute("DROP TABLE IF EXISTS _shift")

    assert report.rows_read == report.rows_loaded + report.rows_rejected + report.rows_skipped
    tx.execute(
        "INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "to_timestamp(?)::TIMESTAMP, to_timestamp(?)::TIMESTAMP, ?, ?)",
        [load_id, info.name, str(info.path.resolve()), info.sha256, info.size, t.name, info.format,
         info.encoding if info.format == "csv" else None, info.delimiter,
         mapping.name if mapping else None, mapping.sha256 if mapping else None,
         report.rows_read, report.rows_loaded, report.rows_rejected, report.rows_skipped,
         report.rows_replaced, report.rows_superseded,
         plan.phi_columns, plan.ignored, info.warnings, sorted(plan.bindings), started, time.time(), _user(),
         __version__],
    )
    rollups.refresh(tx, t.name, load_id, captured)  # after the load's record: a roll-up may read columns_present


#: Lines of a file a warning names (the others are counted), and codes it lists as expected.
WARN_LINES, WARN_CODES = 5, 30


def _lines_words(lines: list[int], total: int) -> str:
    """"line 3", "lines 3 and 7", "lines 3, 7, 9, 11, 12 and 40 more"."""
    shown = [str(n) for n in lines[:WARN_LINES]]
    if total == 1:
        return f"line {shown[0]}"
    if total > len(shown):
        return f"lines {', '.join(shown)} and {total - len(shown):,} more"
    return f"lines {', '.join(shown[:-1])} and {shown[-1]}"


def _read_process_codes(tx: Tx, rule: contract.ProcessCode, name: str, staged: _Staged,
                        warnings: list[str]) -> None:
    """Read each valid row's process as the code it names (a code's words, in any case, become the code, so an
    event typed "Prior authorisation" concerns prior_auth's charts); keep a value that names no code, with a
    warning naming the file, its lines, the column, the value and the codes expected."""
    col, kpi_col = qi(rule.column), qi(rule.kpi)
    valid = "_reason IS NULL AND _skip IS NULL"
    found = tx.fetchall(f"SELECT {kpi_col}, {col}, count(*) FROM _stage WHERE {valid} AND {col} IS NOT NULL "
                        "GROUP BY ALL ORDER BY 1 NULLS FIRST, 2")
    codes_of: dict[str | None, list[str] | None] = {}
    said: list[tuple[int, str]] = []  # (first line, warning): said in the file's order
    for kpi, value, n in found:
        if kpi not in codes_of:
            codes_of[kpi] = annotations.process_codes(tx.fetchall, kpi, registry=True)
        codes = codes_of[kpi]
        code = annotations.code_for(value, codes) if codes is not None else None
        if code == value:
            continue
        where = f"{valid} AND {kpi_col} IS NOT DISTINCT FROM ? AND {col} = ?"
        lines = [int(r[0]) for r in tx.fetchall(f"SELECT {staged.line_sql} AS _l FROM _stage s {staged.line_join} "
                                                f"WHERE {where} ORDER BY _l LIMIT {WARN_LINES}", [kpi, value])]
        at = f"{name} {_lines_words(lines, n)}, column {rule.column}"
        shown = f'"{readers.printable(value, MESSAGE_VALUE_CHARS)}"'
        if code is not None:
            tx.execute(f"UPDATE _stage SET {col} = ? WHERE {where}", [code, kpi, value])
            said.append((lines[0], f"{at}: read {shown} as the code {code} ({labels.value_word(code)})"))
        elif codes is None:
            kpi_label = catalog.get(kpi).label
            said.append((lines[0], f"{at}: found {shown}, but {kpi_label} is measured on records that have no "
                                   f"process or queue; expected it empty. The event is kept, but no chart of "
                                   f"{kpi_label} shows it"))
        else:
            listed = ", ".join(f"{c} ({labels.value_word(c)})" for c in codes[:WARN_CODES])
            listed += f" and {len(codes) - WARN_CODES} more" if len(codes) > WARN_CODES else ""
            said.append((lines[0], f"{at}: found {shown}, which is neither a process or queue code nor the words "
                                   f"of one; expected one of the codes {listed}, or their words, or empty for every "
                                   "process. The event is kept, but no chart of one process shows it"))
    warnings.extend(w for _, w in sorted(said))


def _refuse_rejects(tx: Tx, load_id: int, name: str, report: LoadReport, limit: float) -> None:
    """Refuse a file with too many rejected rows, saying why the first ones were (they are not kept: nothing of
    a refused file is)."""
    first = tx.fetchall("SELECT line, reason FROM rejects WHERE load_id = ? ORDER BY line LIMIT 3", [load_id])
    read, rejected = report.rows_read, report.rows_rejected
    report.rows_read = report.rows_loaded = report.rows_rejected = report.rows_skipped = 0  # nothing was loaded
    raise FileRefused(f"{name}: refused whole: {rejected:,} of {read:,} rows ({rejected / read:.1%}) would be "
                      f"rejected, more than --max-reject-rate {limit:.1%} allows; nothing was stored. First "
                      f"reasons: {'; '.join(f'line {line}: {reason}' for line, reason in first)}")


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
